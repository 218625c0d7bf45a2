"""The public data's change counter and its time transitions (migration 0130)."""

from __future__ import annotations

from typing import Any

import psycopg

from geoservice.db import query


async def read(conn: psycopg.AsyncConnection, with_transitions: bool) -> dict[str, Any]:
    cur = await conn.execute(query("public_change"), {"with_transitions": with_transitions})
    row = await cur.fetchone()
    if row is None:
        raise psycopg.DataError("public_change has no row: run `geoservice db migrate`")
    return row
