"""SQL for the Atom feed, the legal calendar and its secret addresses."""

from __future__ import annotations

import datetime as dt
from typing import Any

from psycopg import AsyncConnection

from geoservice.access import ZoneFilter
from geoservice.db import query


async def atom_entries(
    conn: AsyncConnection, *, kinds: list[str] | None, before: tuple[dt.datetime, str] | None, limit: int
) -> list[dict[str, Any]]:
    cur = await conn.execute(query("feed_entries"), {
        "kinds": kinds,
        "before_t": before[0] if before else None,
        "before_key": before[1] if before else None,
        "limit": limit,
    })
    return await cur.fetchall()


async def calendar_versions(conn: AsyncConnection, access: ZoneFilter, since: dt.datetime) -> list[dict[str, Any]]:
    cur = await conn.execute(query("feed_calendar"), {
        "visibilities": list(access.visibilities),
        "restricted_kreds": access.restricted_politikreds,
        "since": since,
    })
    return await cur.fetchall()


# --- calendar secrets -----------------------------------------------------------------------------------------

CALENDAR_USER = """
SELECT u.id, u.username, u.role, u.politikreds_code, u.sector_code
FROM calendar_secret c JOIN app_user u ON u.id = c.user_id
WHERE c.token_hash = %s AND c.revoked_at IS NULL AND u.active
"""


async def user_for_calendar_secret(conn: AsyncConnection, token_hash: bytes) -> dict[str, Any] | None:
    cur = await conn.execute(CALENDAR_USER, (token_hash,))
    return await cur.fetchone()


async def user_by_name(conn: AsyncConnection, username: str) -> dict[str, Any] | None:
    cur = await conn.execute(
        "SELECT id, username, role, politikreds_code, sector_code, active FROM app_user WHERE username = %s",
        (username,))
    return await cur.fetchone()


async def add_calendar_secret(conn: AsyncConnection, *, user_id: int, token_hash: bytes, prefix: str,
                              label: str | None, created_by: str) -> dict[str, Any]:
    cur = await conn.execute(
        """
        INSERT INTO calendar_secret (user_id, token_hash, prefix, label, created_by)
        VALUES (%s, %s, %s, %s, %s)
        RETURNING id, prefix, label, created_at
        """,
        (user_id, token_hash, prefix, label, created_by),
    )
    row = await cur.fetchone()
    assert row is not None
    return row


async def list_calendar_secrets(conn: AsyncConnection, user_id: int | None) -> list[dict[str, Any]]:
    """The secrets of one user, or of everyone (None); never the secret itself, which is not stored."""
    cur = await conn.execute(
        """
        SELECT c.id, u.username, c.prefix, c.label, c.created_at, c.created_by, c.revoked_at
        FROM calendar_secret c JOIN app_user u ON u.id = c.user_id
        WHERE %(user_id)s::integer IS NULL OR c.user_id = %(user_id)s
        ORDER BY c.id
        """,
        {"user_id": user_id},
    )
    return await cur.fetchall()


async def calendar_secret(conn: AsyncConnection, secret_id: int) -> dict[str, Any] | None:
    cur = await conn.execute("SELECT id, user_id, revoked_at FROM calendar_secret WHERE id = %s FOR UPDATE",
                             (secret_id,))
    return await cur.fetchone()


async def revoke_calendar_secrets(conn: AsyncConnection, *, secret_id: int | None = None,
                                  user_id: int | None = None) -> int:
    """Revoke one secret, or every live secret of a user."""
    cur = await conn.execute(
        """
        UPDATE calendar_secret SET revoked_at = now()
        WHERE revoked_at IS NULL AND (id = %(secret_id)s OR user_id = %(user_id)s)
        """,
        {"secret_id": secret_id, "user_id": user_id},
    )
    return cur.rowcount
