"""Bad input gets a clear problem naming what is wrong and where, and the database stays exactly as it was."""

from __future__ import annotations

import json
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.rows import dict_row

from geoservice.db import query
from tests.conftest import bearer
from tests.helpers import AMAGER_FAELLED, GOTHERSGADE, bowtie, offset, square, square_utm, zone_feature

PROBLEM = "application/problem+json"


def snapshot(conn: psycopg.Connection) -> tuple:
    return conn.execute(
        "SELECT (SELECT count(*) FROM zone), (SELECT count(*) FROM zone_version), (SELECT count(*) FROM audit_log),"
        " (SELECT max(id) FROM audit_log)"
    ).fetchone()


@pytest.fixture
def unchanged(conn: psycopg.Connection) -> Iterator[None]:
    before = snapshot(conn)
    yield
    assert snapshot(conn) == before, "a refused request changed the database"


def post(client: TestClient, tokens: dict, body: object, **kw) -> dict:
    headers = {**bearer(tokens["admin"]), **kw.pop("headers", {})}
    response = client.post("/api/v1/zones", json=body, headers=headers, **kw)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == response.status_code and problem["title"] and problem["detail"]
    problem["_status"] = response.status_code
    return problem


def fields(problem: dict) -> list[str]:
    return [e["field"] for e in problem.get("errors", [])]


def test_self_intersection_is_named_with_its_location(client, tokens, unchanged) -> None:
    centre = offset(*AMAGER_FAELLED, 300, 300)
    problem = post(client, tokens, zone_feature(bowtie(*centre)))
    assert problem["_status"] == 422
    assert problem["type"] == "urn:geoservice:problem:invalid-geometry"
    assert "self-intersection" in problem["detail"] and "repair=true" in problem["detail"]
    error = problem["errors"][0]
    assert error["field"] == "geometry"
    lon, lat = error["location"]
    assert abs(lon - centre[0]) < 1e-4 and abs(lat - centre[1]) < 1e-4


def test_repair_true_fixes_and_reports_the_area_change(client: TestClient, tokens: dict) -> None:
    body = zone_feature(bowtie(*offset(*AMAGER_FAELLED, -700, 500)), name="Repareret")
    response = client.post("/api/v1/zones", json=body, params={"repair": "true"}, headers=bearer(tokens["admin"]))
    assert response.status_code == 201, response.text
    repair = response.json()["repair"]
    assert "self-intersection" in repair["reason"]
    assert repair["area_after_m2"] == pytest.approx(20_000, rel=0.02)  # two triangles of a 200 m square
    # what the crossing outline encloses as drawn (even-odd), not its signed area, which cancels out to 0
    assert repair["area_before_rule"] == "even-odd"
    assert repair["area_before_m2"] == pytest.approx(20_000, rel=0.02)
    assert repair["area_change_percent"] == pytest.approx(0, abs=0.5)
    assert response.json()["geometry"]["type"] == "MultiPolygon"


@pytest.mark.parametrize(
    "geometry",
    [
        {"type": "Point", "coordinates": [12.58, 55.66]},
        {"type": "LineString", "coordinates": [[12.58, 55.66], [12.59, 55.67]]},
        {"type": "GeometryCollection", "geometries": [square(*AMAGER_FAELLED)]},
    ],
)
def test_geometry_must_be_a_polygon(client, tokens, unchanged, geometry: dict) -> None:
    problem = post(client, tokens, zone_feature(geometry))
    assert problem["_status"] == 422 and "Polygon or MultiPolygon" in problem["detail"]
    assert fields(problem) == ["geometry.type"]


@pytest.mark.parametrize(
    "geometry",
    [
        {"type": "Polygon", "coordinates": [[[12.58, 55.66], [12.59]]]},
        {"type": "Polygon", "coordinates": "nope"},
        {"type": "Polygon"},
        {"type": "Polygon", "coordinates": []},
    ],
)
def test_malformed_coordinates(client, tokens, unchanged, geometry: dict) -> None:
    problem = post(client, tokens, zone_feature(geometry))
    assert problem["_status"] == 422
    assert fields(problem)[0].startswith("geometry")


