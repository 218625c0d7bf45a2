"""An uploaded file never makes the service open a network connection or another file: each trick is uploaded
while a planted listener on 127.0.0.1 records every connection, and it must record none."""

from __future__ import annotations

import io
import json
import socket
import sqlite3
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import psycopg
import pytest
import shapely
from fastapi.testclient import TestClient

from geoservice import safe_files
from tests.conftest import bearer
from tests.helpers import GOTHERSGADE, square, zone_feature

T1 = "2025-09-01T23:40:00+02:00"


class Listener:
    """A socket on 127.0.0.1 that records every connection made to it (and answers like a WKT server)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    self.connections.append(conn.recv(4096))
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nEPSG:3857")
                except OSError:
                    self.connections.append(b"")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    planted = Listener()
    yield planted
    planted.close()


def feature_collection(crs: object = None, geometry_crs: object = None, key: str = "crs") -> dict:
    geometry: dict = {"type": "Point", "coordinates": list(GOTHERSGADE)}
    if geometry_crs is not None:
        geometry["crs"] = geometry_crs
    collection: dict = {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": geometry,
                                                                  "properties": {"id": "S-1", "category": "vold",
                                                                                 "occurred_at": T1}}]}
    if crs is not None:
        collection[key] = crs
    return collection


def link(href: str) -> dict:
    return {"type": "link", "properties": {"href": href, "type": "ogcwkt"}}


def upload(client: TestClient, tokens: dict, name: str, data: bytes, source: str):
    return client.post("/api/v1/imports/incidents", params={"source": source}, headers=bearer(tokens["analyst"]),
                       files={"file": (name, data, "application/octet-stream")})


def count(conn: psycopg.Connection, source: str) -> int:
    return conn.execute("SELECT count(*) FROM incident WHERE source = %s", (source,)).fetchone()[0]


def geojson_tricks(url: str) -> list[tuple[str, bytes]]:
    def as_bytes(value: dict) -> bytes:
        return json.dumps(value).encode()

    escaped = json.dumps(feature_collection(link(url + "/escaped.wkt"))).replace('"crs"', '"\\u0063rs"')
    return [
        ("crs-link-http", as_bytes(feature_collection(link(url + "/x.wkt")))),
        ("crs-link-upper-case-key", as_bytes(feature_collection(link(url + "/upper.wkt"), key="CRS"))),
        ("crs-link-escaped-key", escaped.encode()),
        ("crs-link-in-a-geometry", as_bytes(feature_collection(geometry_crs=link(url + "/geometry.wkt")))),
        ("crs-link-local-file", as_bytes(feature_collection(link("/etc/passwd")))),
        ("crs-name-url", as_bytes(feature_collection({"type": "name", "properties": {"name": url + "/name"}}))),
        ("crs-name-vsicurl", as_bytes(feature_collection({"type": "name",
                                                          "properties": {"name": f"/vsicurl/{url}/v"}}))),
        ("crs-name-file", as_bytes(feature_collection({"type": "name", "properties": {"name": "/etc/passwd"}}))),
        ("crs-link-single-quotes", as_bytes(feature_collection(link(url + "/q.wkt"))).replace(b'"crs"', b"'crs'")),
    ]


@pytest.mark.parametrize("trick", range(9))
def test_a_geojson_naming_a_crs_elsewhere_is_refused_without_a_connection(own_client: TestClient, tokens: dict,
                                                                         own_conn: psycopg.Connection,
                                                                         listener: Listener, trick: int) -> None:
    name, data = geojson_tricks(listener.url)[trick]
    before = len(listener.connections)
    response = upload(own_client, tokens, f"{name}.geojson", data, f"trick-{name}")
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"][0]["field"] == "crs", problem
    if "link" in name:
        assert "link is not accepted" in problem["detail"] and "EPSG" in problem["detail"]
    assert "root:" not in response.text
    assert listener.connections[before:] == [], f"{name} made the service connect"
    assert count(own_conn, f"trick-{name}") == 0


def test_an_epsg_crs_is_still_accepted(own_client: TestClient, tokens: dict, own_conn: psycopg.Connection) -> None:
    epsg = feature_collection({"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}})
    epsg["features"][0]["properties"]["crs"] = "a property called crs is data"
    response = upload(own_client, tokens, "fine.geojson", json.dumps(epsg).encode(), "trick-epsg")
    assert response.status_code == 201, response.text
    assert count(own_conn, "trick-epsg") == 1


def test_geo_files_whose_crs_names_a_url_make_no_connection(own_client: TestClient, tokens: dict, tmp_path: Path,
                                                          listener: Listener) -> None:
    frame = gpd.GeoDataFrame({"id": ["U-1"], "category": ["vold"], "time": [T1]},
                             geometry=[shapely.Point(*GOTHERSGADE)], crs=4326)
    # a Shapefile whose .prj is a URL
    frame.to_file(tmp_path / "p.shp")
    (tmp_path / "p.prj").write_text(listener.url + "/prj.wkt")
    shp = io.BytesIO()
    with zipfile.ZipFile(shp, "w") as archive:
        for part in tmp_path.glob("p.*"):
            archive.write(part, part.name)
    # a GeoPackage whose spatial reference definition is a URL
    gpkg = tmp_path / "g.gpkg"
    frame.to_file(gpkg, driver="GPKG")
    with sqlite3.connect(gpkg) as db:
        db.execute("UPDATE gpkg_spatial_ref_sys SET definition = ?, organization = 'x' WHERE srs_id = 4326",
                   (listener.url + "/gpkg.wkt",))
    before = len(listener.connections)
    for name, data in (("url-prj.zip", shp.getvalue()), ("url-srs.gpkg", gpkg.read_bytes())):
        response = upload(own_client, tokens, name, data, f"trick-{name}")
        assert response.status_code == 422, response.text
    assert listener.connections[before:] == []


def test_a_vrt_pointing_at_a_url_is_refused_without_a_connection(own_client: TestClient, tokens: dict,
                                                                listener: Listener) -> None:
    vrt = (f'<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>/vsicurl/{listener.url}/data.csv'
           "</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>").encode()
    before = len(listener.connections)
    for name in ("remote.geojson", "remote.gpkg", "remote.vrt"):
        assert upload(own_client, tokens, name, vrt, "trick-vrt").status_code == 422
    assert listener.connections[before:] == []


def test_gdal_and_proj_have_no_network_even_when_asked_directly(listener: Listener, tmp_path: Path) -> None:
    """The process-wide switches: were a reference ever to reach GDAL, it could not connect."""
    import pyogrio
    import pyproj

    assert not pyproj.network.is_network_enabled()
    before = len(listener.connections)
    for target in (f"/vsicurl/{listener.url}/x.geojson", f"{listener.url}/x.geojson"):
        with pytest.raises(Exception):  # noqa: B017 (any GDAL error will do: it must not read)
            pyogrio.read_dataframe(target)
    # GDAL's own CRS reader, behind safe_files' check, follows a crs link: it cannot connect either
    path = tmp_path / "direct.geojson"
    path.write_text(json.dumps(feature_collection(link(listener.url + "/direct.wkt"))))
    frame = pyogrio.read_dataframe(f"GeoJSON:{path}")
    assert frame.crs is None or frame.crs.to_epsg() != 3857  # the listener's answer was never applied
    assert listener.connections[before:] == []


def zipped(members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(("name", "members", "reason"), [
    ("traversal", {"../../etc/evil.shp": safe_files.SHP_MAGIC}, "'..'"),
    ("absolute", {"/tmp/evil.shp": safe_files.SHP_MAGIC}, "absolute path"),
    ("backslash", {"..\\..\\evil.shp": safe_files.SHP_MAGIC}, "absolute path"),
    ("many", {f"f{i}.txt": b"x" for i in range(safe_files.MAX_ZIP_MEMBERS + 1)}, "entries"),
])
def test_zip_members_with_paths_or_too_many_are_refused(own_client: TestClient, tokens: dict, name: str,
                                                        members: dict[str, bytes], reason: str) -> None:
    response = upload(own_client, tokens, f"{name}.zip", zipped(members), f"zip-{name}")
    assert response.status_code == 422 and reason in response.json()["errors"][0]["reason"], response.text


def test_a_zip_bomb_is_refused_before_it_is_inflated(own_client: TestClient, tokens: dict) -> None:
    bomb = zipped({"points.shp": safe_files.SHP_MAGIC + b"\0" * 30_000_000, "points.dbf": b"\0" * 10},
                  zipfile.ZIP_DEFLATED)
    assert len(bomb) < 100_000
    response = upload(own_client, tokens, "bomb.zip", bomb, "zip-bomb")
    assert response.status_code == 422
    assert "more than 200 times" in response.json()["errors"][0]["reason"]


def test_extraction_counts_what_it_writes_whatever_the_header_says(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    archive.write_bytes(zipped({"a.shp": safe_files.SHP_MAGIC + b"x" * 5_000}))
    with zipfile.ZipFile(archive) as z:
        with pytest.raises(Exception, match="inflates to more than"):
            safe_files._extract(z, z.infolist()[0], tmp_path / "out.shp", 1_000, "a.zip")  # the budget left
        z.infolist()[0].file_size = 10  # a header that understates the size: refused, not believed
        with pytest.raises(Exception, match="cannot be extracted"):
            safe_files._extract(z, z.infolist()[0], tmp_path / "out.shp", 1_000_000, "a.zip")


def test_a_zone_with_a_crs_link_is_refused_with_the_reason(own_client: TestClient, tokens: dict,
                                                           listener: Listener) -> None:
    body = zone_feature(square(*GOTHERSGADE))
    body["crs"] = link(listener.url + "/zone.wkt")
    before = len(listener.connections)
    response = own_client.post("/api/v1/zones", json=body, headers=bearer(tokens["admin"]))
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == "crs" and "link" in response.json()["errors"][0]["reason"]
    assert listener.connections[before:] == []
