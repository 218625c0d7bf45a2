"""Liveness and readiness for a load balancer or an orchestrator.

Ready means: the database (the primary, and the read pool when one is configured) answers within a short
timeout, and every migration this code ships has been applied there. One cheap query per pool, so a check every
second costs nothing worth measuring.
"""

from __future__ import annotations

import time
from functools import cache
from typing import Any

from geoservice.db import MIGRATIONS_DIR, Database
from geoservice.store.health import server_state

# A readiness probe must answer faster than the prober gives up (commonly 1-5 s), also when the database is down.
CHECK_TIMEOUT_S = 1.0


@cache
def expected_migrations() -> tuple[str, ...]:
    from yoyo import read_migrations

    return tuple(m.id for m in read_migrations(str(MIGRATIONS_DIR)))


async def _check_pool(db: Database, *, read: bool) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        async with db.connection(timeout=CHECK_TIMEOUT_S, read=read) as conn:
            state = await server_state(conn)
    except Exception as exc:  # any failure to reach the database means "not ready", with the reason
        return {"ok": False, "ms": _ms(start), "error": " ".join(str(exc).split())[:200] or type(exc).__name__}
    return {"ok": True, "ms": _ms(start), "server": "standby" if state["standby"] else "primary",
            "applied": state["applied"]}


async def readiness(db: Database) -> dict[str, Any]:
    """{"ready": bool, "checks": {name: {"ok", "ms", ...}}}."""
    checks: dict[str, Any] = {}
    database = await _check_pool(db, read=False)
    applied = database.pop("applied", None)
    checks["database"] = database
    if database["ok"] and database["server"] != "primary":
        database.update(ok=False, error="the write pool reached a standby (no primary yet: failing over?)")
    if db.read_pool is not None:
        read = await _check_pool(db, read=True)
        read.pop("applied", None)
        checks["read_database"] = read
    start = time.perf_counter()
    if applied is None:
        checks["migrations"] = {"ok": False, "ms": 0.0, "error": "not checked: the database cannot be reached"}
    else:
        pending = [m for m in expected_migrations() if m not in set(applied)]
        checks["migrations"] = {"ok": not pending, "ms": _ms(start), "applied": len(applied), "pending": pending}
    return {"ready": all(c["ok"] for c in checks.values()), "checks": checks}


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)
