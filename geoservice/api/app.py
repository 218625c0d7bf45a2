"""The FastAPI application: one pool, one settings object, one place that maps errors to problems."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from geoservice import __version__
from geoservice.api import (
    basemap,
    catalogue,
    feeds,
    health,
    lifecycle,
    lookup,
    ogc,
    openapi,
    overlays,
    places,
    problems,
    validity,
    web,
    webhooks,
    zone_imports,
    zones,
)
from geoservice.api.hardening import Hardening
from geoservice.api.middleware import BodySizeLimit, GZipFor, StandbyReads
from geoservice.api.public_cache import PublicCache
from geoservice.api.query_params import reject_unknown_parameters
from geoservice.api.throttle import AuthThrottle
from geoservice.basemap import TileProxy
from geoservice.db import Database
from geoservice.feeds.worker import BackgroundWorker
from geoservice.geocoder import Geocoder
from geoservice.public_lookup import PublicLookup
from geoservice.public_state import ChangeWatch
from geoservice.settings import Settings, get_settings

# Responses worth compressing on the fly: layers and exports (the web assets and the cached public answers are
# compressed once, ahead: geoservice/api/assets.py, public_cache.py).
COMPRESSED_PATHS = ("/api/v1/zones", "/api/v1/reference-areas", "/api/v1/overlays", "/api/v1/validity",
                    "/api/v1/sectors", "/api/v1/maps", "/ogc", "/openapi.json")
# Public reads whose handlers never write: they may use the standby (GEOSERVICE_READ_DATABASE_URL).
STANDBY_READ_PATHS = ("/api/v1/lookup", "/api/v1/zones", "/api/v1/reference-areas", "/api/v1/sectors",
                      "/api/v1/search")

DESCRIPTION = """
Every geographic zone the Danish police designate — nattelivszoner, visitationszoner, SUB-områder,
Din Betjent sectors — with their legal validity periods and history.

* Times are ISO 8601 in Europe/Copenhagen with offset; a time without an offset is Copenhagen local time.
* Geometry is GeoJSON in EPSG:4326 (RFC 7946); EPSG:25832 is accepted when declared (`Content-Crs`).
* Errors are `application/problem+json` (RFC 9457) naming the field and the reason.
* Roles: public (no token), officer, analyst, legal, admin — `Authorization: Bearer <token>`.
"""


def create_app(settings: Settings | None = None, dbname: str | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Nothing here waits for the database: the service starts while it is down and answers 503 until it is up.
        db = Database(settings, dbname)
        await db.open()
        app.state.db = db
        read_conninfo = db.conninfo if db.read_pool is None else str(db.read_pool.conninfo)
        app.state.public_watch = ChangeWatch(read_conninfo, settings.db_connect_timeout, settings.db_timeout)
        app.state.public_lookup = PublicLookup(db, app.state.public_watch)
        # webhook deliveries from the outbox, in this process (settings.webhook_worker; README, Feeds)
        worker = BackgroundWorker(db, settings) if settings.webhook_worker else None
        # the configured upstreams (street map tiles, address search), each with its own HTTP client
        app.state.tiles = TileProxy(settings) if settings.basemap_upstream else None
        app.state.geocoder = Geocoder(settings) if settings.geocoder_url else None
        try:
            yield
        finally:
            if worker is not None:
                await worker.stop()
            for upstream in (app.state.tiles, app.state.geocoder):
                if upstream is not None:
                    await upstream.close()
            await app.state.public_lookup.close()
            await app.state.public_watch.close()
            await db.close()

    app = FastAPI(
        title="geoservice",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # a query parameter the route does not take is a 400 naming it, never silently ignored
        dependencies=[Depends(reject_unknown_parameters)],
    )
    app.state.settings = settings
    app.state.auth_throttle = AuthThrottle(settings.auth_failures_max, settings.auth_failure_window_s)
    problems.install(app)
    openapi.install(app)
    # Routes are matched in this order, each pattern in turn (about 3 µs apiece): the public reads come first,
    # lookup the very first; OGC API reads before the staff and write routes (bench/ogc.py).
    app.include_router(lookup.router)
    app.include_router(health.router)
    app.include_router(zones.router)
    app.include_router(catalogue.router)
    app.include_router(places.router)
    app.include_router(ogc.router)
    app.include_router(lifecycle.router)
    app.include_router(validity.router)
    app.include_router(overlays.router)
    app.include_router(feeds.router)
    app.include_router(webhooks.router)
    app.include_router(basemap.router)
    app.include_router(zone_imports.router)
    app.include_router(web.router)
    web.mount_assets(app, settings)
    app.add_middleware(GZipFor, prefixes=COMPRESSED_PATHS)
    app.add_middleware(PublicCache, settings=settings)
    if settings.read_database_url:
        app.add_middleware(StandbyReads, prefixes=STANDBY_READ_PATHS)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        upload_max_bytes=settings.max_upload_bytes,
        upload_prefixes=("/api/v1/imports",),
    )
    app.add_middleware(Hardening, settings=settings)  # last added, so outermost: it sees every answer (HEAD too)
    logging.getLogger("geoservice").setLevel(logging.INFO)
    return app
