"""A small bbox (a point query, a map at street zoom) is answered through a prepared statement with its generic
plan forced for that one transaction (store/zones.py `select_features`). The answer must be exactly the answer
of the planned query, and the connection must go back to the pool as it came: no open transaction, no setting
left behind for the next request's queries."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.pq import TransactionStatus

from geoservice.access import PUBLIC, Principal, Role, zone_filter
from geoservice.store import zones as zone_store

MOMENTS = ["2024-10-15T23:00:00+02:00", "2025-09-01T16:00:00+02:00", "2025-09-20T01:30:00+02:00"]


def zone_points(conn: psycopg.Connection, at: str) -> list[tuple[float, float]]:
    """A point inside every zone in force at `at` (and so a small box around it that holds the zone)."""
    rows = conn.execute(
        """SELECT ST_X(p), ST_Y(p) FROM (
               SELECT ST_PointOnSurface(v.geom_wgs84) AS p FROM zone_version v
               WHERE v.state = 'published' AND v.effective @> %s::timestamptz ORDER BY v.id) s""", (at,)).fetchall()
    return [(float(x), float(y)) for x, y in rows]


def features(client: TestClient, principal: Principal, box: tuple[float, float, float, float], at: str,
             small_boxes: bool) -> tuple[str, int, int]:
    """The OGC listing's query for the zones in `box` at `at`, through the small-box path or planned for its
    values (straight from the store: the public answer cache would otherwise give the first answer again)."""
    zq = zone_store.ZoneQuery(t=dt.datetime.fromisoformat(at), access=zone_filter(principal), in_force_only=True,
                              bbox=box, limit=100)
    assert zone_store.is_small_box_query(zq)

    async def run() -> tuple[str, int, int]:
        async with client.app.state.db.connection() as c:
            if small_boxes:
                return await zone_store.select_features(c, zq)
            saved = zone_store.SMALL_BOX
            zone_store.SMALL_BOX = {}
            try:
                return await zone_store.select_features(c, zq)
            finally:
                zone_store.SMALL_BOX = saved

    return client.portal.call(run)


@pytest.mark.parametrize("at", MOMENTS)
def test_a_small_box_answers_as_the_planned_query(client: TestClient, conn: psycopg.Connection, at: str) -> None:
    points = zone_points(conn, at)
    assert len(points) >= 2, at
    boxes = [(x - 0.002, y - 0.001, x + 0.002, y + 0.001) for x, y in points]
    boxes.append((12.2, 55.9, 12.201, 55.901))  # open country: nothing there
    for principal in (PUBLIC, Principal(role=Role.legal, username="test")):
        # more than psycopg's prepare threshold and PostgreSQL's five custom plans: the generic plan is in use
        small = [features(client, principal, box, at, small_boxes=True) for box in boxes * 2]
        assert any(matched for _, matched, _ in small)
        planned = [features(client, principal, box, at, small_boxes=False) for box in boxes * 2]
        assert small == planned


def test_the_small_box_path_is_the_one_taken(client: TestClient) -> None:
    """The shape test: small boxes in CRS84 and EPSG:25832 only, and nothing that narrows by other means."""
    from geoservice.timeutil import now

    base = zone_store.ZoneQuery(t=now(), access=zone_filter(PUBLIC), in_force_only=True,
                                bbox=(10.38, 55.39, 10.40, 55.41))
    assert zone_store.is_small_box_query(base)
    big = zone_store.ZoneQuery(**{**base.__dict__, "bbox": (9.4, 55.4, 10.6, 56.2)})
    assert not zone_store.is_small_box_query(big)
    metres = zone_store.ZoneQuery(**{**base.__dict__, "bbox": (587000, 6140000, 588500, 6141500),
                                     "bbox_srid": 25832})
    assert zone_store.is_small_box_query(metres)
    for narrowed in ({"q": "Nørrebro"}, {"offset": 10}, {"sector": "X"}, {"zone_ids": [1]},
                     {"published_as_of": now()}, {"during": (now(), None)}, {"bbox_srid": 25833}):
        assert not zone_store.is_small_box_query(zone_store.ZoneQuery(**{**base.__dict__, **narrowed})), narrowed


def test_the_connection_goes_back_clean(client: TestClient, conn: psycopg.Connection) -> None:
    """After a small-box answer the service's connection is back out of its transaction, with the planner
    setting as before (plan_cache_mode was set for that transaction only), also when the query failed; and a
    big box on the same pooled connections is planned for its values again."""
    at = MOMENTS[1]
    x, y = zone_points(conn, at)[0]
    db = client.app.state.db
    zq = zone_store.ZoneQuery(t=dt.datetime.fromisoformat(at), access=zone_filter(PUBLIC), in_force_only=True,
                              bbox=(x - 0.002, y - 0.001, x + 0.002, y + 0.001))
    assert zone_store.is_small_box_query(zq)

    async def after(query: zone_store.ZoneQuery) -> tuple[object, ...]:
        async with db.connection() as c:
            try:
                found = (await zone_store.select_features(c, query))[1]
            except psycopg.Error as exc:
                found = type(exc).__name__
            mode = await (await c.execute("SHOW plan_cache_mode")).fetchone()
            plans = await (await c.execute(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE %s",
                ("%near AS MATERIALIZED%",))).fetchall()
            assert all(p["generic_plans"] > 0 and p["custom_plans"] == 0 for p in plans), plans
            return found, c.info.transaction_status, mode["plan_cache_mode"]

    for _ in range(8):
        assert client.portal.call(after, zq) == (1, TransactionStatus.IDLE, "auto")
    # a statement PostgreSQL refuses (a negative LIMIT) in the same path: rolled back as well
    broken = zone_store.ZoneQuery(**{**zq.__dict__, "limit": -1})
    assert zone_store.is_small_box_query(broken)
    assert client.portal.call(after, broken) == ("InvalidRowCountInLimitClause", TransactionStatus.IDLE, "auto")
    # a big box right after, on the same pooled connections: planned for its values, with every zone in it
    box = (8.0, 54.5, 15.2, 57.8)
    expected = conn.execute(
        """SELECT count(DISTINCT v.zone_id) FROM zone_version v JOIN zone z ON z.id = v.zone_id
           WHERE v.state = 'published' AND v.effective @> %s::timestamptz AND z.visibility = 'public'
             AND ST_Intersects(v.geom_wgs84, ST_MakeEnvelope(%s, %s, %s, %s, 4326))""", (at, *box)).fetchone()[0]
    assert expected > 3
    answer = client.get("/ogc/collections/zones/items", params={"bbox": ",".join(map(str, box)), "datetime": at})
    assert answer.status_code == 200 and answer.json()["numberMatched"] == expected


@pytest.mark.parametrize("at", MOMENTS)
def test_a_box_inside_a_zones_bounding_box_but_off_the_zone(client: TestClient, conn: psycopg.Connection,
                                                             at: str) -> None:
    """The spatial index finds zones by bounding box; the answer holds only zones whose boundary meets the box
    (small boxes and planned ones, the OGC listing and /api/v1/zones)."""
    found = conn.execute(
        """SELECT z.id, ST_XMin(v.geom_wgs84), ST_YMin(v.geom_wgs84)
           FROM zone_version v JOIN zone z ON z.id = v.zone_id
           WHERE v.state = 'published' AND v.effective @> %s::timestamptz AND z.visibility = 'public'
             AND NOT ST_Intersects(v.geom_wgs84, ST_MakeEnvelope(ST_XMin(v.geom_wgs84), ST_YMin(v.geom_wgs84),
                                                                 ST_XMin(v.geom_wgs84) + 0.0002,
                                                                 ST_YMin(v.geom_wgs84) + 0.0001, 4326))""",
        (at,)).fetchall()
    assert found, "a zone whose bounding box has an empty corner"
    for zone_id, x0, y0 in found:
        corner = (x0, y0, x0 + 0.0002, y0 + 0.0001)  # small: the prepared path
        wide = (x0 - 0.5, y0 - 0.5, x0 + 0.0002, y0 + 0.0001)  # reaches into the corner only: planned
        for box in (corner, wide):
            bbox = ",".join(f"{c:.7f}" for c in box)
            ogc = client.get("/ogc/collections/zones/items", params={"bbox": bbox, "datetime": at, "limit": 1000})
            v1 = client.get("/api/v1/zones", params={"bbox": bbox, "at": at, "limit": 1000})
            assert ogc.status_code == 200 and v1.status_code == 200
            assert zone_id not in {f["id"] for f in ogc.json()["features"]}, (zone_id, box)
            assert zone_id not in {f["id"] for f in v1.json()["features"]}, (zone_id, box)