def test_a_nan_coordinate_is_named_as_such(client, tokens, unchanged) -> None:
    body = zone_feature()
    body["geometry"]["coordinates"][0][2][1] = float("nan")
    response = client.post("/api/v1/zones", content=json.dumps(body),  # Python's JSON writes and reads NaN
                           headers={**bearer(tokens["admin"]), "Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [{"field": "geometry.coordinates[0][2][1]",
                                          "reason": "not a finite number (nan)"}]


def test_booleans_are_strict(client, tokens, unchanged) -> None:
    for value in ("yes", "true", 1):
        problem = post(client, tokens, zone_feature(publish=value))
        assert problem["_status"] == 422 and fields(problem) == ["properties.publish"]
        assert "boolean" in problem["errors"][0]["reason"]


def test_swapped_lat_lon_is_recognised(client, tokens, unchanged) -> None:
    poly = square(*AMAGER_FAELLED)
    poly["coordinates"] = [[[lat, lon] for lon, lat in poly["coordinates"][0]]]
    problem = post(client, tokens, zone_feature(poly))
    assert problem["type"] == "urn:geoservice:problem:outside-denmark"
    assert "swapped" in problem["detail"]
    assert fields(problem) == ["geometry.coordinates"]


def test_outside_denmark(client, tokens, unchanged) -> None:
    berlin = post(client, tokens, zone_feature(square(13.40, 52.52)))
    assert berlin["_status"] == 422 and "outside Denmark" in berlin["detail"]
    # Malmö lies inside Denmark's bounding box; the distance to the police districts catches it
    malmo = post(client, tokens, zone_feature(square(13.00, 55.60)))
    assert malmo["type"] == "urn:geoservice:problem:outside-denmark"
    assert "km from the nearest Danish police district" in malmo["detail"]


def ring(*corners: tuple[float, float]) -> dict:
    return {"type": "Polygon", "coordinates": [[*map(list, corners), list(corners[0])]]}


@pytest.mark.parametrize(
    ("geometry", "far_corner"),
    [
        # Dragør to Malmö: 4 % inside the police districts, touching Amager
        (ring((12.66, 55.55), (13.05, 55.55), (13.05, 55.62), (12.66, 55.62)), (13.05, 55.55)),
        # Flensburg: 2 % inside, touching Sønderjylland
        (ring((9.3, 54.6), (9.6, 54.6), (9.6, 54.83), (9.3, 54.83)), (9.6, 54.6)),
    ],
)
def test_zone_mostly_outside_denmark_is_refused(client, tokens, unchanged, geometry: dict,
                                                far_corner: tuple[float, float]) -> None:
    problem = post(client, tokens, zone_feature(geometry))
    assert problem["_status"] == 422 and problem["type"] == "urn:geoservice:problem:outside-denmark"
    assert "km from the nearest Danish police district" in problem["detail"]
    error = problem["errors"][0]
    assert error["field"] == "geometry.coordinates" and error["distance_m"] > 3000
    lon, lat = error["location"]
    assert abs(lon - far_corner[0]) < 0.05 and abs(lat - far_corner[1]) < 0.05  # the farthest part is named
    assert f"lon {lon:.6f}, lat {lat:.6f}" in error["reason"]


def test_harbour_side_zone_is_accepted(client, tokens) -> None:
    """Harbours and coastal water lie outside the 1:500,000 district outlines; within 3 km they are Denmark."""
    response = client.post("/api/v1/zones", json=zone_feature(square(12.66, 55.655, 1200), name="Strandparken"),
                           headers=bearer(tokens["admin"]))
    assert response.status_code == 201, response.text
    assert response.json()["properties"]["politikreds"] == "11"


def test_every_demo_zone_lies_within_denmark(conn: psycopg.Connection) -> None:
    # the illustrative zones, and the real visitation-zone history loaded with them (placed all at once)
    rows = conn.execute("SELECT v.id, ST_AsBinary(v.geom) FROM zone_version v WHERE v.zone_id IN "
                        "(SELECT id FROM zone WHERE illustrative OR source_key LIKE 'visitationszone.dk:%')"
                        " ORDER BY v.id").fetchall()
    assert len(rows) > 20 + 247
    cur = conn.cursor(row_factory=dict_row)
    places = cur.execute(query("geometry_placement"), {"wkbs": [wkb for _, wkb in rows]}).fetchall()
    assert [p["n"] for p in places] == list(range(1, len(rows) + 1))
    for (version_id, _), place in zip(rows, places, strict=True):
        assert place["code"] is not None and place["distance_m"] < 3000, (version_id, place)


