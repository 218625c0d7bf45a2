"""GET /api/v1/lookup: what applies at a point at a moment."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer

from tests.conftest import bearer
from tests.helpers import AALBORG_MIDTBY, AMAGER_FAELLED, GOTHERSGADE


def lookup(client: TestClient, lonlat: tuple[float, float], at: str | None = None, headers: dict | None = None
           ) -> dict:
    params = {"lat": lonlat[1], "lon": lonlat[0]}
    if at:
        params["at"] = at
    response = client.get("/api/v1/lookup", params=params, headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()


def test_lookup_in_a_nightlife_zone(client: TestClient) -> None:
    body = lookup(client, GOTHERSGADE, "2026-05-02T01:30:00+02:00")
    assert body["at"] == "2026-05-02T01:30:00+02:00"
    (zone,) = body["zones"]
    assert zone["name"] == "Nattelivszone Gothersgade" and zone["kind"] == "nattelivszone"
    assert zone["valid_from"] == "2025-07-01T00:00:00+02:00" and zone["valid_to"] == "2027-07-01T00:00:00+02:00"
    assert zone["decision_ref"] == "DEMO KBH-2025-NZ-01"
    assert zone["legal_basis"].startswith("Politiloven § 6 b")
    assert zone["in_force"] is True and zone["daily_window_applies"] is True
    assert body["police_district"] == {"code": "11", "name": "Københavns Politi"}
    assert body["municipality"] == {"code": "0101", "name": "København"}
    sector = body["sector"]
    assert sector["code"].startswith("KBH-CITY") and sector["illustrative"] is True
    assert sector["station"]["name"] == "Nærpolitistation City"
    assert len(sector["officers"]) == 2 and all(o["email"].endswith("@demo.invalid") for o in sector["officers"])


def test_daily_window_by_time_of_day(client: TestClient) -> None:
    day = lookup(client, GOTHERSGADE, "2026-05-02T14:00:00+02:00")["zones"][0]
    assert day["daily_window_applies"] is False


def test_aalborg_visitation_zone_first_minute_and_after_the_end(client: TestClient) -> None:
    before = lookup(client, AALBORG_MIDTBY, "2025-09-01T15:59:59+02:00")
    assert "Visitationszone Aalborg Midtby" not in [z["name"] for z in before["zones"]]
    first = lookup(client, AALBORG_MIDTBY, "2025-09-01T16:00:00+02:00")
    zone = next(z for z in first["zones"] if z["name"] == "Visitationszone Aalborg Midtby")
    assert zone["daily_window_applies"] is None  # visitation zones have no daily window
    assert first["police_district"]["name"] == "Nordjyllands Politi"
    assert first["municipality"]["name"] == "Aalborg"
    assert first["sector"]["code"].startswith("AALBORG-")  # Din Betjent is national (illustrative sectors)
    ended = lookup(client, AALBORG_MIDTBY, "2025-09-29T16:00:00+02:00")
    assert "Visitationszone Aalborg Midtby" not in [z["name"] for z in ended["zones"]]


def test_default_is_now_and_empty_outside_zones(demo_client: TestClient) -> None:
    import datetime as dt

    body = lookup(demo_client, AMAGER_FAELLED)
    assert body["zones"] == []
    assert body["municipality"]["name"] == "København"
    answered_at = dt.datetime.fromisoformat(body["at"])
    assert abs((answered_at - dt.datetime.now(dt.UTC)).total_seconds()) < 60


def test_revoked_zone_stops_at_the_revocation(client: TestClient) -> None:
    noerrebro = (12.5440, 55.6980)
    names = lambda at: [z["name"] for z in lookup(client, noerrebro, at)["zones"]]  # noqa: E731
    assert "Visitationszone Nørrebro" in names("2025-04-20T09:59:00+02:00")
    assert "Visitationszone Nørrebro" not in names("2025-04-20T10:00:00+02:00")


@pytest.mark.slow
def test_lookup_agrees_with_shapely_on_random_points(client: TestClient, tokens: dict, conn: psycopg.Connection
                                                     ) -> None:
    """A few thousand random points in Copenhagen and Aalborg: the API's zones, sector, kommune and
    politikreds are exactly those whose geometry (read back from the database) contains the point."""
    import datetime as dt

    at = "2025-09-10T01:30:00+02:00"
    moment = dt.datetime.fromisoformat(at)
    # in force, worked out here from the stored periods rather than with the query's own predicate
    rows = conn.execute(
        """SELECT z.id, ST_AsBinary(v.geom), lower(v.valid), upper(v.valid), v.ended_at, v.state
           FROM zone_version v JOIN zone z ON z.id = v.zone_id""").fetchall()
    zones = [(zid, wkb) for zid, wkb, start, end, ended, state in rows
             if state == "published" and start <= moment < end and (ended is None or moment < ended)]
    sectors = conn.execute("SELECT code, ST_AsBinary(geom) FROM patrol_sector").fetchall()
    areas = conn.execute("SELECT area_type, code, ST_AsBinary(geom) FROM reference_area"
                         " WHERE area_type IN ('kommune', 'politikreds')").fetchall()
    zone_ids = np.array([r[0] for r in zones])
    zone_tree = shapely.STRtree(shapely.from_wkb([bytes(r[1]) for r in zones]))
    sector_codes = np.array([r[0] for r in sectors])
    sector_tree = shapely.STRtree(shapely.from_wkb([bytes(r[1]) for r in sectors]))
    area_geoms = {t: [(c, shapely.from_wkb(bytes(g))) for tt, c, g in areas if tt == t]
                  for t in ("kommune", "politikreds")}

    rng = np.random.default_rng(20251122)
    boxes = [(12.50, 55.64, 12.62, 55.72, 1800), (9.88, 57.02, 10.02, 57.07, 1200)]
    points = np.vstack([np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)])
                        for x0, y0, x1, y1, n in boxes])
    to_utm = Transformer.from_crs(4326, 25832, always_xy=True)
    xs, ys = to_utm.transform(points[:, 0], points[:, 1])
    projected = shapely.points(xs, ys)
    headers = bearer(tokens["admin"])
    hits = 0
    for (lon, lat), pt in zip(points, projected, strict=True):
        body = lookup(client, (float(lon), float(lat)), at, headers)
        expected_zones = sorted(zone_ids[zone_tree.query(pt, predicate="intersects")].tolist())
        assert sorted(z["id"] for z in body["zones"]) == expected_zones, (lon, lat)
        hits += bool(expected_zones)
        expected_sectors = set(sector_codes[sector_tree.query(pt, predicate="intersects")].tolist())
        assert (body["sector"]["code"] if body["sector"] else None) in (expected_sectors or {None})
        for kind, key in (("kommune", "municipality"), ("politikreds", "police_district")):
            expected = {c for c, g in area_geoms[kind] if g.intersects(pt)}
            got = body[key]["code"] if body[key] else None
            assert got in (expected or {None}), (lon, lat, kind)
    assert hits > 200  # the sample really exercises zones, not only empty ground


@pytest.mark.parametrize("lonlat", [(13.0, 55.6), (9.45, 54.78)])  # Malmö, Flensburg
def test_points_outside_denmark_are_refused_like_zone_boundaries(demo_client: TestClient,
                                                                 lonlat: tuple[float, float]) -> None:
    response = demo_client.get("/api/v1/lookup", params={"lat": lonlat[1], "lon": lonlat[0]})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == "urn:geoservice:problem:outside-denmark"
    assert "km from the nearest Danish police district" in problem["detail"]
    assert problem["errors"][0]["field"] == "lat,lon" and problem["errors"][0]["distance_m"] > 3000


def test_points_at_sea_within_3_km_still_answer(demo_client: TestClient) -> None:
    body = lookup(demo_client, (12.69, 55.70))  # Øresund, 2.5 km off Amager and Refshaleøen
    assert body["police_district"] is None and body["zones"] == []
