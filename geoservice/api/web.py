"""The web pages and their assets, all served locally (Leaflet and Swagger UI come from npm, no CDN)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import FileResponse, HTMLResponse

from geoservice import csp
from geoservice.errors import SetupError
from geoservice.settings import Settings

router = APIRouter(include_in_schema=False)

VENDOR_ASSETS = {
    "leaflet": "leaflet/dist",
    "leaflet-heat": "leaflet.heat/dist",
    "swagger-ui": "swagger-ui-dist",
}


def mount_assets(app: FastAPI, settings: Settings) -> None:
    public = settings.web_dir / "public"
    modules = settings.web_dir / "node_modules"
    app.mount("/static", StaticFiles(directory=public), name="static")
    for name, sub in VENDOR_ASSETS.items():
        path = modules / sub
        if not path.is_dir():
            raise SetupError(f"web asset {name} is missing at {path}; run `npm ci` in web/ (./dev does)")
        app.mount(f"/vendor/{name}", StaticFiles(directory=path), name=f"vendor-{name}")

    pages: dict[str, Path] = {
        "/": public / "index.html",
        "/officer": public / "officer.html",
        "/legal": public / "legal.html",
        "/analyst": public / "analyst.html",
    }

    for route, file in pages.items():
        app.add_api_route(route, _page(file), include_in_schema=False, methods=["GET"])


def _page(file: Path) -> Callable[[], Awaitable[FileResponse]]:
    # A closure without parameters: a default argument would become a query parameter that picks the file.
    async def serve() -> FileResponse:
        return FileResponse(file, media_type="text/html; charset=utf-8")

    return serve


@lru_cache(maxsize=1)
def _swagger_page() -> tuple[bytes, str]:
    page = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="geoservice API",
        swagger_js_url="/vendor/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url="/vendor/swagger-ui/swagger-ui.css",
        swagger_favicon_url="/static/favicon.svg",
        # no validator badge: it would call validator.swagger.io
        swagger_ui_parameters={"validatorUrl": None},
    )
    body = bytes(page.body)
    return body, csp.docs_policy(body.decode())


@router.get("/docs")
async def swagger_ui() -> HTMLResponse:
    # FastAPI starts Swagger UI with one inline script: the page's policy lets exactly that script run
    body, policy = _swagger_page()
    return HTMLResponse(body, headers={"Content-Security-Policy": policy})
