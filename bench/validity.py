"""Validity report over 10,000 zones with 5 versions each, and check/track of 10,000 timed points — each over
HTTP against the same SQL sent straight from psycopg in the same run.

The data lives in its own database (`<dbname>_bench_validity`), rebuilt on each run: 10,000 zones on a grid over
Zealand, each with five consecutive designations; some chains have a gap, some versions lack a decision
reference, some carry an admin override, some zones are revoked, so every report section has work to do.
"""

from __future__ import annotations

import json
import time
import urllib.request

import numpy as np
from pyproj import Transformer

from bench.common import server
from geoservice import cluster
from geoservice.access import new_token
from geoservice.cli import migrate_and_sync
from geoservice.db import connect, query
from geoservice.demo.load import load_demo
from geoservice.settings import get_settings
from geoservice.store import users

ZONES = 10_000
VERSIONS = 5
POINTS = 10_000
AT = "2024-06-15T12:00:00+02:00"
REPEAT = 7

BUILD_ZONES = """
INSERT INTO zone (kind, name, visibility, illustrative, politikreds_code, source_key)
SELECT CASE WHEN g %% 3 = 0 THEN 'visitationszone' ELSE 'nattelivszone' END, 'Bench ' || g, 'public', true, '2',
       'bench:' || g
FROM generate_series(1, %(zones)s) g
"""

# Five consecutive 120-day designations per zone; every 50th chain has a 2-day gap before version 3, every
# 40th lacks a decision reference on version 2, every 60th carries an admin override on version 4.
BUILD_VERSIONS = """
INSERT INTO zone_version (zone_id, version_no, change, state, geom, valid, decision_ref, legal_basis,
                          published_at, published_by, override_rule, override_reason, created_by)
SELECT z.id, k, CASE WHEN k = 1 THEN 'designation' ELSE 'extension' END, 'published',
       ST_Multi(ST_MakeEnvelope(p.x, p.y, p.x + 220, p.y + 220, 25832)),
       tstzrange(p.s + CASE WHEN k >= 3 AND z.g %% 50 = 0 THEN interval '2 days' ELSE interval '0' END,
                 p.s + interval '120 days', '[)'),
       CASE WHEN z.g %% 40 = 0 AND k = 2 THEN NULL ELSE 'BENCH-' || z.g || '-' || k END,
       'Politiloven § 6', p.s - interval '1 day', 'bench',
       CASE WHEN z.g %% 60 = 0 AND k = 4 THEN 'continuity' END,
       CASE WHEN z.g %% 60 = 0 AND k = 4 THEN 'bench override' END,
       'bench'
FROM (SELECT id, substring(source_key from 7)::int AS g FROM zone WHERE source_key LIKE 'bench:%%') z
CROSS JOIN generate_series(1, %(versions)s) k
CROSS JOIN LATERAL (SELECT 650000 + (z.g %% 100) * 300 AS x, 6160000 + (z.g / 100) * 300 AS y,
                           timestamptz '2023-01-01 00:00+01' + make_interval(days => z.g %% 700)
                             + make_interval(days => (k - 1) * 120) AS s) p
"""

# Every 97th zone is revoked on 1 March 2024.
REVOKE_SOME = [
    """UPDATE zone_version v SET ended_at = greatest(lower(v.valid), timestamptz '2024-03-01 00:00+01'),
           ended_recorded_at = now(), ended_reason = 'revoked'
       FROM zone z WHERE z.id = v.zone_id AND z.source_key LIKE 'bench:%'
         AND substring(z.source_key from 7)::int % 97 = 0 AND upper(v.valid) > timestamptz '2024-03-01 00:00+01'""",
    """UPDATE zone SET revoked_at = '2024-03-01 00:00+01', revoked_recorded_at = now(), revoked_by = 'bench',
           revoke_reason = 'bench'
       WHERE source_key LIKE 'bench:%' AND substring(source_key from 7)::int % 97 = 0""",
    "ANALYZE",
]


