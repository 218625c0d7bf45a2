"""Database access plumbing: the connection pool, migrations, SQL files and audited transactions.

One `Database` (an async psycopg pool) is created at start-up and injected into handlers. Connections are in
autocommit mode so read queries cost one round trip; writes run inside `Database.transaction()`, which also
names the actor, action and reason for the audit triggers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg.adapt import AdaptersMap
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from psycopg.types.datetime import TimestamptzLoader
from psycopg_pool import AsyncConnectionPool

from geoservice.settings import REPO_ROOT, Settings

SQL_DIR = Path(__file__).parent / "sql"
MIGRATIONS_DIR = REPO_ROOT / "migrations"
SESSION_OPTIONS = "-c TimeZone=Europe/Copenhagen -c application_name=geoservice"

INFINITY = dt.datetime.max.replace(tzinfo=dt.UTC)
MINUS_INFINITY = dt.datetime.min.replace(tzinfo=dt.UTC)


class InfinityTimestamptzLoader(TimestamptzLoader):
    """Load 'infinity' (our open end) as datetime.max instead of failing."""

    def load(self, data: Any) -> dt.datetime:
        if data == b"infinity":
            return INFINITY
        if data == b"-infinity":
            return MINUS_INFINITY
        return super().load(data)


def finite(value: dt.datetime | None) -> dt.datetime | None:
    """None for an open end ('infinity' in the database), else the moment itself."""
    return None if value is None or value >= INFINITY else value


def register_adapters(adapters: AdaptersMap) -> None:
    adapters.register_loader("timestamptz", InfinityTimestamptzLoader)


@cache
def query(name: str) -> str:
    """A static query from geoservice/sql/<name>.sql."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Actor:
    """Who makes a change: written to the audit log by the database triggers."""

    name: str
    role: str
    user_id: int | None = None


SYSTEM_ACTOR = Actor(name="system", role="admin")


class Database:
    def __init__(self, settings: Settings, dbname: str | None = None) -> None:
        self.conninfo = settings.conninfo(dbname)
        self.pool = AsyncConnectionPool(
            self.conninfo,
            min_size=settings.pool_min_size,
            max_size=settings.pool_max_size,
            kwargs={"autocommit": True, "options": SESSION_OPTIONS, "row_factory": dict_row},
            configure=self._configure,
            open=False,
        )

    @staticmethod
    async def _configure(conn: psycopg.AsyncConnection) -> None:
        register_adapters(conn.adapters)

    async def open(self) -> None:
        await self.pool.open(wait=True, timeout=30)

    async def close(self) -> None:
        await self.pool.close()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection]:
        async with self.pool.connection() as conn:
            yield conn

    @asynccontextmanager
    async def transaction(
        self, actor: Actor, action: str, reason: str | None = None
    ) -> AsyncIterator[psycopg.AsyncConnection]:
        async with self.pool.connection() as conn, conn.transaction():
            await set_audit_context(conn, actor, action, reason)
            yield conn


class OneTransaction:
    """A Database bound to one open transaction: `connection()` hands out its connection and `transaction()` a
    savepoint inside it. A bulk write (a zone file import) goes through the same domain functions as a single
    request, each with its own audit context and row locks, and all of it commits or rolls back together."""

    def __init__(self, conn: psycopg.AsyncConnection) -> None:
        self.conn = conn

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection]:
        yield self.conn

    @asynccontextmanager
    async def transaction(
        self, actor: Actor, action: str, reason: str | None = None
    ) -> AsyncIterator[psycopg.AsyncConnection]:
        async with self.conn.transaction():
            await set_audit_context(self.conn, actor, action, reason)
            yield self.conn


AUDIT_CONTEXT = (
    "SELECT set_config('geoservice.actor', %s, true), set_config('geoservice.action', %s, true),"
    " set_config('geoservice.reason', %s, true)"
)


async def set_audit_context(conn: psycopg.AsyncConnection, actor: Actor, action: str, reason: str | None) -> None:
    """Name the actor, action and reason for the audit triggers, for the current transaction only."""
    await conn.execute(AUDIT_CONTEXT, (f"{actor.name} ({actor.role})", action, reason or ""))


def set_audit_context_sync(conn: psycopg.Connection, actor: Actor, action: str, reason: str | None = None) -> None:
    conn.execute(AUDIT_CONTEXT, (f"{actor.name} ({actor.role})", action, reason or ""))


def connect(settings: Settings, dbname: str | None = None, **kw: Any) -> psycopg.Connection:
    """A synchronous connection (CLI, loaders, tests) with the same session settings as the pool."""
    kw.setdefault("options", SESSION_OPTIONS)
    conn = psycopg.connect(settings.conninfo(dbname), **kw)
    register_adapters(conn.adapters)
    return conn


async def connect_async(settings: Settings, dbname: str | None = None) -> psycopg.AsyncConnection:
    """A single async connection configured like the pool's (for the CLI and loaders)."""
    conn = await psycopg.AsyncConnection.connect(
        settings.conninfo(dbname), autocommit=True, options=SESSION_OPTIONS, row_factory=dict_row
    )
    register_adapters(conn.adapters)
    return conn


def yoyo_uri(conninfo: str) -> str:
    params = conninfo_to_dict(conninfo)
    user = quote(str(params.pop("user", "postgres")), safe="")
    password = params.pop("password", None)
    host = params.pop("host", "127.0.0.1")
    port = params.pop("port", "5432")
    dbname = quote(str(params.pop("dbname", "postgres")), safe="")
    auth = user + (":" + quote(str(password), safe="") if password else "")
    extra = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in params.items() if k != "options")
    return f"postgresql+psycopg://{auth}@{host}:{port}/{dbname}" + (f"?{extra}" if extra else "")


def migrate(settings: Settings, dbname: str | None = None) -> list[str]:
    """Apply pending migrations from migrations/ in order; returns the ids applied."""
    from yoyo import get_backend, read_migrations

    backend = get_backend(yoyo_uri(settings.conninfo(dbname)))
    migrations = read_migrations(str(MIGRATIONS_DIR))
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    return [m.id for m in pending]


def applied_migrations(settings: Settings, dbname: str | None = None) -> list[str]:
    from yoyo import get_backend, read_migrations

    backend = get_backend(yoyo_uri(settings.conninfo(dbname)))
    migrations = read_migrations(str(MIGRATIONS_DIR))
    pending = {m.id for m in backend.to_apply(migrations)}
    return [m.id for m in migrations if m.id not in pending]
