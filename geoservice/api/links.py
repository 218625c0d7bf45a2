"""Absolute links the service hands out (paging links, and any later `links` of OGC API answers).

They are built on the configured public base URL (`GEOSERVICE_PUBLIC_URL`) when there is one, and otherwise on
the request's own URL, whose Host the hardening layer has already checked against the trusted hosts: a Host
header sent by a client is never reflected into a link.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request


def request_url(request: Request, **replace: Any) -> str:
    """This request's absolute URL, with the query parameters in `replace` set to new values."""
    url = request.url.include_query_params(**replace) if replace else request.url
    public: str | None = request.app.state.settings.public_url
    if public is None:
        return str(url)
    return public + url.path + (f"?{url.query}" if url.query else "")


def absolute(request: Request, path: str) -> str:
    """An absolute URL for a path of this service (e.g. /api/v1/zones/12)."""
    public: str | None = request.app.state.settings.public_url
    base = public if public is not None else str(request.base_url).rstrip("/")
    return base + path