def build_database() -> tuple[str, str]:
    settings = get_settings()
    name = f"{settings.db_name}_bench_validity"
    cluster.drop_database(settings, name)
    migrate_and_sync(settings, name)
    import asyncio

    asyncio.run(load_demo(settings, name))
    with connect(settings, name, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")  # no audit rows for 50,000 bench versions
        conn.execute(BUILD_ZONES, {"zones": ZONES})
        conn.execute(BUILD_VERSIONS, {"versions": VERSIONS})
        for statement in REVOKE_SOME:
            conn.execute(statement)
        conn.execute("SET session_replication_role = DEFAULT")
        user_id = users.add_user(conn, username="bench-legal", role="legal", full_name=None,
                                 politikreds_code=None, sector_code=None)
        token, digest, prefix = new_token()
        users.add_token(conn, user_id=user_id, token_hash=digest, prefix=prefix, label="bench")
    return name, token


def track_points(n: int) -> list[dict]:
    rng = np.random.default_rng(5)
    to_wgs = Transformer.from_crs(25832, 4326, always_xy=True)
    xs = 650000 + rng.uniform(0, 100 * 300, n)
    ys = 6160000 + rng.uniform(0, 100 * 300, n)
    lons, lats = to_wgs.transform(xs, ys)
    start = np.datetime64("2023-06-01T00:00")
    minutes = np.sort(rng.integers(0, 60 * 24 * 700, n))
    return [{"lon": float(lo), "lat": float(la), "at": str(start + np.timedelta64(int(m), "m")) + "+00:00"}
            for lo, la, m in zip(lons, lats, minutes, strict=True)]


def timed(fn, repeat: int = REPEAT) -> dict:
    fn()  # warm-up
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    samples.sort()
    return {"median_s": round(samples[len(samples) // 2], 4), "best_s": round(samples[0], 4), "runs": repeat}


def run() -> dict:
    settings = get_settings()
    name, token = build_database()
    points = track_points(POINTS)
    headers = {"Authorization": f"Bearer {token}"}
    with connect(settings, name, autocommit=True) as conn:
        vis = ["public", "internal", "restricted"]
        report_sql = timed(lambda: conn.execute(query("validity_report"), {"t": AT, "visibilities": vis}).fetchone())
        body = json.loads(conn.execute(query("validity_report"), {"t": AT, "visibilities": vis}).fetchone()[0])
        lons = [p["lon"] for p in points]
        lats = [p["lat"] for p in points]
        times = [p["at"] for p in points]
        track_sql = timed(lambda: conn.execute(query("track_check"), {
            "lons": lons, "lats": lats, "ts": times, "visibilities": vis, "restricted_kreds": None,
            "kinds": None}).fetchall())
        hits = len(conn.execute(query("track_check"), {
            "lons": lons, "lats": lats, "ts": times, "visibilities": vis, "restricted_kreds": None,
            "kinds": None}).fetchall())
        counts = conn.execute("SELECT count(*), (SELECT count(*) FROM zone_version) FROM zone").fetchone()
    payload = json.dumps({"points": points}).encode()
    with server(name) as base:
        def get_report() -> None:
            req = urllib.request.Request(f"{base}/api/v1/validity/report?at={AT.replace('+', '%2B')}",
                                         headers=headers)
            urllib.request.urlopen(req).read()

        def post_track() -> None:
            req = urllib.request.Request(f"{base}/api/v1/check/track", data=payload, method="POST",
                                         headers={**headers, "Content-Type": "application/json"})
            urllib.request.urlopen(req).read()

        report_http = timed(get_report)
        track_http = timed(post_track)
    cluster.drop_database(settings, name)
    return {
        "benchmark": "validity",
        "zones": counts[0], "versions": counts[1], "track_points": POINTS, "track_hits": hits,
        "report_findings": {k: len(body[k]) for k in ("expiring", "expired_still_published", "chain_gaps",
                                                      "missing_decision_ref", "overrides")},
        "report_sql": report_sql, "report_http": report_http,
        "report_ratio": round(report_http["median_s"] / report_sql["median_s"], 2),
        "track_sql": track_sql, "track_http": track_http,
        "track_ratio": round(track_http["median_s"] / track_sql["median_s"], 2),
        "targets": {"report_s": 1.0, "track_s": 2.0},
    }


def report(result: dict) -> str:
    r = result
    return "\n".join([
        f"validity: {r['zones']} zones, {r['versions']} versions; report findings {r['report_findings']}",
        f"  report  SQL  median {r['report_sql']['median_s']:.3f} s   HTTP median {r['report_http']['median_s']:.3f} s"
        f"   ratio {r['report_ratio']}x (target < 1 s)",
        f"  track   SQL  median {r['track_sql']['median_s']:.3f} s   HTTP median {r['track_http']['median_s']:.3f} s"
        f"   ratio {r['track_ratio']}x, {r['track_points']} points, {r['track_hits']} hits (target < 2 s)",
    ])
