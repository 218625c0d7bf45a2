"""The public's lookups at the current moment, answered from memory.

A lookup without a token and without `at` is a function of the public data and of the moment, exactly like the
public zone layer (geoservice/api/public_cache.py): within one version of the data (the change counter) and one
time window (between two transitions: a zone starts, expires, enters its warning window, a sector's period
begins or ends; `PublicState.window`) the same point gets the same zones, sector, politikreds and kommune. So the
boundaries and the parts of the answer are read once per version (lookup_index.sql, made of the same SQL
fragments as lookup.sql) into one spatial index, and each lookup is a point-in-polygon test here instead of a
query: a news spike of citizens' lookups no longer queues for the database (bench/public.py).

The rules stay in the database: which versions are in force and visible, the status, the designation end, the
order of the zones. Only the choice among boundaries is made here, with the same predicate (GEOS intersects, in
EPSG:25832 through PROJ, as PostGIS does), and the one part of an answer that changes within a window, whether
a zone kind's daily window applies at the moment of the request (`daily_window_contains`, the SQL function of
migration 0005, tested against it).

Freshness is the public cache's: the counter is read after the request arrived, and an index is used only for
the version it was built for; while a new one is being built (after a change, or when a transition passes)
lookups are answered by the query, so no answer ever waits for a build or comes from an older version. A
point that no politikreds holds (the sea, abroad) is answered by the query too, which measures how far it is.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Any

import anyio
import orjson
import shapely
from pyproj import Transformer

from geoservice import timeutil
from geoservice.access import PUBLIC, zone_filter
from geoservice.db import Database
from geoservice.public_state import ChangeWatch, Version
from geoservice.store import reference

log = logging.getLogger("geoservice")

TO_STORAGE = Transformer.from_crs("EPSG:4326", "EPSG:25832", always_xy=True)
LAYERS = ("zone", "sector", "politikreds", "kommune")
RETRY_AFTER_S = 5.0


def daily_window_contains(start: dt.time | None, end: dt.time | None, t: dt.datetime) -> bool | None:
    """Whether a kind's daily window (local wall-clock times, possibly past midnight) holds the moment t; None
    for a kind without one. The same rule as the SQL function daily_window_contains (migration 0005)."""
    if start is None or end is None:
        return None
    local = t.astimezone(timeutil.LOCAL_TZ).time()
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def as_postgresql_writes_it(t: dt.datetime) -> str:
    """A timestamptz as PostgreSQL puts it in JSON in Copenhagen time: microseconds without trailing zeros."""
    text = t.astimezone(timeutil.LOCAL_TZ).isoformat()
    if t.microsecond:
        seconds, offset = text[:-6], text[-6:]
        text = seconds.rstrip("0") + offset
    return text


@dataclass(frozen=True)
class LookupIndex:
    """Every boundary in one spatial index (one query per lookup), with its layer, rank and part of the answer."""

    version: Version
    tree: shapely.STRtree
    layers: list[str]
    keys: list[str]
    ranks: list[int]
    valid_from: list[float]
    bodies: list[dict[str, Any]]
    windows: list[tuple[dt.time | None, dt.time | None]]

    @classmethod
    def build(cls, version: Version, rows: list[dict[str, Any]]) -> LookupIndex:
        rows = [r for r in rows if r["layer"] in LAYERS]
        return cls(version, tree=shapely.STRtree(shapely.from_wkb([bytes(r["wkb"]) for r in rows])),
                   layers=[r["layer"] for r in rows], keys=[r["key"] for r in rows],
                   ranks=[int(r["rank"]) for r in rows], valid_from=[r["valid_from"] or 0.0 for r in rows],
                   bodies=[orjson.loads(r["body"]) for r in rows],
                   windows=[(r["window_start"], r["window_end"]) for r in rows])

    def answer(self, lon: float, lat: float, t: dt.datetime) -> bytes | None:
        """The lookup document for a point at the moment t (within this index's version), or None when no
        politikreds holds the point (the query answers those)."""
        x, y = TO_STORAGE.transform(lon, lat)
        first: dict[str, int] = {}  # sector, politikreds, kommune: the lowest rank (ORDER BY code LIMIT 1)
        latest: dict[str, int] = {}  # per zone, the version that started last (lookup.sql's DISTINCT ON)
        for i in self.tree.query(shapely.Point(x, y), predicate="intersects").tolist():
            layer = self.layers[i]
            if layer == "zone":
                known = latest.get(self.keys[i])
                if known is None or self.valid_from[i] > self.valid_from[known]:
                    latest[self.keys[i]] = i
            elif layer not in first or self.ranks[i] < self.ranks[first[layer]]:
                first[layer] = i
        if "politikreds" not in first:
            return None
        zones = []
        for i in sorted(latest.values(), key=self.ranks.__getitem__):
            body = dict(self.bodies[i])
            body["daily_window_applies"] = daily_window_contains(*self.windows[i], t)
            zones.append(body)

        def part(layer: str) -> dict[str, Any] | None:
            return self.bodies[first[layer]] if layer in first else None

        return orjson.dumps({
            "at": as_postgresql_writes_it(t),
            "point": {"lat": lat, "lon": lon},
            "zones": zones,
            "sector": part("sector"),
            "police_district": part("politikreds"),
            "municipality": part("kommune"),
        })


class PublicLookup:
    """The index for the current version, built in the background when the version moves on."""

    def __init__(self, db: Database, watch: ChangeWatch) -> None:
        self.db = db
        self.watch = watch
        self.index: LookupIndex | None = None
        self._building: asyncio.Task[None] | None = None
        self._failed_at = -RETRY_AFTER_S

    async def answer(self, lon: float, lat: float) -> bytes | None:
        """The public's answer at the current moment from the index, or None: the query answers (no index for
        this version yet, the database unreachable, or a point outside every politikreds)."""
        state = await self.watch.current()
        if state is None:
            return None
        t = timeutil.now()
        version = state.version(t.timestamp())
        index = self.index
        if index is None or index.version != version:
            idle = self._building is None or self._building.done()
            if idle and time.monotonic() - self._failed_at >= RETRY_AFTER_S:
                self._building = asyncio.get_running_loop().create_task(self._build(version))
            return None
        return index.answer(lon, lat, t)

    async def _build(self, version: Version) -> None:
        access = zone_filter(PUBLIC)
        try:
            async with self.db.connection(read=True) as conn:
                rows = await reference.lookup_index_rows(conn, {
                    "t": timeutil.now(), "visibilities": list(access.visibilities),
                    "restricted_kreds": access.restricted_politikreds})
            index = await anyio.to_thread.run_sync(LookupIndex.build, version, rows)
            after = await self.watch.current()
            # kept only if nothing changed while it was read: its rows belong to exactly this version
            if after is not None and after.version(time.time()) == version:
                self.index = index
        except Exception:  # the query answers meanwhile; a lookup a little later tries again
            self._failed_at = time.monotonic()
            log.exception("the public lookup index could not be built")

    async def close(self) -> None:
        if self._building is not None and not self._building.done():
            self._building.cancel()
