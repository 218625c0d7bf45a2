"""The web pages and their assets, all served locally (Leaflet and Swagger UI come from npm, no CDN)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import HTMLResponse

from geoservice import csp
from geoservice.api.assets import AssetFiles, AssetShortcut, AssetStore, Page
from geoservice.errors import SetupError
from geoservice.settings import Settings

router = APIRouter(include_in_schema=False)

VENDOR_ASSETS = {
    "leaflet": "leaflet/dist",
    "leaflet-heat": "leaflet.heat/dist",
    "swagger-ui": "swagger-ui-dist",
    # axe-core: the accessibility checker the browser tests run in every page (served here, so a page's
    # Content-Security-Policy need not be loosened to inject it)
    "axe-core": "axe-core",
}


def asset_store(settings: Settings) -> AssetStore:
    """Every directory of web assets by its URL prefix."""
    store = AssetStore(settings.asset_cache_dir)
    store.add_root("/static", settings.web_dir / "public")
    modules = settings.web_dir / "node_modules"
    for name, sub in VENDOR_ASSETS.items():
        path = modules / sub
        if not path.is_dir():
            raise SetupError(f"web asset {name} is missing at {path}; run `npm ci` in web/ (./dev does)")
        store.add_root(f"/vendor/{name}", path)
    return store


def mount_assets(app: FastAPI, settings: Settings) -> None:
    # Validators, versioned long-lived caching and precompressed copies: geoservice/api/assets.py.
    store = asset_store(settings)
    mounts: dict[str, AssetFiles] = {}
    for prefix, directory in store.roots.items():
        name = "static" if prefix == "/static" else "vendor-" + prefix.rsplit("/", 1)[-1]
        mounts[prefix] = AssetFiles(directory, store, settings.page_max_age)
        app.mount(prefix, mounts[prefix], name=name)
    public = settings.web_dir / "public"
    files: dict[str, Path] = {
        "/": public / "index.html",
        "/officer": public / "officer.html",
        "/legal": public / "legal.html",
        "/analyst": public / "analyst.html",
        "/tilgaengelighed": public / "tilgaengelighed.html",  # the accessibility statement
    }
    # Pages refer to their assets by versioned URLs and revalidate after page_max_age.
    pages = {route: Page(file, store, f"public, max-age={settings.page_max_age}") for route, file in files.items()}
    for route, page in pages.items():
        app.add_route(route, page, methods=["GET"], include_in_schema=False)
    app.add_middleware(AssetShortcut, mounts=mounts, pages=pages)


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
