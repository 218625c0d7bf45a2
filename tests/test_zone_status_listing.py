"""The statuses a listing shows are the statuses the register's rules give: every zone Feature of a page (whose
statuses are computed from one chain end per zone, migrations/0180) against zone_status_at, version_status_at
and zone_chain_end for the same zone, at moments across the demo's history where zones are in force, expiring,
scheduled, superseded, revoked and expired."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import psycopg
import pytest
from fastapi.testclient import TestClient

from geoservice.zones import ZONE_STATUSES
from tests.conftest import bearer


def every_zone_at(client: TestClient, token: str, at: str) -> list[dict]:
    """Every zone with its status at `at` (all statuses asked for: staff see drafts, revoked and expired too)."""
    answer = client.get("/api/v1/zones", params={"at": at, "status": ",".join(ZONE_STATUSES), "limit": 1000},
                        headers=bearer(token))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["numberMatched"] == len(body["features"])
    return body["features"]

MOMENTS = ["2008-06-01T12:00:00+02:00", "2016-11-20T23:30:00+01:00", "2025-08-25T12:00:00+02:00",
           "2025-09-01T16:00:00+02:00", "2025-09-20T01:30:00+02:00", "2026-03-29T02:30:00+02:00"]


@pytest.mark.parametrize("at", MOMENTS)
def test_listed_statuses_follow_the_status_rules(client: TestClient, tokens: dict, conn: psycopg.Connection,
                                                  at: str) -> None:
    features = every_zone_at(client, tokens["admin"], at)
    assert len(features) > 150
    t = dt.datetime.fromisoformat(at)
    seen = Counter()
    for f in features:
        p = f["properties"]
        expected = conn.execute(
            """SELECT zone_status_at(z.id, %(t)s), version_status_at(v, %(t)s),
                      nullif(zone_chain_end(z.id, %(t)s), 'infinity')
               FROM zone z JOIN zone_version v ON v.zone_id = z.id
               WHERE z.id = %(id)s AND v.version_no = %(version)s""",
            {"t": t, "id": f["id"], "version": p["version"]}).fetchone()
        designation_end = dt.datetime.fromisoformat(p["designation_end"]) if p["designation_end"] else None
        assert (p["status"], p["version_status"], designation_end) == expected, (at, p["name"])
        seen[p["status"]] += 1
    assert seen["expired"] or seen["scheduled"], seen  # not only zones in force


def test_the_moments_cover_the_statuses(client: TestClient, tokens: dict) -> None:
    """The comparison above means something only if the moments reach the statuses a listing can show."""
    seen = set()
    for at in MOMENTS:
        for f in every_zone_at(client, tokens["admin"], at):
            seen.add(f["properties"]["status"])
            seen.add("version:" + f["properties"]["version_status"])
    assert {"in_force", "expiring", "expired", "scheduled", "revoked", "draft", "version:expired"} <= seen, seen
