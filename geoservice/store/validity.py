"""SQL for the validity report and the track (as-of) check."""

from __future__ import annotations

import datetime as dt
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import tuple_row

from geoservice.access import ZoneFilter
from geoservice.db import query


async def report(conn: AsyncConnection, t: dt.datetime, access: ZoneFilter, historical_detail: bool = False) -> str:
    # a report at a past moment uses what had been recorded by then; at now (or later), everything
    known = t if t < dt.datetime.now(dt.UTC) else "infinity"
    cur = await conn.execute(query("validity_report"), {"t": t, "known": known,
                                                        "visibilities": list(access.visibilities),
                                                        "historical_detail": historical_detail})
    row = await cur.fetchone()
    assert row is not None
    return row["body"]


async def track_hits(
    conn: AsyncConnection, lons: list[float], lats: list[float], times: list[dt.datetime], access: ZoneFilter,
    kinds: list[str] | None,
) -> list[tuple[int, int, int, bool | None]]:
    """(point index from 1, zone id, version, daily window applies) for every point inside a zone in force."""
    cur = conn.cursor(row_factory=tuple_row)
    await cur.execute(query("track_check"), {
        "lons": lons, "lats": lats, "ts": times, "visibilities": list(access.visibilities),
        "restricted_kreds": access.restricted_politikreds, "kinds": kinds,
    })
    return await cur.fetchall()


async def track_zones(conn: AsyncConnection, zone_ids: list[int]) -> str:
    cur = await conn.execute(query("track_zones"), {"ids": zone_ids})
    row = await cur.fetchone()
    return (row["body"] if row else None) or "{}"


async def verify_audit(conn: AsyncConnection) -> dict[str, Any]:
    """Walk the audit log's hash chain (migrations/0011_audit_chain.sql): ok, rows_checked, and the first
    broken row (broken_id, broken_seq, problem) or the hash of the last row (head_hash)."""
    cur = await conn.execute("SELECT * FROM audit_log_verify()")
    row = await cur.fetchone()
    assert row is not None
    return dict(row)


async def track_exit_inside_old_boundary(conn: AsyncConnection, exits: list[tuple[int, int, float, float]]
                                         ) -> list[bool]:
    """For (zone id, version the person was in, lon, lat of the exit point): still inside that version's
    boundary?"""
    cur = conn.cursor(row_factory=tuple_row)
    await cur.execute(query("track_exit"), {
        "zone_ids": [e[0] for e in exits], "versions": [e[1] for e in exits],
        "lons": [e[2] for e in exits], "lats": [e[3] for e in exits],
    })
    return [bool(inside) for _, inside in await cur.fetchall()]
