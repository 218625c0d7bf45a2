"""SQL for idempotent write requests (Idempotency-Key): the first answer is kept and given again."""

from __future__ import annotations

import datetime as dt
from typing import Any

from psycopg import AsyncConnection

# How long a key is remembered; a repeat after that is a new request.
KEEP_FOR = dt.timedelta(hours=24)


async def lock_key(conn: AsyncConnection, actor: str, key: str) -> None:
    """Serialise requests with the same key for the rest of the transaction: a concurrent repeat waits for the
    first to commit and then finds its answer."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 9))", (f"{actor}\x1f{key}",))


async def find(conn: AsyncConnection, actor: str, key: str) -> dict[str, Any] | None:
    cur = await conn.execute(
        "SELECT fingerprint, zone_id, status, body, etag, created_at FROM idempotent_request"
        " WHERE actor = %s AND key = %s AND created_at > now() - %s",
        (actor, key, KEEP_FOR),
    )
    return await cur.fetchone()


async def remember(conn: AsyncConnection, *, actor: str, key: str, fingerprint: str, zone_id: int | None,
                   status: int, body: str, etag: str | None) -> None:
    # A key older than KEEP_FOR is forgotten here, when it is used again.
    await conn.execute(
        """
        INSERT INTO idempotent_request (actor, key, fingerprint, zone_id, status, body, etag)
        VALUES (%s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (actor, key) DO UPDATE
        SET fingerprint = EXCLUDED.fingerprint, zone_id = EXCLUDED.zone_id, status = EXCLUDED.status,
            body = EXCLUDED.body, etag = EXCLUDED.etag, created_at = now()
        """,
        (actor, key, fingerprint, zone_id, status, body, etag),
    )


async def forget_expired(conn: AsyncConnection) -> None:
    await conn.execute("DELETE FROM idempotent_request WHERE created_at < now() - %s", (KEEP_FOR,))
