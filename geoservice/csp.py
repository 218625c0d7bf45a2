"""Content-Security-Policy values: one strict policy for the pages, and a policy per generated document that
lets exactly its own inline scripts run (by their SHA-256 hashes) and nothing else.

The pages (/, /officer, /analyst, /legal) load only files from the service: no inline script runs, no plugin,
no `<base>`, no framing, forms post only here. Style attributes stay allowed (`style-src-attr`): the pages and
Leaflet set some, and a style attribute cannot run code. The tile layer's origin is added to `img-src` only when
an online base layer is configured (`GEOSERVICE_TILE_URL`).
"""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlsplit

from geoservice.settings import Settings

_INLINE_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.S | re.I)
_SRC_ATTRIBUTE = re.compile(r"\bsrc\s*=", re.I)

_LOCKED = {"object-src": "'none'", "base-uri": "'none'", "frame-ancestors": "'none'"}


def render(directives: dict[str, str]) -> str:
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def page_policy(settings: Settings) -> str:
    img = "'self' data:"
    if settings.tile_url and (origin := _origin(settings.tile_url)):
        img += " " + origin
    return render({
        "default-src": "'self'", "script-src": "'self'", "style-src": "'self'", "style-src-attr": "'unsafe-inline'",
        "img-src": img, "connect-src": "'self'", "font-src": "'self'", **_LOCKED, "form-action": "'self'",
    })


def script_hashes(document: str) -> list[str]:
    """CSP sources ('sha256-...') for every inline <script> of an HTML document."""
    hashes = []
    for attributes, body in _INLINE_SCRIPT.findall(document):
        if _SRC_ATTRIBUTE.search(attributes):
            continue
        digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii")
        hashes.append(f"'sha256-{digest}'")
    return sorted(set(hashes))


def self_contained_policy(document: str, meta: bool = False) -> str:
    """For a document that carries everything inline (the folium export): its own scripts by hash, inline
    styles and data: images; no request anywhere (it must open offline), no plugin, no form, no framing.
    `meta`: the policy for a <meta> element inside the document, which protects the saved file too (browsers
    ignore frame-ancestors there, and warn about it)."""
    directives = {
        "default-src": "'none'", "script-src": " ".join(script_hashes(document)) or "'none'",
        "style-src": "'unsafe-inline'", "img-src": "data:", **_LOCKED, "form-action": "'none'",
    }
    if meta:
        del directives["frame-ancestors"]
    return render(directives)


def with_meta_policy(document: str) -> str:
    """The HTML document with its self-contained policy as the first element of <head>."""
    head = re.search(r"<head[^>]*>", document, re.I)
    if head is None:
        raise ValueError("the document has no <head>")
    meta = f'<meta http-equiv="Content-Security-Policy" content="{self_contained_policy(document, meta=True)}">'
    return document[:head.end()] + meta + document[head.end():]


def docs_policy(document: str) -> str:
    """Swagger UI: its files from the service, its one inline start-up script by hash, the OpenAPI document
    fetched from here."""
    return render({
        "default-src": "'self'", "script-src": " ".join(["'self'", *script_hashes(document)]),
        "style-src": "'self'", "style-src-attr": "'unsafe-inline'", "img-src": "'self' data:",
        "connect-src": "'self'", **_LOCKED, "form-action": "'self'",
    })


def _origin(url: str) -> str | None:
    """The origin of a tile URL template (https://{s}.tile.example.org/{z}/{x}/{y}.png → https://*.tile.example.org)."""
    parts = urlsplit(url)
    host = re.sub(r"\{[^}]*\}", "*", parts.netloc)
    return f"{parts.scheme}://{host}" if parts.scheme in ("http", "https") and host else None
