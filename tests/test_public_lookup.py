"""The public's lookups at the current moment come from an in-memory index of the public data
(geoservice/public_lookup.py). They must be exactly the lookup query's answers (the same zones in the same order
with the same statuses, sector, politikreds and kommune), at every moment and point, and never older than the
data: a write or a zone's start or end is seen by the next lookup."""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import orjson
import psycopg
import pytest
from fastapi.testclient import TestClient

from geoservice import sectors, timeutil
from geoservice.access import PUBLIC, zone_filter
from geoservice.errors import InvalidInput
from geoservice.public_lookup import LookupIndex, as_postgresql_writes_it, daily_window_contains
from geoservice.store import reference
from tests.conftest import bearer
from tests.helpers import GOTHERSGADE, offset, square, zone_feature

# Moments across the demo's history: nightlife zones inside and outside their daily window, the Aalborg
# visitation zones' first minute, the real Copenhagen zones of autumn 2024, and today.
MOMENTS = ["2024-10-15T23:00:00+02:00", "2025-09-01T16:00:00+02:00", "2025-09-20T01:30:00+02:00",
           "2026-05-02T14:00:00+02:00", "2026-05-02T01:30:00+02:00", None]
DENMARK_LAND = (8.1, 54.6, 12.7, 57.7)


def points_to_try(conn: psycopg.Connection, t: dt.datetime) -> list[tuple[float, float]]:
    """Inside every zone in force (restricted ones too: the public must not see them), on and next to their
    boundaries, and spread over Denmark (seeded)."""
    inside = conn.execute(
        """SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(v.geom_wgs84) AS p FROM zone_version v
           WHERE v.state = 'published' AND v.effective @> %s) s""", (t,)).fetchall()
    edges = conn.execute(
        """SELECT ST_X(d.geom), ST_Y(d.geom) FROM zone_version v, ST_DumpPoints(v.geom_wgs84) d
           WHERE v.state = 'published' AND v.effective @> %s AND d.path[3] %% 7 = 1""", (t,)).fetchall()
    rng = np.random.default_rng(11)
    x0, y0, x1, y1 = DENMARK_LAND
    spread = zip(rng.uniform(x0, x1, 150), rng.uniform(y0, y1, 150), strict=True)
    near = [(x + dx, y + dy) for x, y in edges for dx, dy in ((1e-5, 0), (-1e-5, 0), (0, 1e-5))]
    return [(float(x), float(y)) for x, y in [*inside, *edges, *near, *spread]]


@pytest.mark.parametrize("at", MOMENTS)
def test_the_index_answers_as_the_query(client: TestClient, conn: psycopg.Connection, at: str | None) -> None:
    t = timeutil.parse_instant(at, "at") if at else timeutil.now()
    db = client.app.state.db
    access = zone_filter(PUBLIC)

    async def build() -> LookupIndex:
        async with db.connection() as c:
            rows = await reference.lookup_index_rows(c, {"t": t, "visibilities": list(access.visibilities),
                                                         "restricted_kreds": access.restricted_politikreds})
        return LookupIndex.build(("test", 0, 0.0), rows)

    async def by_query(lon: float, lat: float, moment: dt.datetime) -> dict | None:
        try:
            return orjson.loads(await sectors.lookup(db, PUBLIC, lon, lat, moment))
        except InvalidInput:  # too far from any politikreds
            return None

    index = client.portal.call(build)
    answered = fell_back = with_zones = 0
    for lon, lat in points_to_try(conn, t):
        expected = client.portal.call(by_query, lon, lat, t)
        got = index.answer(lon, lat, t)
        if got is None:  # no politikreds holds the point: the query answers it (and may refuse it)
            assert expected is None or expected["police_district"] is None, (lon, lat)
            fell_back += 1
            continue
        assert orjson.loads(got) == expected, (at, lon, lat)
        answered += 1
        with_zones += bool(expected["zones"])
    assert answered > 150 and fell_back > 0, (answered, fell_back)
    if at is not None:
        assert with_zones > 5, with_zones

    # Later moments of the same time window (no transition between): the index built at t still answers as the
    # query does then; only whether a daily window applies has moved with the clock.
    transitions = conn.execute("SELECT public_transitions()").fetchone()[0]
    inside = points_to_try(conn, t)[:40]
    for hours in (5, 11, 17):
        later = t + dt.timedelta(hours=hours)
        if any(t.timestamp() < m <= later.timestamp() for m in transitions):
            continue
        for lon, lat in inside:
            got = index.answer(lon, lat, later)
            if got is not None:
                assert orjson.loads(got) == client.portal.call(by_query, lon, lat, later), (at, hours, lon, lat)


