"""What version of the public data a request sees: the change counter and the time window it falls in.

A public answer is a function of the data (the change counter of migration 0130) and of the moment (a zone starts,
expires, enters its warning window): `PublicState.window(now)` gives the latest transition at or before now and
the next one, so an answer made once stays right for every request until either changes.

`ChangeWatch` reads the counter on one connection of its own, coalescing: a request waits for a read that
started after it arrived (so it sees every write committed before it), and however many requests wait, one read
serves them all. The transitions are read again only when the counter moves.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import math
from dataclasses import dataclass

import psycopg

from geoservice.db import connection_kwargs, register_adapters
from geoservice.store import public_change

log = logging.getLogger("geoservice")

# (database, change counter, latest transition at or before the moment): what a public answer depends on
Version = tuple[str, int, float]


@dataclass(frozen=True)
class PublicState:
    database_id: str
    counter: int
    transitions: tuple[float, ...]  # epoch seconds, sorted

    def window(self, now: float) -> tuple[float, float | None]:
        """(the latest transition <= now, or -inf; the next transition > now, or None)."""
        i = bisect.bisect_right(self.transitions, now)
        latest = self.transitions[i - 1] if i > 0 else -math.inf
        upcoming = self.transitions[i] if i < len(self.transitions) else None
        return latest, upcoming

    def version(self, now: float) -> Version:
        """The version of the public data a request at `now` sees."""
        return self.database_id, self.counter, self.window(now)[0]


class ChangeWatch:
    def __init__(self, conninfo: str, connect_timeout: int, timeout: float) -> None:
        self.conninfo = conninfo
        self.kwargs = connection_kwargs(conninfo, connect_timeout)
        self.timeout = timeout
        self._conn: psycopg.AsyncConnection | None = None
        self._state: PublicState | None = None
        self._next: asyncio.Future[PublicState | None] | None = None
        self._running = False

    async def current(self) -> PublicState | None:
        """The state as of a read that started after this call; None when the database cannot be reached."""
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
            if not self._running:
                self._running = True
                asyncio.get_running_loop().create_task(self._run())
        return await asyncio.shield(self._next)

    async def _run(self) -> None:
        try:
            while self._next is not None:
                waiting, self._next = self._next, None
                waiting.set_result(await self._read())
        finally:
            self._running = False

    async def _read(self) -> PublicState | None:
        try:
            async with asyncio.timeout(self.timeout):
                conn = await self._connection()
                row = await public_change.read(conn, with_transitions=False)
                known = self._state
                if known is None or (row["database_id"], row["counter"]) != (known.database_id, known.counter):
                    row = await public_change.read(conn, with_transitions=True)
                    self._state = PublicState(row["database_id"], row["counter"], tuple(row["transitions"]))
                return self._state
        except (psycopg.Error, TimeoutError, OSError) as exc:
            log.warning("public change counter unavailable: %s", " ".join(str(exc).split())[:200])
            await self.close()
            return None

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = await psycopg.AsyncConnection.connect(self.conninfo, **self.kwargs)
            register_adapters(self._conn.adapters)
        return self._conn

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()
