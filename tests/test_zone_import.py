"""Zone imports from files (GeoJSON, GeoPackage, zipped Shapefile, KML) through the API and the CLI, on real files
written with geopandas/pyogrio and a real PostGIS: field mapping, the CRS required, dissolve by key, dry run, all
or nothing vs skip_invalid, idempotent re-import, the publication rules, and who may import."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import psycopg
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import shape
from typer.testing import CliRunner

from tests.conftest import bearer
from tests.helpers import AMAGER_FAELLED, square

A1 = square(12.5830, 55.6570, 200)
A2 = square(12.5853, 55.6570, 200)       # overlaps A1 by about 50 m: one boundary of about 250 m x 200 m
B = square(12.6000, 55.6640, 150)
FUTURE = ("2027-03-01 16:00", "2027-03-15 16:00")
ROWS: list[dict[str, Any]] = [
    {"key": "A", "name": "Import A", "kind": "visitationszone", "valid_from": FUTURE[0], "valid_to": FUTURE[1],
     "decision_ref": "IMP-A-1", "boundary_text": "Amager Fælledvej – Njalsgade", "reason": "Konflikt",
     "geometry": A1},
    {"key": "A", "name": "Import A", "kind": "visitationszone", "valid_from": FUTURE[0], "valid_to": FUTURE[1],
     "decision_ref": "IMP-A-1", "boundary_text": "Amager Fælledvej – Njalsgade", "reason": "Konflikt",
     "geometry": A2},
    {"key": "B", "name": "Import B", "kind": "visitationszone", "valid_from": FUTURE[0], "valid_to": FUTURE[1],
     "decision_ref": "IMP-B-1", "boundary_text": "Islands Brygge", "reason": "Konflikt", "geometry": B},
]


def frame(rows: list[dict[str, Any]], crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    data = gpd.GeoDataFrame([{k: v for k, v in r.items() if k != "geometry"} for r in rows],
                            geometry=[shape(r["geometry"]) for r in rows], crs="EPSG:4326")
    return data.to_crs(crs)


def write(rows: list[dict[str, Any]], path: Path, fmt: str, *, crs: str = "EPSG:25832", prj: bool = True) -> Path:
    """The rows as a file of the format, written by pyogrio: GeoJSON and KML in EPSG:4326, GeoPackage and
    Shapefile in `crs`; a Shapefile zipped (without its .prj when prj=False)."""
    if fmt == "geojson":
        out = path / "zones.geojson"
        frame(rows).to_file(out, driver="GeoJSON", engine="pyogrio")
    elif fmt == "gpkg":
        out = path / "zones.gpkg"
        frame(rows, crs).to_file(out, driver="GPKG", engine="pyogrio", layer="zoner")
    elif fmt == "kml":
        out = path / "zones.kml"
        frame(rows).to_file(out, driver="LIBKML", engine="pyogrio")
    else:
        folder = path / "shp"
        folder.mkdir()
        frame(rows, crs).to_file(folder / "zoner.shp", driver="ESRI Shapefile", engine="pyogrio")
        out = path / "zones.zip"
        with zipfile.ZipFile(out, "w") as archive:
            for part in sorted(folder.iterdir()):
                if prj or part.suffix != ".prj":
                    archive.write(part, part.name)
    return out


def upload(client: TestClient, token: str | None, path: Path, **params: Any) -> Any:
    headers = bearer(token) if token else {}
    files = {"file": (path.name, path.read_bytes(), "application/octet-stream")}
    if "mapping" in params:
        files["mapping"] = ("mapping.yaml", params.pop("mapping").encode(), "application/yaml")
    return client.post("/api/v1/imports/zones", params=params, headers=headers, files=files)


def zones_of(conn: psycopg.Connection, source: str) -> list[tuple]:
    return conn.execute(
        "SELECT z.name, z.source_key, v.state, v.decision_ref, v.boundary_text, round(ST_Area(v.geom)), v.version_no"
        " FROM zone z JOIN zone_version v ON v.zone_id = z.id WHERE z.source_key LIKE %s ORDER BY 2, v.version_no",
        (source + ":%",)).fetchall()


def audit_rows(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT count(*) FROM audit_log").fetchone()[0]


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp", "kml"])
def test_each_format_imports_drafts_dissolved_by_key(own_client: TestClient, own_conn: psycopg.Connection,
                                                      tokens: dict, tmp_path: Path, fmt: str) -> None:
    path = write(ROWS, tmp_path, fmt)
    response = upload(own_client, tokens["admin"], path, source=f"fmt-{fmt}")
    assert response.status_code == 201, response.text
    report = response.json()
    assert report["counts"]["features_read"] == 3 and report["counts"]["created"] == 2
    by_key = {z["key"]: z for z in report["zones"]}
    assert by_key["A"]["features"] == [1, 2] and by_key["B"]["features"] == [3]
    rows = zones_of(own_conn, f"fmt-{fmt}")
    assert [(r[0], r[2], r[3], r[4]) for r in rows] == [
        ("Import A", "draft", "IMP-A-1", "Amager Fælledvej – Njalsgade"), ("Import B", "draft", "IMP-B-1",
                                                                          "Islands Brygge")]
    # A's two parts are one boundary: 2 x 200 m x 200 m less the 50 m overlap (within 1 %, rounding of the fixture)
    assert abs(rows[0][5] - 70_000) < 700 and abs(rows[1][5] - 22_500) < 250
    # every step went through the domain: the audit log has the creation, by the admin
    actions = own_conn.execute(
        "SELECT DISTINCT a.action, a.actor FROM audit_log a JOIN zone z ON z.id = a.zone_id"
        " WHERE z.source_key LIKE %s", (f"fmt-{fmt}:%",)).fetchall()
    assert actions == [("zone.create", "test-admin (admin)")]


def test_field_mapping_by_options_and_by_yaml(own_client: TestClient, own_conn: psycopg.Connection, tokens: dict,
                                              tmp_path: Path) -> None:
    danish = [{"omraade": r["name"], "id": r["key"], "fra": r["valid_from"], "til": r["valid_to"],
               "journal": r["decision_ref"], "graense": r["boundary_text"], "hjemmel_x": "Politiloven § 6",
               "geometry": r["geometry"]} for r in ROWS]
    path = write(danish, tmp_path, "gpkg")
    fields = ["name=omraade", "key=id", "valid_from=fra", "valid_to=til", "decision_ref=journal",
              "boundary_text=graense", "legal_basis=hjemmel_x"]
    by_options = upload(own_client, tokens["admin"], path, source="map-opt", field=fields,
                        set="kind=visitationszone")
    assert by_options.status_code == 201, by_options.text
    mapping = ("fields:\n" + "".join(f"  {f.split('=')[0]}: {f.split('=')[1]}\n" for f in fields)
               + "set:\n  kind: visitationszone\nsource: map-yaml\n")
    by_yaml = upload(own_client, tokens["admin"], path, mapping=mapping)
    assert by_yaml.status_code == 201, by_yaml.text
    assert by_yaml.json()["columns"]["boundary_text"] == "graense"
    strip = [r[0:1] + r[2:] for r in zones_of(own_conn, "map-opt")]
    assert strip == [r[0:1] + r[2:] for r in zones_of(own_conn, "map-yaml")] and len(strip) == 2
    legal_basis = own_conn.execute("SELECT DISTINCT v.legal_basis FROM zone z JOIN zone_version v ON"
                                   " v.zone_id = z.id WHERE z.source_key LIKE 'map-yaml:%'").fetchall()
    assert legal_basis == [("Politiloven § 6",)]
    # a mapped column that is not in the file is named, with the file's columns
    wrong = upload(own_client, tokens["admin"], path, source="map-bad", field=["name=navn"],
                   set="kind=visitationszone")
    assert wrong.status_code == 422
    error = wrong.json()["errors"][0]
    assert error["field"] == "fields.name" and "omraade" in error["reason"]
    unknown = upload(own_client, tokens["admin"], path, source="map-bad", field=["colour=omraade"])
    assert unknown.status_code == 422 and "unknown target" in unknown.text


def test_a_missing_crs_is_refused_never_guessed(own_client: TestClient, own_conn: psycopg.Connection, tokens: dict,
                                               tmp_path: Path) -> None:
    path = write(ROWS, tmp_path, "shp", prj=False)
    refused = upload(own_client, tokens["admin"], path, source="crs")
    assert refused.status_code == 422, refused.text
    error = refused.json()["errors"][0]
    assert error["field"] == "crs" and "no CRS" in error["reason"] and "EPSG:25832" in error["reason"]
    assert zones_of(own_conn, "crs") == []
    # declared, it is read in that CRS
    declared = upload(own_client, tokens["admin"], path, source="crs", crs="EPSG:25832")
    assert declared.status_code == 201 and len(zones_of(own_conn, "crs")) == 2
    # a GeoJSON in metres without a crs member (RFC 7946 makes it EPSG:4326): refused, saying why
    metres = tmp_path / "metres.geojson"
    features = frame(ROWS, "EPSG:25832").to_json(drop_id=True)
    metres.write_text(json.dumps({k: v for k, v in json.loads(features).items() if k != "crs"}))
    looks = upload(own_client, tokens["admin"], metres, source="crs-metres")
    assert looks.status_code == 422 and looks.json()["errors"][0]["field"] == "crs"
    assert "look like metres" in looks.json()["detail"]
    # the file's own CRS and a different declared one: refused, not silently reprojected twice
    gpkg = write(ROWS, tmp_path, "gpkg", crs="EPSG:25832")
    clash = upload(own_client, tokens["admin"], gpkg, source="crs-clash", crs="EPSG:25833")
    assert clash.status_code == 422 and "EPSG:25832" in clash.json()["detail"]


def test_dry_run_reports_new_changed_and_unchanged_and_writes_nothing(own_client: TestClient,
                                                                     own_conn: psycopg.Connection, tokens: dict,
                                                                     tmp_path: Path) -> None:
    path = write(ROWS, tmp_path, "geojson")
    before = audit_rows(own_conn)
    dry = upload(own_client, tokens["admin"], path, source="dry", dry_run="true")
    assert dry.status_code == 200, dry.text
    report = dry.json()
    assert report["dry_run"] and report["import_id"] is None
    assert [(z["key"], z["outcome"], z["zone_id"]) for z in report["zones"]] == [("A", "created", None),
                                                                                 ("B", "created", None)]
    assert audit_rows(own_conn) == before and zones_of(own_conn, "dry") == []
    assert own_conn.execute("SELECT count(*) FROM zone_import WHERE source = 'dry'").fetchone()[0] == 0
    assert upload(own_client, tokens["admin"], path, source="dry").status_code == 201
    # B's boundary grows (a draft: it may change); A unchanged
    grown = [dict(r) for r in ROWS]
    grown[2]["geometry"] = square(12.6000, 55.6640, 250)
    (tmp_path / "v2").mkdir()
    changed_path = write(grown, tmp_path / "v2", "geojson")
    before = audit_rows(own_conn)
    dry = upload(own_client, tokens["admin"], changed_path, source="dry", dry_run="true").json()
    outcomes = {z["key"]: z for z in dry["zones"]}
    assert outcomes["A"]["outcome"] == "unchanged" and outcomes["B"]["outcome"] == "changed"
    version = outcomes["B"]["versions"][0]
    assert version["changed"] == ["boundary"]
    assert abs(version["area_change_m2"] - (250 * 250 - 150 * 150)) < 500
    assert audit_rows(own_conn) == before
    real = upload(own_client, tokens["admin"], changed_path, source="dry")
    assert real.status_code == 201 and real.json()["counts"]["changed"] == 1
    assert abs(zones_of(own_conn, "dry")[1][5] - 62_500) < 700


def test_all_or_nothing_names_every_rejected_feature_and_skip_invalid_imports_the_rest(
        own_client: TestClient, own_conn: psycopg.Connection, tokens: dict, tmp_path: Path) -> None:
    bad = [
        {**ROWS[2], "key": "ok", "name": "Godt"},
        {**ROWS[2], "key": "kind", "name": "Forkert type", "kind": "hemmelig_zone"},
        {**ROWS[2], "key": "time", "name": "Forkert tid", "valid_from": "1. marts"},
        {**ROWS[2], "key": "malmo", "name": "Malmö", "geometry": square(13.0000, 55.6050, 300)},
        {**ROWS[2], "key": "order", "name": "Slut før start", "valid_to": "2027-02-01 16:00"},
    ]
    path = write(bad, tmp_path, "geojson")
    before = audit_rows(own_conn)
    refused = upload(own_client, tokens["admin"], path, source="aon")
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["type"].endswith("import-rejected") and problem["rejected_count"] == 4
    named = {(e["feature"], e["key"], e["field"]) for e in problem["errors"]}
    assert named == {(2, "kind", "kind"), (3, "time", "valid_from"), (4, "malmo", "geometry.coordinates"),
                     (5, "order", "valid_to")}
    reasons = {e["feature"]: e["reason"] for e in problem["errors"]}
    assert "unknown kind" in reasons[2] and "outside Denmark" in reasons[4] and "not after the start" in reasons[5]
    assert zones_of(own_conn, "aon") == [] and audit_rows(own_conn) == before
    partial = upload(own_client, tokens["admin"], path, source="aon", skip_invalid="true")
    assert partial.status_code == 201
    body = partial.json()
    assert body["counts"]["created"] == 1 and body["counts"]["features_rejected"] == 4
    assert [z[0] for z in zones_of(own_conn, "aon")] == ["Godt"]


def test_reimport_changes_nothing(own_client: TestClient, own_conn: psycopg.Connection, tokens: dict,
                                  tmp_path: Path) -> None:
    path = write(ROWS, tmp_path, "gpkg")
    assert upload(own_client, tokens["admin"], path, source="again").status_code == 201
    before, rows = audit_rows(own_conn), zones_of(own_conn, "again")
    imports = own_conn.execute("SELECT count(*) FROM zone_import").fetchone()[0]
    again = upload(own_client, tokens["admin"], path, source="again")
    assert again.status_code == 200
    counts = again.json()["counts"]
    assert (counts["unchanged"], counts["created"], counts["changed"]) == (2, 0, 0)
    assert audit_rows(own_conn) == before and zones_of(own_conn, "again") == rows
    assert own_conn.execute("SELECT count(*) FROM zone_import").fetchone()[0] == imports


def test_publish_applies_every_publication_rule(own_client: TestClient, own_conn: psycopg.Connection, tokens: dict,
                                                tmp_path: Path) -> None:
    past = [{**ROWS[2], "key": "past", "valid_from": "2026-01-05 16:00", "valid_to": "2026-01-19 16:00"},
            {**ROWS[2], "key": "nodecision", "decision_ref": None}]
    path = write(past, tmp_path, "geojson")
    refused = upload(own_client, tokens["admin"], path, source="pub", publish="true")
    assert refused.status_code == 422
    rules = {e["feature"]: e["reason"] for e in refused.json()["errors"]}
    assert "no_retroactive_effect" in rules[1] and "decision_required" in rules[2]
    recorded = upload(own_client, tokens["admin"], path, source="pub", publish="true",
                      override_reason="Afgørelse truffet på papir; registreres efterfølgende")
    assert recorded.status_code == 201, recorded.text
    overrides = {tuple(v["override"]["rules"]) for z in recorded.json()["zones"] for v in z["versions"]}
    assert overrides == {("no_retroactive_effect",), ("decision_required",)}
    report = own_client.get("/api/v1/validity/report", headers=bearer(tokens["legal"])).json()
    listed = [o for o in report["overrides"] if o["name"] == ROWS[2]["name"] and o["action"] == "zone.create"
              and o["reason"].startswith("Afgørelse truffet på papir")]
    assert len(listed) == 2  # an ordinary import's overrides are listed one by one


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("officer", 403), ("analyst", 403), ("legal", 403)])
def test_only_admins_import_zones_and_the_upload_is_not_read_first(own_client: TestClient, tokens: dict,
                                                                   tmp_path: Path, who: str | None, status: int,
                                                                   monkeypatch) -> None:
    import tempfile

    made: list[str] = []
    real = tempfile.TemporaryDirectory
    monkeypatch.setattr(tempfile, "TemporaryDirectory", lambda *a, **kw: made.append("dir") or real(*a, **kw))
    headers = {"content-type": "multipart/form-data; boundary=nope", **(bearer(tokens[who]) if who else {})}
    garbage = own_client.post("/api/v1/imports/zones", headers=headers, content=b"not multipart" * 1000)
    assert garbage.status_code == status
    path = write(ROWS, tmp_path, "geojson")
    assert upload(own_client, tokens[who] if who else None, path, source=f"role-{who}").status_code == status
    assert made == []
    assert own_client.get("/api/v1/imports/zones", headers=headers).status_code == (401 if who is None else 403
                                                                                     if who != "legal" else 200)


def test_kml_that_reaches_beyond_itself_is_refused(own_client: TestClient, tokens: dict, tmp_path: Path) -> None:
    link = tmp_path / "link.kml"
    link.write_text('<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><NetworkLink><Link>'
                    "<href>http://example.invalid/zones.kml</href></Link></NetworkLink></kml>")
    entity = tmp_path / "entity.kml"
    entity.write_text('<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                      '<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>&x;</name></Document></kml>')
    vrt = tmp_path / "vrt.kml"
    vrt.write_text('<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>/etc/passwd</SrcDataSource>'
                   "</OGRVRTLayer></OGRVRTDataSource>")
    for path, what in ((link, "NetworkLink"), (entity, "DOCTYPE"), (vrt, "not KML")):
        response = upload(own_client, tokens["admin"], path, source="kml-bad")
        assert response.status_code == 422 and what in response.text, response.text


def test_local_times_that_summer_time_makes_ambiguous(own_client: TestClient, own_conn: psycopg.Connection,
                                                      tokens: dict, tmp_path: Path) -> None:
    rows = [{**ROWS[2], "key": "dst", "valid_from": "2027-10-31 02:30", "valid_to": "2027-11-14 16:00"}]
    path = write(rows, tmp_path, "geojson")
    refused = upload(own_client, tokens["admin"], path, source="dst")
    assert refused.status_code == 422
    assert "happens twice" in refused.json()["errors"][0]["reason"]
    resolved = upload(own_client, tokens["admin"], path, source="dst", resolve_local_times="true")
    assert resolved.status_code == 201
    note = resolved.json()["notes"]["local_times"][0]
    assert note["feature"] == 1 and note["problem"] == "ambiguous"
    assert note["resolved"] == "2027-10-31T02:30:00+02:00"  # the first, summer-time occurrence
    start = own_conn.execute("SELECT lower(v.valid) FROM zone z JOIN zone_version v ON v.zone_id = z.id"
                             " WHERE z.source_key = 'dst:dst'").fetchone()[0]
    assert start.isoformat() == "2027-10-31T02:30:00+02:00"


def test_consecutive_periods_of_one_place_become_one_zone(own_client: TestClient, own_conn: psycopg.Connection,
                                                          tokens: dict, tmp_path: Path) -> None:
    """A register that lists each extension as a feature: linked by start = previous end and overlapping
    boundaries (same authority); a neighbour that only touches stays a zone of its own."""
    base = {"area": "Sted", "authority": "Københavns Politi", "extent": "Gader", "background": "Grund"}
    east = square(12.6060, 55.6640, 150)  # about 380 m east of B: the same times, but another place
    rows = [
        {**base, "start": "2027-04-01 12:00", "end": "2027-04-15 12:00", "geometry": B},
        {**base, "start": "2027-04-15 12:00", "end": "2027-04-29 12:00", "geometry": B, "extent": "Nye gader"},
        {**base, "start": "2027-04-29 12:00", "end": "2027-05-13 12:00", "geometry": square(12.6, 55.664, 180)},
        {**base, "area": "Naboen", "start": "2027-04-15 12:00", "end": "2027-04-29 12:00", "geometry": east},
    ]
    path = write(rows, tmp_path, "geojson")
    response = upload(own_client, tokens["admin"], path, source="link", link_by="authority", publish="true",
                      set="kind=visitationszone", field=["name=area", "valid_from=start", "valid_to=end",
                                                         "boundary_text=extent", "reason=background",
                                                         "authority=authority"],
                      override_reason="Ingen afgørelsesreference i kilden")
    assert response.status_code == 201, response.text
    zones = {z["name"]: z for z in response.json()["zones"]}
    assert zones["Sted"]["features"] == [1, 2, 3]
    assert [v["outcome"] for v in zones["Sted"]["versions"]] == ["created", "extension", "extension"]
    assert zones["Naboen"]["features"] == [4]
    versions = own_conn.execute(
        "SELECT v.version_no, v.change, v.boundary_text, v.decided_by, round(ST_Area(v.geom))"
        " FROM zone z JOIN zone_version v ON v.zone_id = z.id WHERE z.name = 'Sted' AND z.source_key LIKE 'link:%'"
        " ORDER BY 1").fetchall()
    assert [(v[1], v[2], v[3]) for v in versions] == [
        ("designation", "Gader", "Københavns Politi"), ("extension", "Nye gader", "Københavns Politi"),
        ("extension", "Gader", "Københavns Politi")]
    assert abs(versions[2][4] - 180 * 180) < 400  # the third period's own boundary


def test_cli_import_and_create(settings, own_db: str, own_conn: psycopg.Connection, tmp_path: Path,
                               monkeypatch) -> None:
    from geoservice.cli import app
    from geoservice.settings import get_settings

    bad = write([*ROWS, {**ROWS[2], "key": "X", "kind": "ukendt"}], tmp_path, "gpkg")
    boundary = tmp_path / "one"
    boundary.mkdir()
    one = write(ROWS[:2], boundary, "shp")
    monkeypatch.setenv("GEOSERVICE_DB_NAME", own_db)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        refused = runner.invoke(app, ["zones", "import", str(bad), "--source", "cli", "--quiet",
                                      "--rejected-report", str(tmp_path / "rejected.csv")])
        done = runner.invoke(app, ["zones", "import", str(bad), "--source", "cli", "--quiet", "--skip-invalid",
                                   "--report", str(tmp_path / "report.json")])
        created = runner.invoke(app, ["zones", "create", str(one), "--name", "Fra fil", "--kind",
                                      "visitationszone", "--from", "2027-06-01 16:00", "--to", "2027-06-15 16:00",
                                      "--decision-ref", "CLI-1", "--boundary-text", "Amager Fælledvej"])
    finally:
        get_settings.cache_clear()
    assert refused.exit_code == 2 and "nothing was imported" in refused.output
    assert "feature 4: kind: unknown kind" in refused.output
    assert (tmp_path / "rejected.csv").read_text().splitlines()[:2] == [
        "feature,key,field,reason,value",
        "4,X,kind,\"unknown kind; known kinds: " + ", ".join(sorted(_kinds())) + "\",ukendt"]
    assert done.exit_code == 0, done.output
    assert "2 created" in done.output and json.loads((tmp_path / "report.json").read_text())["counts"]["created"] == 2
    assert created.exit_code == 0, created.output
    assert "(2 features dissolved into one boundary)" in created.output
    row = own_conn.execute("SELECT round(ST_Area(v.geom)), v.boundary_text, v.state FROM zone z JOIN zone_version v"
                           " ON v.zone_id = z.id WHERE z.name = 'Fra fil'").fetchone()
    assert abs(row[0] - 70_000) < 700 and row[1:] == ("Amager Fælledvej", "draft")


def _kinds() -> list[str]:
    from geoservice.layers import get_layers

    return list(get_layers().kinds)


def test_geojson_upload_of_a_plain_point_layer_is_refused_per_feature(own_client: TestClient, tokens: dict,
                                                                      tmp_path: Path) -> None:
    path = tmp_path / "points.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "Punkt", "kind": "visitationszone",
                                           "valid_from": "2027-03-01 16:00", "valid_to": "2027-03-02 16:00"},
         "geometry": {"type": "Point", "coordinates": list(AMAGER_FAELLED)}}]}))
    response = upload(own_client, tokens["admin"], path, source="points")
    assert response.status_code == 422
    assert response.json()["errors"][0] == {"field": "geometry", "feature": 1, "key": None, "file": "points.geojson",
                                            "reason": "a zone boundary must be a Polygon or MultiPolygon, got Point"}


def test_the_upload_limit_of_imports_applies(settings, own_db: str, tokens: dict, tmp_path: Path) -> None:
    """Like the other imports, the route takes files up to the upload limit (not the JSON body limit), and a
    larger body is refused with 413 before it is read."""
    from geoservice.api.app import create_app

    small = settings.model_copy(update={"max_body_bytes": 1_000, "max_upload_bytes": 60_000})
    path = write(ROWS, tmp_path, "geojson")
    assert 1_000 < path.stat().st_size < 60_000
    padded = tmp_path / "padded.geojson"
    padded.write_text(path.read_text()[:-1] + ', "padding": "' + "x" * 70_000 + '"}')
    with TestClient(create_app(small, dbname=own_db), raise_server_exceptions=False) as client:
        fits = upload(client, tokens["admin"], path, source="limit", dry_run="true")
        assert fits.status_code == 200, fits.text
        too_big = upload(client, tokens["admin"], padded, source="limit", dry_run="true")
        assert too_big.status_code == 413 and "60,000" in too_big.json()["detail"]