def test_the_moment_is_written_as_postgresql_writes_it(conn: psycopg.Connection) -> None:
    """`at` of an answer from the index reads exactly as the query's (trailing zeros of microseconds dropped)."""
    base = dt.datetime(2026, 3, 29, 0, 59, 59, tzinfo=dt.UTC)  # summer time begins at 01:00 UTC
    moments = [base + dt.timedelta(microseconds=us) for us in (0, 1, 10, 120, 713620, 500000, 999999)]
    moments += [base + dt.timedelta(seconds=1, microseconds=713620), dt.datetime(2025, 1, 1, tzinfo=dt.UTC)]
    expected = conn.execute("SELECT array_agg(json_build_object('at', m)->>'at' ORDER BY n) "
                            "FROM unnest(%s::timestamptz[]) WITH ORDINALITY AS u(m, n)", (moments,)).fetchone()[0]
    assert [as_postgresql_writes_it(m) for m in moments] == expected


def test_the_daily_window_rule_is_the_databases(conn: psycopg.Connection) -> None:
    windows = [(dt.time(22), dt.time(6)), (dt.time(8), dt.time(16)), (dt.time(0), dt.time(0)),
               (dt.time(23, 30), dt.time(23, 30, 0, 1)), (None, None)]
    # every 7 minutes over two days around the autumn change from summer time
    start = dt.datetime(2025, 10, 25, 12, tzinfo=dt.UTC)
    moments = [start + dt.timedelta(minutes=7 * i, seconds=i % 3) for i in range(2 * 24 * 60 // 7)]
    for window in windows:
        expected = conn.execute(
            "SELECT array_agg(daily_window_contains(%s::time, %s::time, m) ORDER BY n) "
            "FROM unnest(%s::timestamptz[]) WITH ORDINALITY AS u(m, n)", (*window, moments)).fetchone()[0]
        assert [daily_window_contains(*window, m) for m in moments] == expected, window


def test_public_lookups_come_from_the_index_and_follow_every_change(own_client: TestClient, tokens: dict) -> None:
    """A zone published now is in the next public lookup; one that ends in a few seconds is gone from the first
    lookup after its end; a token's lookup is the query's, as before."""
    public = own_client.app.state.public_lookup
    point = offset(*GOTHERSGADE, -6000, 9000)  # Brønshøj: away from the demo zones and other tests

    def zones_at_point(headers: dict | None = None) -> list[str]:
        answer = own_client.get("/api/v1/lookup", params={"lat": point[1], "lon": point[0]}, headers=headers or {})
        assert answer.status_code == 200, answer.text
        return [z["name"] for z in answer.json()["zones"]]

    deadline = time.monotonic() + 20
    while public.index is None and time.monotonic() < deadline:  # the first lookups build the index
        zones_at_point()
        time.sleep(0.05)
    assert public.index is not None
    assert zones_at_point() == []

    now = timeutil.now()
    ends = now + dt.timedelta(seconds=15)  # room for a slow rebuild on a busy machine
    created = own_client.post("/api/v1/zones", headers=bearer(tokens["admin"]), json=zone_feature(
        square(*point, 400), kind="visitationszone", name="Opslagszone Brønshøj",
        valid_from=timeutil.isoformat_local(now - dt.timedelta(hours=1)), valid_to=timeutil.isoformat_local(ends)))
    assert created.status_code == 201, created.text
    assert zones_at_point() == ["Opslagszone Brønshøj"], "the write must be seen by the next public lookup"
    built = public.index
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # and the index catches up with it (in the background)
        assert zones_at_point() == ["Opslagszone Brønshøj"]
        if public.index is not built:
            break
        time.sleep(0.05)
    assert public.index is not built and public.index.answer(*point, timeutil.now()) is not None
    assert zones_at_point(bearer(tokens["officer"])) == ["Opslagszone Brønshøj"]
    assert timeutil.now() < ends, "the machine was too slow to see the zone before its end"
    time.sleep(max(0.0, (ends - timeutil.now()).total_seconds()) + 0.1)
    assert zones_at_point() == [], "the first lookup after the end must not show the zone"
