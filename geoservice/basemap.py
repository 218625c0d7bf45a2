"""The street map through our own caching tile proxy.

Leaflet asks this service for /basemap/tiles/{z}/{x}/{y}; the service fetches the tile from the configured
upstream (an XYZ or WMTS-KVP URL template in Web Mercator with {z}, {x} and {y}, e.g. an OpenStreetMap tile
server within its usage policy, or a Danish WMTS with its token in the template), keeps it on disk, and answers
from the disk until it is older than the configured age. The browser never talks to the upstream.

Why a small proxy rather than MapProxy: Leaflet needs Web Mercator XYZ tiles, which both kinds of upstream serve
as they are, so MapProxy's strengths (reprojection, WMS, seeding) would go unused, while it would bring a WSGI
application into this ASGI service, a second configuration language and blocking upstream requests in worker
threads. What is needed — a template, a disk cache, a stale copy when the upstream is down, checked coordinates
and content — is below, and tested against a local fake upstream (tests/test_basemap.py).
"""

from __future__ import annotations

import asyncio
import logging

import httpx

from geoservice.errors import InvalidInput, UpstreamUnavailable
from geoservice.settings import Settings
from geoservice.upstream import Cached, DiskCache, client

log = logging.getLogger("geoservice.basemap")

TILE_PATH = "/basemap/tiles/{z}/{x}/{y}"
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp")
MAX_TILE_BYTES = 2_000_000


class TileProxy:
    def __init__(self, settings: Settings) -> None:
        upstream = settings.basemap_upstream
        if not upstream:
            raise ValueError("no tile upstream configured")
        self.template = upstream
        self.max_zoom = settings.tile_max_zoom
        self.cache = DiskCache(settings.tile_cache_dir, settings.tile_cache_days * 86400)
        self.http = client(settings.upstream_timeout_s, settings.upstream_user_agent)
        self._inflight: dict[tuple[int, int, int], asyncio.Future[Cached]] = {}

    async def close(self) -> None:
        await self.http.aclose()

    def check(self, z: int, x: int, y: int) -> None:
        if not 0 <= z <= self.max_zoom:
            raise InvalidInput(f"zoom {z} is outside 0–{self.max_zoom}", errors=[_field("z", z, self.max_zoom)])
        side = 2 ** z - 1
        for name, value in (("x", x), ("y", y)):
            if not 0 <= value <= side:
                raise InvalidInput(f"tile {name}={value} does not exist at zoom {z}",
                                   errors=[_field(name, value, side)])

    async def tile(self, z: int, x: int, y: int) -> tuple[Cached, bool]:
        """The tile and whether it came from the disk. Concurrent askers for the same missing tile share one
        upstream request."""
        self.check(z, x, y)
        key = f"{self.template}|{z}/{x}/{y}"
        cached = self.cache.get(key)
        if cached and cached.fresh:
            return cached, True
        pending = self._inflight.get((z, x, y))
        if pending is not None:
            return await asyncio.shield(pending), True
        future: asyncio.Future[Cached] = asyncio.get_running_loop().create_future()
        self._inflight[(z, x, y)] = future
        try:
            result = await self._fetch(key, z, x, y, stale=cached)
            future.set_result(result)
            return result, False
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: no "never retrieved" warning when nobody else waited
            raise
        finally:
            del self._inflight[(z, x, y)]

    async def _fetch(self, key: str, z: int, x: int, y: int, stale: Cached | None) -> Cached:
        url = self.template.format(z=z, x=x, y=y)
        try:
            response = await self.http.get(url)
            media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if response.status_code != 200:
                raise UpstreamUnavailable(f"the tile server answered {response.status_code}")
            if media_type not in IMAGE_TYPES:
                raise UpstreamUnavailable(f"the tile server sent {media_type or 'no content type'}, not an image")
            if len(response.content) > MAX_TILE_BYTES:
                raise UpstreamUnavailable("the tile server sent a tile larger than 2 MB")
        except (httpx.HTTPError, UpstreamUnavailable) as error:
            if stale is not None:  # better an old street map than none
                log.warning("tile %s/%s/%s: upstream failed (%s); serving the cached copy", z, x, y, error)
                return stale
            if isinstance(error, UpstreamUnavailable):
                raise
            raise UpstreamUnavailable(f"the tile server could not be reached ({type(error).__name__})") from error
        self.cache.put(key, response.content, media_type)
        return Cached(response.content, media_type, fresh=True)


def _field(name: str, value: int, top: int):
    from geoservice.errors import FieldError

    return FieldError(name, f"{value} is outside 0–{top}")
