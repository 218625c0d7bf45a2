"""Database access plumbing: the connection pool, migrations, SQL files and audited transactions.

One `Database` (an async psycopg pool) is created at start-up and injected into handlers. Connections are in
autocommit mode so read queries cost one round trip; writes run inside `Database.transaction()`, which also
names the actor, action and reason for the audit triggers.

The pool survives the database: it opens without waiting (the service starts while the database is down and
answers 503 until it is up), a request waits at most `db_timeout` seconds for a connection, and a connection
the server closed while it sat idle (a restart, a failover) is noticed when it is taken and replaced.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import select
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
    """A static query from geoservice/sql/<name>.sql, less its comment lines (the file is what to read; psycopg
    keeps the parsed form of a query only up to 4 KB)."""
    text = (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))


@dataclass(frozen=True)
class Actor:
    """Who makes a change: written to the audit log by the database triggers."""

    name: str
    role: str
    user_id: int | None = None


SYSTEM_ACTOR = Actor(name="system", role="admin")


# Set for a request that only reads public data (geoservice.api.app marks them): its queries may go to the
# standby pool when one is configured.
read_only_request: contextvars.ContextVar[bool] = contextvars.ContextVar("read_only_request", default=False)

# Connection defaults when the URL does not say otherwise: give up on an unreachable host quickly, and notice a
# peer that vanished without closing the socket (a machine that died) within seconds rather than TCP's minutes.
RESILIENT_DEFAULTS = {"keepalives": "1", "keepalives_idle": "10", "keepalives_interval": "3",
                      "keepalives_count": "3", "tcp_user_timeout": "10000"}


def connection_kwargs(conninfo: str, connect_timeout: int) -> dict[str, Any]:
    """Session settings plus the resilience defaults the connection string does not set itself."""
    given = conninfo_to_dict(conninfo)
    kwargs: dict[str, Any] = {"autocommit": True, "options": SESSION_OPTIONS, "row_factory": dict_row}
    kwargs.update({k: v for k, v in {**RESILIENT_DEFAULTS, "connect_timeout": str(connect_timeout)}.items()
                   if k not in given})
    return kwargs


async def check_idle_connection(conn: psycopg.AsyncConnection) -> None:
    """Raise if a pooled connection is dead, at the cost of one poll() for a healthy one.

    An idle connection has nothing to read; if its socket is readable the server has said something while it sat
    in the pool, almost always 'terminating connection' and EOF after a restart or failover. Only then is a round
    trip spent to find out, and the pool replaces the connection when it fails."""
    if conn.closed or conn.broken:
        raise psycopg.OperationalError("the connection is closed")
    poller = select.poll()  # poll, not select: a busy server has file descriptors above select's 1024
    poller.register(conn.fileno(), select.POLLIN)
    if poller.poll(0):
        await conn.execute("")


class Database:
    def __init__(self, settings: Settings, dbname: str | None = None, conninfo: str | None = None,
                 read_conninfo: str | None = None) -> None:
        self.conninfo = conninfo or settings.conninfo(dbname)
        self.timeout = settings.db_timeout
        read_conninfo = read_conninfo or (settings.read_database_url if conninfo is None and dbname is None
                                          else None)
        # With public reads on the standby, a write returns only once the standby has applied it, so the next
        # read there sees it (pg_auto_failover drops the standby from the synchronous set when it is down).
        self.pool = self._pool(settings, self.conninfo, "geoservice",
                               " -c synchronous_commit=remote_apply" if read_conninfo else "")
        self.read_pool = self._pool(settings, read_conninfo, "geoservice-read") if read_conninfo else None

    def _pool(self, settings: Settings, conninfo: str, name: str, options: str = "") -> AsyncConnectionPool:
        kwargs = connection_kwargs(conninfo, settings.db_connect_timeout)
        kwargs["options"] += options
        return AsyncConnectionPool(
            conninfo,
            min_size=settings.pool_min_size,
            max_size=settings.pool_max_size,
            kwargs=kwargs,
            configure=self._configure,
            check=check_idle_connection,
            timeout=settings.db_timeout,
            # Give up a failing reconnection early: the next request that waits starts a fresh attempt at once,
            # so the pool recovers within seconds of the database coming back instead of after a long backoff.
            reconnect_timeout=max(5.0, 2 * settings.db_timeout),
            name=name,
            open=False,
        )

    @staticmethod
    async def _configure(conn: psycopg.AsyncConnection) -> None:
        register_adapters(conn.adapters)

    async def open(self) -> None:
        """Start connecting in the background: the service starts even when the database is down."""
        for pool in self._pools():
            await pool.open(wait=False)

    async def close(self) -> None:
        for pool in self._pools():
            await pool.close(timeout=5)

    def _pools(self) -> list[AsyncConnectionPool]:
        return [self.pool] + ([self.read_pool] if self.read_pool else [])

    @asynccontextmanager
    async def connection(self, timeout: float | None = None, read: bool | None = None
                         ) -> AsyncIterator[psycopg.AsyncConnection]:
        """A connection for reading: from the standby pool when one is configured and the request only reads
        public data (or `read=True`), else from the primary's."""
        read = read_only_request.get() if read is None else read
        pool = self.read_pool if self.read_pool is not None and read else self.pool
        async with pool.connection(timeout=timeout) as conn:
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
    host = str(params.pop("host", "127.0.0.1"))
    port = str(params.pop("port", "5432"))
    dbname = quote(str(params.pop("dbname", "postgres")), safe="")
    auth = user + (":" + quote(str(password), safe="") if password else "")
    if "," in host or "," in port:
        # Several hosts (a failover formation): yoyo passes query arguments through to psycopg.
        params.update(host=host, port=port)
        netloc = f"{auth}@"
    else:
        netloc = f"{auth}@{host}:{port}"
    extra = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in params.items() if k != "options")
    return f"postgresql+psycopg://{netloc}/{dbname}" + (f"?{extra}" if extra else "")


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
