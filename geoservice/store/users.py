"""SQL for users and API tokens."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import AsyncConnection

from geoservice.errors import FieldError, InvalidInput

AUTHENTICATE = """
SELECT u.id, u.username, u.role, u.politikreds_code, u.sector_code
FROM api_token t JOIN app_user u ON u.id = t.user_id
WHERE t.token_hash = %s AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())
  AND u.active
"""


async def user_for_token(conn: AsyncConnection, token_hash: bytes) -> dict[str, Any] | None:
    cur = await conn.execute(AUTHENTICATE, (token_hash,))
    return await cur.fetchone()


def check_username(username: str) -> None:
    """A user is named in the audit log by this name: it must say who it is."""
    if not username or not username.strip():
        raise InvalidInput("a user needs a name", errors=[FieldError("username", "empty or only whitespace")])
    if username != username.strip() or not username.isprintable():
        raise InvalidInput(f"user name {username!r} has surrounding whitespace or control characters",
                           errors=[FieldError("username", "no leading or trailing whitespace or control characters")])


def add_user(
    conn: psycopg.Connection,
    *,
    username: str,
    role: str,
    full_name: str | None,
    politikreds_code: str | None,
    sector_code: str | None,
) -> int:
    check_username(username)
    row = conn.execute(
        """
        INSERT INTO app_user (username, role, full_name, politikreds_code, sector_code)
        VALUES (%s, %s, %s, %s, %s) RETURNING id
        """,
        (username, role, full_name, politikreds_code, sector_code),
    ).fetchone()
    assert row is not None
    return int(row[0])


def add_token(conn: psycopg.Connection, *, user_id: int, token_hash: bytes, prefix: str, label: str | None,
              expires_at: Any = None) -> int:
    row = conn.execute(
        "INSERT INTO api_token (user_id, token_hash, prefix, label, expires_at) VALUES (%s, %s, %s, %s, %s)"
        " RETURNING id",
        (user_id, token_hash, prefix, label, expires_at),
    ).fetchone()
    assert row is not None
    return int(row[0])


def find_user(conn: psycopg.Connection, username: str) -> tuple | None:
    return conn.execute(
        "SELECT id, username, role, politikreds_code, sector_code, active FROM app_user WHERE username = %s",
        (username,),
    ).fetchone()


def list_users(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(
        """
        SELECT u.username, u.role, u.politikreds_code, u.sector_code, u.active,
               count(t.id) FILTER (WHERE t.revoked_at IS NULL) AS active_tokens
        FROM app_user u LEFT JOIN api_token t ON t.user_id = u.id
        GROUP BY u.id ORDER BY u.username
        """
    ).fetchall()


def revoke_tokens(conn: psycopg.Connection, user_id: int) -> int:
    cur = conn.execute("UPDATE api_token SET revoked_at = now() WHERE user_id = %s AND revoked_at IS NULL",
                       (user_id,))
    return cur.rowcount


def politikreds_exists(conn: psycopg.Connection, code: str) -> bool:
    return conn.execute(
        "SELECT 1 FROM reference_area WHERE area_type = 'politikreds' AND code = %s", (code,)
    ).fetchone() is not None


def sector_exists(conn: psycopg.Connection, code: str) -> tuple | None:
    return conn.execute(
        "SELECT code, politikreds_code FROM patrol_sector WHERE code = %s ORDER BY upper(valid) DESC LIMIT 1",
        (code,),
    ).fetchone()
