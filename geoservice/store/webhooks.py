"""SQL for webhook subscriptions, the outbox (feed_event) and the delivery log (migrations/0151)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from psycopg import AsyncConnection
from psycopg import sql as S

SUBSCRIPTION_COLUMNS = """
    s.id, s.url, s.event_types, s.visibility, s.description, s.active, s.created_at, s.created_by, s.secret_set_at,
    (SELECT count(*) FROM webhook_delivery d WHERE d.subscription_id = s.id AND d.status = 'pending') AS pending,
    (SELECT count(*) FROM webhook_delivery d WHERE d.subscription_id = s.id AND d.status = 'delivered') AS delivered,
    (SELECT count(*) FROM webhook_delivery d WHERE d.subscription_id = s.id AND d.status = 'failed') AS failed
"""


async def insert_subscription(conn: AsyncConnection, values: dict[str, Any], secret: str) -> int:
    cur = await conn.execute(
        """
        INSERT INTO webhook_subscription (url, event_types, visibility, description, created_by)
        VALUES (%(url)s, %(event_types)s, %(visibility)s, %(description)s, %(created_by)s)
        RETURNING id
        """,
        values,
    )
    row = await cur.fetchone()
    assert row is not None
    await conn.execute("INSERT INTO webhook_secret (subscription_id, secret) VALUES (%s, %s)", (row["id"], secret))
    return int(row["id"])


async def subscriptions(conn: AsyncConnection, subscription_id: int | None = None) -> list[dict[str, Any]]:
    cur = await conn.execute(
        S.SQL("SELECT {} FROM webhook_subscription s WHERE %(id)s::integer IS NULL OR s.id = %(id)s ORDER BY s.id")
        .format(S.SQL(SUBSCRIPTION_COLUMNS)),
        {"id": subscription_id},
    )
    return await cur.fetchall()


async def lock_subscription(conn: AsyncConnection, subscription_id: int) -> dict[str, Any] | None:
    cur = await conn.execute("SELECT * FROM webhook_subscription WHERE id = %s FOR UPDATE", (subscription_id,))
    return await cur.fetchone()


async def update_subscription(conn: AsyncConnection, subscription_id: int, fields: dict[str, Any]) -> None:
    if not fields:
        return
    assignments = S.SQL(", ").join(S.SQL("{} = {}").format(S.Identifier(k), S.Placeholder(k)) for k in fields)
    await conn.execute(S.SQL("UPDATE webhook_subscription SET {} WHERE id = %(id)s").format(assignments),
                       {**fields, "id": subscription_id})


async def set_secret(conn: AsyncConnection, subscription_id: int, secret: str) -> None:
    await conn.execute("UPDATE webhook_secret SET secret = %s WHERE subscription_id = %s", (secret, subscription_id))
    await conn.execute("UPDATE webhook_subscription SET secret_set_at = now() WHERE id = %s", (subscription_id,))


# --- delivery -------------------------------------------------------------------------------------------------

# One due delivery, locked for the rest of the caller's transaction: another worker skips it (SKIP LOCKED), and
# a worker that dies mid-attempt releases it with its connection, unsent as far as the database knows.
CLAIM_DUE = """
SELECT d.id, d.attempts, d.event_id AS sequence, s.id AS subscription_id, s.url, sec.secret,
       e.event_id, e.type, e.occurred_at, e.zone_id, e.version_id, e.data
FROM webhook_delivery d
JOIN webhook_subscription s ON s.id = d.subscription_id
JOIN webhook_secret sec ON sec.subscription_id = s.id
JOIN feed_event e ON e.id = d.event_id
WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND s.active
ORDER BY d.next_attempt_at, d.id
LIMIT 1
FOR UPDATE OF d SKIP LOCKED
"""


async def claim_due_delivery(conn: AsyncConnection) -> dict[str, Any] | None:
    cur = await conn.execute(CLAIM_DUE)
    return await cur.fetchone()


async def next_due(conn: AsyncConnection) -> dt.datetime | None:
    cur = await conn.execute(
        """
        SELECT min(d.next_attempt_at) AS at FROM webhook_delivery d
        JOIN webhook_subscription s ON s.id = d.subscription_id
        WHERE d.status = 'pending' AND s.active
        """)
    row = await cur.fetchone()
    return row["at"] if row else None


async def record_attempt(
    conn: AsyncConnection, delivery_id: int, *, attempt_no: int, started_at: dt.datetime, duration_ms: int,
    status_code: int | None, error: str | None, outcome: str, retry_in_seconds: float | None,
) -> None:
    await conn.execute(
        """
        INSERT INTO webhook_attempt (delivery_id, attempt_no, started_at, duration_ms, status_code, error)
        VALUES (%s, %s, %s, %s, %s, %s)
        """,
        (delivery_id, attempt_no, started_at, duration_ms, status_code, error),
    )
    await conn.execute(
        """
        UPDATE webhook_delivery
        SET status = %(outcome)s, attempts = %(attempt_no)s, last_attempt_at = %(started_at)s,
            last_status_code = %(status_code)s, last_error = %(error)s,
            delivered_at = CASE WHEN %(outcome)s = 'delivered' THEN clock_timestamp() END,
            next_attempt_at = CASE WHEN %(retry)s::float8 IS NULL THEN next_attempt_at
                                   ELSE clock_timestamp() + make_interval(secs => %(retry)s::float8) END
        WHERE id = %(id)s
        """,
        {"outcome": outcome, "attempt_no": attempt_no, "started_at": started_at, "status_code": status_code,
         "error": error, "retry": retry_in_seconds, "id": delivery_id},
    )


async def deliveries(
    conn: AsyncConnection, *, subscription_id: int | None, status: str | None, event_id: str | None, limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    cur = await conn.execute(
        """
        SELECT d.id, d.subscription_id, e.event_id, e.type, e.zone_id, e.visibility, e.occurred_at, e.actor,
               d.status, d.attempts, d.next_attempt_at, d.last_attempt_at, d.last_status_code, d.last_error,
               d.delivered_at, d.created_at,
               coalesce((SELECT json_agg(json_build_object(
                             'attempt', a.attempt_no, 'started_at', a.started_at, 'duration_ms', a.duration_ms,
                             'status_code', a.status_code, 'error', a.error) ORDER BY a.attempt_no)
                         FROM webhook_attempt a WHERE a.delivery_id = d.id), '[]'::json) AS log
        FROM webhook_delivery d JOIN feed_event e ON e.id = d.event_id
        WHERE (%(subscription_id)s::integer IS NULL OR d.subscription_id = %(subscription_id)s)
          AND (%(status)s::text IS NULL OR d.status = %(status)s)
          AND (%(event_id)s::uuid IS NULL OR e.event_id = %(event_id)s::uuid)
        ORDER BY d.id DESC
        LIMIT %(limit)s OFFSET %(offset)s
        """,
        {"subscription_id": subscription_id, "status": status, "event_id": event_id, "limit": limit,
         "offset": offset},
    )
    return await cur.fetchall()


async def delivery_status(conn: AsyncConnection, delivery_id: int) -> str | None:
    """A delivery's status, its row locked until the end of the transaction (None: no such delivery)."""
    cur = await conn.execute("SELECT status FROM webhook_delivery WHERE id = %s FOR UPDATE", (delivery_id,))
    row = await cur.fetchone()
    return row["status"] if row else None


async def reset_delivery(conn: AsyncConnection, delivery_id: int) -> None:
    """Due again from now; the attempts so far stay in the log."""
    await conn.execute("UPDATE webhook_delivery SET status = 'pending', next_attempt_at = now() WHERE id = %s",
                       (delivery_id,))
