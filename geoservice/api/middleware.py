"""Plain ASGI middleware: request body size limit, compression where responses are large, standby reads."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from geoservice.db import read_only_request
from geoservice.errors import PayloadTooLarge

BODY_METHODS = {"POST", "PUT", "PATCH"}


class BodySizeLimit:
    """Refuse bodies over the limit with 413 before reading them when Content-Length says so, and while
    reading otherwise. Paths under `upload_prefixes` get the (larger) upload limit."""

    def __init__(self, app: ASGIApp, max_bytes: int, upload_max_bytes: int, upload_prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_max_bytes = upload_max_bytes
        self.upload_prefixes = upload_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = self.upload_max_bytes if path.startswith(self.upload_prefixes) else self.max_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, path, declared, limit)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # An HTTPException passes through FastAPI's body parsing to the problem handler.
                    raise HTTPException(413, _detail(received, limit, streamed=True))
            return message

        await self.app(scope, limited_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _detail(size: int, limit: int, streamed: bool = False) -> str:
    what = f"more than {limit:,} bytes" if streamed else f"{size:,} bytes"
    return f"the request body is {what}; the limit here is {limit:,} bytes"


async def _refuse(send: Send, path: str, size: int, limit: int) -> None:
    problem: dict[str, Any] = PayloadTooLarge(_detail(size, limit)).to_problem(path)
    body = orjson.dumps(problem)
    # The connection stays open: the server discards the unread body, and the client's next request on the same
    # connection is answered (closing it here cut off clients that pipeline or reuse connections).
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/problem+json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class GZipFor:
    """Gzip only under the given path prefixes (GeoJSON layers, web assets). Small JSON answers such as the
    lookup skip the compression machinery entirely; it costs more than they would save."""

    def __init__(self, app: ASGIApp, prefixes: tuple[str, ...], minimum_size: int = 1024) -> None:
        self.app = app
        self.prefixes = prefixes
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.prefixes):
            await self.gzip(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class HeadAsGet:
    """HEAD on every GET route (RFC 9110: the same headers as GET, no body). FastAPI routes answer only the
    methods they declare, so without this a HEAD was 405 and clients that ask HEAD first (GDAL's /vsicurl/)
    gave up."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)

class StandbyReads:
    """Mark GET requests without Authorization under `prefixes` as reading public data only, so their queries may
    use the standby pool (GEOSERVICE_READ_DATABASE_URL). Only paths whose handlers never write belong here: the
    public overlay tables, for instance, are written at their first request and must reach the primary."""

    def __init__(self, app: ASGIApp, prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] not in ("GET", "HEAD")
                or not scope["path"].startswith(self.prefixes)
                or any(name == b"authorization" for name, _ in scope["headers"])):
            await self.app(scope, receive, send)
            return
        token = read_only_request.set(True)
        try:
            await self.app(scope, receive, send)
        finally:
            read_only_request.reset(token)