def test_unknown_crs(client, tokens, unchanged) -> None:
    body = zone_feature(square_utm(*AMAGER_FAELLED))
    body["crs"] = {"type": "name", "properties": {"name": "EPSG:99999"}}
    problem = post(client, tokens, body)
    assert problem["_status"] == 400 and problem["type"] == "urn:geoservice:problem:unsupported-crs"
    header = post(client, tokens, zone_feature(square_utm(*AMAGER_FAELLED)), headers={"Content-Crs": "banana"})
    assert header["_status"] == 400 and fields(header) == ["Content-Crs"]


def test_missing_crs_for_projected_coordinates(client, tokens, unchanged) -> None:
    problem = post(client, tokens, zone_feature(square_utm(*AMAGER_FAELLED)))
    assert problem["_status"] == 400 and "no CRS was declared" in problem["detail"]
    assert fields(problem) == ["crs"]


def test_wrong_crs_declared(client, tokens, unchanged) -> None:
    body = zone_feature(square(*AMAGER_FAELLED))  # degrees, but declared as metres
    problem = post(client, tokens, body, headers={"Content-Crs": "EPSG:25832"})
    assert problem["type"] == "urn:geoservice:problem:outside-denmark"
    assert "EPSG:25832" in problem["detail"]


def test_end_before_start(client, tokens, unchanged) -> None:
    problem = post(client, tokens, zone_feature(valid_from="2026-05-01T00:00", valid_to="2026-04-01T00:00"))
    assert problem["_status"] == 422 and fields(problem) == ["properties.valid_to"]
    assert "not after the start" in problem["detail"]


def test_period_longer_than_the_kind_allows_quotes_the_rule(client, tokens, unchanged) -> None:
    problem = post(client, tokens, zone_feature(valid_from="2026-01-01T00:00", valid_to="2028-01-01T00:01",
                                                override_reason=None))
    assert problem["type"] == "urn:geoservice:problem:rule-violation"
    assert "højst vare 2 år" in problem["detail"] and "nattelivszone: max_period" in problem["detail"]
    assert problem["rules"][0]["latest_allowed_end"] == "2028-01-01T00:00:00+01:00"


def test_visitation_zone_needs_an_end(client, tokens, unchanged) -> None:
    problem = post(client, tokens, zone_feature(kind="visitationszone", valid_to=None, override_reason=None))
    assert problem["type"] == "urn:geoservice:problem:rule-violation"
    assert problem["rules"][0]["rule"] == "end_required"


def test_exclusion_zone_can_never_be_public(client, tokens, unchanged) -> None:
    problem = post(client, tokens, zone_feature(kind="opholdsforbud", valid_from="2026-01-01T00:00",
                                                valid_to="2026-01-20T00:00", visibility="public"))
    assert problem["rules"][0]["rule"] == "never_public"


def test_unknown_kind(client, tokens, unchanged) -> None:
    problem = post(client, tokens, zone_feature(kind="partyzone"))
    assert fields(problem) == ["properties.kind"] and "known kinds" in problem["errors"][0]["reason"]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b["properties"].update(colour="red"), "properties.colour"),
        (lambda b: b.update(bbox="1,2,3,4"), "bbox"),  # RFC 7946 bbox is accepted, but as an array
        (lambda b: b["properties"].pop("name"), "properties.name"),
        (lambda b: b["properties"].update(publish="sometimes"), "properties.publish"),
        (lambda b: b.update(type="FeatureCollection"), "type"),
    ],
)
def test_unknown_missing_or_wrong_fields(client, tokens, unchanged, mutate, field: str) -> None:
    body = zone_feature()
    mutate(body)
    problem = post(client, tokens, body)
    assert problem["_status"] == 422 and field in fields(problem)


def test_unknown_field_in_patch(client, tokens, conn, unchanged) -> None:
    zone_id = conn.execute("SELECT id FROM zone WHERE name = 'Nattelivszone Kødbyen'").fetchone()[0]
    response = client.patch(f"/api/v1/zones/{zone_id}", json={"nmae": "x"}, headers=bearer(tokens["admin"]))
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "nmae"
    assert response.json()["errors"][0]["reason"] == "unknown field"


