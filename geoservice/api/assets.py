"""Web pages and their assets with validators and long-lived caching.

Each file is read once (again only when it changes on disk) and identified by the SHA-256 of its content: the
strong ETag. Pages refer to assets with versioned URLs (`/static/js/app.js?v=<hash>`, rewritten when the page is
served), and a request carrying the current version is cacheable for a year (`immutable`); any other request
revalidates after `page_max_age`. gzip and brotli copies are made once per content (best compression) and kept
in `asset_cache_dir`, so every worker and restart reuses them; `geoservice assets build DIR` writes the same files
with `.gz`/`.br` beside them for a reverse proxy (docs/nginx.conf: gzip_static, brotli_static).
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from starlette.datastructures import Headers, QueryParams
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from geoservice.api.representation import respond
from geoservice.compression import SUFFIX, accepted_codings, compressible, encode

IMMUTABLE = "public, max-age=31536000, immutable"
# An asset reference in a page: src="/static/..." or href="/vendor/..." (not already versioned).
ASSET_REF = re.compile(r'(?P<attr>\b(?:src|href))="(?P<url>/(?:static|vendor)/[^"?#]+)"')

mimetypes.add_type("application/javascript", ".js")
mimetypes.add_type("image/svg+xml", ".svg")
mimetypes.add_type("application/geo+json", ".geojson")


def media_type_of(path: Path) -> str:
    guessed = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed


@dataclass
class Asset:
    body: bytes
    media_type: str
    digest: str
    stamp: tuple[int, int]
    # For a page: the assets it refers to, with their stamps (a changed asset changes the page's URLs).
    deps: tuple[tuple[Path, tuple[int, int]], ...] = ()
    encoded: dict[str, bytes] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return self.digest[:16]


class AssetStore:
    """The files under the mounted directories, by URL prefix (`/static`, `/vendor/leaflet` ...)."""

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir
        self.roots: dict[str, Path] = {}
        self._assets: dict[Path, Asset] = {}

    def add_root(self, prefix: str, directory: Path) -> None:
        self.roots[prefix] = directory.resolve()

    def load(self, path: Path, st: os.stat_result | None = None) -> Asset:
        """The file as it is now (re-read only when its size or modification time changed)."""
        stamp = _stamp(st or path.stat())
        asset = self._assets.get(path)
        if asset is None or asset.stamp != stamp or any(_stamp_of(dep) != s for dep, s in asset.deps):
            body = path.read_bytes()
            deps: list[tuple[Path, tuple[int, int]]] = []
            if path.suffix == ".html":
                body = self.versioned_page(body, deps)
            asset = Asset(body, media_type_of(path), hashlib.sha256(body).hexdigest(), stamp, tuple(deps))
            self._assets[path] = asset
        return asset

    def file_for(self, url: str) -> Path | None:
        """The file behind an asset URL, if it lies inside one of the mounted directories."""
        for prefix, root in self.roots.items():
            if url.startswith(prefix + "/"):
                candidate = (root / url[len(prefix) + 1:]).resolve()
                if candidate.is_relative_to(root) and candidate.is_file():
                    return candidate
        return None

    def versioned_page(self, html: bytes, deps: list[tuple[Path, tuple[int, int]]]) -> bytes:
        """The page with each local asset reference carrying its content version."""

        def versioned(match: re.Match[str]) -> str:
            file = self.file_for(match["url"])
            if file is None or file.suffix == ".html":
                return match[0]
            asset = self.load(file)
            deps.append((file, asset.stamp))
            return f'{match["attr"]}="{match["url"]}?v={asset.version}"'

        return ASSET_REF.sub(versioned, html.decode("utf-8")).encode("utf-8")

    def variant(self, asset: Asset, coding: str) -> bytes:
        """The asset compressed with `coding`: from memory, else from the cache directory, else made now."""
        if coding not in asset.encoded:
            cached = self.cache_dir / f"{asset.digest}.{SUFFIX[coding]}"
            try:
                data = cached.read_bytes()
            except OSError:
                data = encode(asset.body, coding, best=True)
                _write_atomically(cached, data)
            asset.encoded[coding] = data
        return asset.encoded[coding]

    async def response(self, asset: Asset, request_headers: Headers, cache_control: str) -> Response:
        if compressible(asset.media_type, len(asset.body)):
            # The first compression of a large file (the Swagger UI bundle: ~0.5 s) runs off the event loop.
            for coding in accepted_codings(request_headers.get("accept-encoding"))[:1]:
                if coding not in asset.encoded:
                    await anyio.to_thread.run_sync(self.variant, asset, coding)
        return respond(request_headers, base_etag=asset.version, media_type=asset.media_type, body=asset.body,
                       variant=lambda coding: self.variant(asset, coding), cache_control=cache_control)

    def files(self) -> Iterator[tuple[str, Path]]:
        for prefix, root in self.roots.items():
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    yield f"{prefix}/{path.relative_to(root).as_posix()}", path


def _stamp(st: os.stat_result) -> tuple[int, int]:
    return st.st_mtime_ns, st.st_size


def _stamp_of(path: Path) -> tuple[int, int] | None:
    try:
        return _stamp(path.stat())
    except OSError:
        return None


def _write_atomically(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError:
        pass  # a read-only cache directory only costs compressing again after a restart


class AssetFiles(StaticFiles):
    """StaticFiles (its path checks) with validators, versioned caching and precompressed copies."""

    def __init__(self, directory: Path, store: AssetStore, revalidate_after: int) -> None:
        super().__init__(directory=directory)
        self.store = store
        self.revalidate = f"public, max-age={revalidate_after}"
        self._resolved: dict[str, Path] = {}

    async def get_response(self, path: str, scope: Scope) -> Response:
        if scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(status_code=405, headers={"Allow": "GET, HEAD"})
        full = self._resolved.get(path)
        st = _stat(full) if full is not None else None
        if st is None:
            self._resolved.pop(path, None)
            found, st = await anyio.to_thread.run_sync(self.lookup_path, path)
            if st is None or not stat.S_ISREG(st.st_mode):
                return await super().get_response(path, scope)
            full = Path(found)
            self._resolved[path] = full
        assert full is not None
        asset = self.store.load(full, st)
        version = QueryParams(scope.get("query_string", b"")).get("v")
        cache_control = IMMUTABLE if version == asset.version else self.revalidate
        return await self.store.response(asset, Headers(scope=scope), cache_control)


def _stat(path: Path) -> os.stat_result | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st if stat.S_ISREG(st.st_mode) else None


def build(store: AssetStore, out: Path) -> dict[str, int]:
    """Write every asset (and each page) under `out` with .gz and .br copies beside the compressible ones, for a
    reverse proxy to serve directly."""
    written = {"files": 0, "compressed": 0}
    for url, path in store.files():
        asset = store.load(path)
        target = out / url.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(asset.body)
        written["files"] += 1
        if compressible(asset.media_type, len(asset.body)):
            for coding, suffix in SUFFIX.items():
                target.with_name(f"{target.name}.{suffix}").write_bytes(store.variant(asset, coding))
            written["compressed"] += 1
    return written


class Page:
    """A page (HTML with versioned asset URLs) as a plain ASGI app."""

    def __init__(self, file: Path, store: AssetStore, cache_control: str) -> None:
        self.file = file
        self.store = store
        self.cache_control = cache_control

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.store.response(self.store.load(self.file), Headers(scope=scope), self.cache_control)
        await response(scope, receive, send)


class AssetShortcut:
    """Pages and assets answered before routing: they are most of a page visit's requests, and FastAPI's router
    would otherwise try every API route on each of them first (about half their cost, bench/public.py). The
    routes and mounts stay registered as well; this only takes the short way to the same handlers."""

    def __init__(self, app: ASGIApp, mounts: dict[str, ASGIApp], pages: dict[str, ASGIApp]) -> None:
        self.app = app
        self.mounts = mounts
        self.prefixes = tuple(prefix + "/" for prefix in mounts)
        self.pages = pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            path: str = scope["path"]
            page = self.pages.get(path)
            if page is not None:
                await page(scope, receive, send)
                return
            if path.startswith(self.prefixes):
                for prefix, target in self.mounts.items():
                    if path.startswith(prefix + "/"):
                        await target({**scope, "root_path": scope.get("root_path", "") + prefix}, receive, send)
                        return
        await self.app(scope, receive, send)
