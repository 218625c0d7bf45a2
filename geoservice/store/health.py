"""What the readiness check reads from a database server."""

from __future__ import annotations

from typing import Any

import psycopg

from geoservice.db import query


async def server_state(conn: psycopg.AsyncConnection) -> dict[str, Any]:
    """`standby` (in recovery) and `applied` (migration ids) of the server the connection reaches."""
    cur = await conn.execute(query("readiness"))
    row = await cur.fetchone()
    assert row is not None
    return row
