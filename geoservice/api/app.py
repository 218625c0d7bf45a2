"""The FastAPI application: one pool, one settings object, one place that maps errors to problems."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from geoservice import __version__
from geoservice.api import catalogue, lifecycle, lookup, openapi, overlays, places, problems, validity, web, zones
from geoservice.api.hardening import Hardening
from geoservice.api.middleware import BodySizeLimit, GZipFor
from geoservice.api.throttle import AuthThrottle
from geoservice.db import Database
from geoservice.settings import Settings, get_settings

# Responses worth compressing: layers and exports, and the web assets.
COMPRESSED_PATHS = ("/api/v1/zones", "/api/v1/reference-areas", "/api/v1/overlays", "/api/v1/validity",
                    "/api/v1/sectors", "/api/v1/maps", "/static", "/vendor", "/openapi.json")

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
        db = Database(settings, dbname)
        await db.open()
        app.state.db = db
        try:
            yield
        finally:
            await db.close()

    app = FastAPI(
        title="geoservice",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.auth_throttle = AuthThrottle(settings.auth_failures_max, settings.auth_failure_window_s)
    problems.install(app)
    openapi.install(app)
    app.include_router(lookup.router)  # first: the hottest route is matched first
    app.include_router(zones.router)
    app.include_router(lifecycle.router)
    app.include_router(validity.router)
    app.include_router(catalogue.router)
    app.include_router(places.router)
    app.include_router(overlays.router)
    app.include_router(web.router)
    web.mount_assets(app, settings)
    app.add_middleware(GZipFor, prefixes=COMPRESSED_PATHS)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        upload_max_bytes=settings.max_upload_bytes,
        upload_prefixes=("/api/v1/imports",),
    )
    app.add_middleware(Hardening, settings=settings)  # last added, so outermost: it sees every answer
    logging.getLogger("geoservice").setLevel(logging.INFO)
    return app
