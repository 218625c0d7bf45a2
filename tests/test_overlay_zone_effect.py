"""Which designation period the zone effect measures: unbroken runs of versions (with a running end, as an
earlier version may outlast a later one), the run in force at `at` or now, and each moment counted once where
versions overlap. Pure functions on hand-made versions, and the API on a zone with a future re-designation."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from geoservice import timeutil
from geoservice.errors import InvalidInput
from geoservice.overlays.effect import _runs, choose_run, governing_pieces
from tests.conftest import bearer
from tests.helpers import AMAGER_FAELLED, square, zone_feature

D0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def day(n: int) -> dt.datetime:
    return D0 + dt.timedelta(days=n)


def version(no: int, start: int, end: int) -> dict:
    return {"id": no, "version_no": no, "t0": day(start), "t1": day(end)}


def test_a_run_continues_while_any_earlier_version_is_still_in_force() -> None:
    # v1 runs for 100 days; v2 (an overlapping extension) ends on day 20; v3 starts on day 50, while v1 is still
    # in force: one run. Comparing with the last version's end (day 20) would split it.
    v1, v2, v3 = version(1, 0, 100), version(2, 10, 20), version(3, 50, 120)
    assert _runs([v1, v2, v3]) == [[v1, v2, v3]]
    v4 = version(4, 130, 140)
    assert _runs([v1, v2, v3, v4]) == [[v1, v2, v3], [v4]]
    # Touching ends continue the run (a designation and its extension).
    assert _runs([version(1, 0, 10), version(2, 10, 20)]) == [[version(1, 0, 10), version(2, 10, 20)]]


def test_the_default_run_is_the_one_in_force_now_not_a_future_one() -> None:
    current, future = [version(1, 0, 100)], [version(2, 200, 300)]
    runs = [current, future]
    assert choose_run(runs, None, day(50)) == current
    # Between the runs: the latest that has started.
    assert choose_run(runs, None, day(150)) == current
    assert choose_run(runs, None, day(250)) == future
    assert choose_run(runs, day(210), day(50)) == future  # `at` picks the run in force then
    with pytest.raises(InvalidInput) as refused:
        choose_run(runs, day(150), day(250))
    assert refused.value.errors[0].field == "at"
    with pytest.raises(InvalidInput) as scheduled:
        choose_run([future], None, day(50))
    assert scheduled.value.errors[0].field == "zone_id"


def test_overlapping_versions_count_each_moment_once() -> None:
    # v2 (days 10-20) overlaps v1 (0-100): the later decision governs its days, v1 the rest, no day twice.
    v1, v2 = version(1, 0, 100), version(2, 10, 20)
    pieces = governing_pieces([v1, v2], day(0), day(60))
    assert [(v["version_no"], a, b) for v, a, b in pieces] == [(1, day(0), day(10)), (2, day(10), day(20)),
                                                                (1, day(20), day(60))]
    # Consecutive versions: each its own period, cut at the end of the window.
    pieces = governing_pieces([version(1, 0, 10), version(2, 10, 30)], day(0), day(25))
    assert [(v["version_no"], a, b) for v, a, b in pieces] == [(1, day(0), day(10)), (2, day(10), day(25))]


# --- through the API -----------------------------------------------------------------------------------------------




def test_a_future_re_designation_does_not_hide_the_period_in_force(own_client: TestClient, own_conn, tokens: dict
                                                                   ) -> None:
    now = timeutil.now()
    start, end = now - dt.timedelta(days=20), now + dt.timedelta(days=40)
    created = own_client.post("/api/v1/zones", json=zone_feature(
        square(*AMAGER_FAELLED, 300), name="Nattelivszone med ny udpegning", valid_from=start.isoformat(),
        valid_to=end.isoformat(), publish=True), headers=bearer(tokens["admin"]))
    assert created.status_code == 201, created.text
    zid = created.json()["id"]
    # A new designation decided already, starting months after this one ends (a run of its own).
    own_conn.execute("""
        INSERT INTO zone_version (zone_id, version_no, change, state, geom, valid, decision_ref, published_at)
        SELECT zone_id, 2, 'designation', 'published', geom, tstzrange(%s, %s), 'TEST-002', now()
        FROM zone_version WHERE zone_id = %s AND version_no = 1""",
                     (now + dt.timedelta(days=120), now + dt.timedelta(days=200), zid))
    response = own_client.get(f"/api/v1/overlays/zone-effect/{zid}", headers=bearer(tokens["analyst"]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert timeutil.parse_instant(body["designation"]["from"], "from") == start.replace(microsecond=0)
    assert "still in force" in " ".join(body["notes"])
    assert [p["version"] for p in body["pieces"]] == [1]
    # Asking for a moment of the future run picks it, and says it has not started.
    future = own_client.get(f"/api/v1/overlays/zone-effect/{zid}", params={
        "at": (now + dt.timedelta(days=150)).isoformat()}, headers=bearer(tokens["analyst"]))
    assert future.status_code == 422 and future.json()["errors"][0]["field"] == "zone_id"