def test_malformed_json(client, tokens, unchanged) -> None:
    response = client.post("/api/v1/zones", content=b'{"type": "Feature", "geometry": ',
                           headers={**bearer(tokens["admin"]), "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["type"] == "urn:geoservice:problem:malformed-json"


def test_oversized_body(client, tokens, settings, unchanged) -> None:
    body = zone_feature(square(*GOTHERSGADE))
    body["properties"]["description"] = "x" * (settings.max_body_bytes + 10)
    response = client.post("/api/v1/zones", json=body, headers=bearer(tokens["admin"]))
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert f"{settings.max_body_bytes:,}" in response.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while reading
        data = json.dumps(body).encode()
        for i in range(0, len(data), 65536):
            yield data[i:i + 65536]

    streamed = client.post("/api/v1/zones", content=chunks(),
                           headers={**bearer(tokens["admin"]), "Content-Type": "application/json"})
    assert streamed.status_code == 413


@pytest.mark.parametrize(
    ("params", "status", "needle"),
    [
        ({"lat": 12.5795, "lon": 55.6815}, 422, "swapped"),
        ({"lat": 52.52, "lon": 13.40}, 422, "outside Denmark"),
        ({"lat": 95, "lon": 12.5}, 422, "lat"),
        ({"lon": 12.5}, 422, "lat"),
        ({"lat": "55,68", "lon": 12.58}, 422, "valid number"),
        ({"lat": 55.68, "lon": 12.58, "at": "tomorrow"}, 422, "at"),
        ({"lat": 55.68, "lon": 12.58, "at": "2025-03-30T02:30"}, 422, "does not exist"),
    ],
)
def test_lookup_bad_input(client: TestClient, params: dict, status: int, needle: str) -> None:
    response = client.get("/api/v1/lookup", params=params)
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    assert needle in json.dumps(response.json())


@pytest.mark.parametrize(
    ("params", "field"),
    [({"bbox": "1,2,3"}, "bbox"), ({"bbox": "12.6,55.7,12.5,55.6"}, "bbox"),
     ({"kind": "nattelivszone,bogus"}, "kind"), ({"status": "sleeping"}, "status"), ({"limit": 0}, "limit"),
     ({"published_as_of": "2025-02-30"}, "published_as_of")],
)
def test_list_bad_parameters(client: TestClient, tokens: dict, params: dict, field: str) -> None:
    response = client.get("/api/v1/zones", params=params, headers=bearer(tokens["analyst"]))
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/zones", {"at": "0001-01-01"}),
        ("/api/v1/zones", {"published_as_of": "0001-01-01"}),
        ("/api/v1/zones/1", {"at": "9999-12-31"}),
        ("/api/v1/lookup", {"lat": 55.6815, "lon": 12.5795, "at": "0001-01-01"}),
        ("/api/v1/maps/export.html", {"at": "9999-12-31T23:59:59+00:00"}),
        ("/api/v1/sectors/KBH-CITY-01", {"at": "0001-01-01"}),
    ],
)
def test_times_out_of_range_are_a_422_naming_the_parameter(client, tokens, path: str, params: dict) -> None:
    response = client.get(path, params=params, headers=bearer(tokens["admin"]))
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == "urn:geoservice:problem:invalid-time"
    name = "published_as_of" if "published_as_of" in params else "at"
    assert problem["errors"][0]["field"] == name and "out of range" in problem["errors"][0]["reason"]


@pytest.mark.parametrize(
    ("props", "field"),
    [({"valid_to": "9999-12-31"}, "properties.valid_to"), ({"valid_from": "0001-01-01"}, "properties.valid_from")],
)
def test_zone_periods_out_of_range_are_refused(client, tokens, unchanged, props: dict, field: str) -> None:
    problem = post(client, tokens, zone_feature(**props))
    assert problem["_status"] == 422 and fields(problem) == [field]
    if field.endswith("valid_to"):
        assert "use no valid_to for an open end" in problem["errors"][0]["reason"]


def test_revocation_time_out_of_range_is_refused(client, tokens, unchanged) -> None:
    zone_id = client.get("/api/v1/zones", params={"q": "Gothersgade"}).json()["features"][0]["id"]
    response = client.post(f"/api/v1/zones/{zone_id}/revoke", json={"reason": "test", "at": "0001-01-01"},
                           headers=bearer(tokens["admin"]))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "at"
