"""Public answers made once per change of the data or of the moment, and revalidated cheaply.

For a GET without Authorization under one of the configured prefixes (zones, reference areas, kinds, sectors,
search, the OGC API – Features documents but not their features), the answer depends on three things only: the code
and configuration (`generation`), the public data (the change counter of migration 0130) and the moment, through the
latest transition at or before now (a zone started, expired or entered its warning window: `PublicState.window`).
The first request for a URL in a given version renders it through the application; every later one is served from
memory, compressed once per coding, with a strong ETag derived from that version and `Cache-Control: public,
max-age=N`, where N is `public_max_age` but never beyond the next transition, so neither a browser nor a CDN keeps
showing a zone after it has expired. `If-None-Match` gets 304.

Requests with Authorization never come here (staff answers stay private; the security headers make them
`no-store`). A handler that sets its own ETag keeps it: such a URL is passed through untouched from then on. Only
200 answers without `no-store`/`private` and without cookies are kept. When the database cannot be reached the
request goes to the application as it is (which answers 503).

Consistency: the counter is read after the request arrived (`ChangeWatch`), and a rendering is kept only if the
counter and the time window were the same before and after it, so an answer is never stored under a version
older than its data. Two workers render the same version separately; their bodies differ at most in the
generation time stamp (`timeStamp`) and carry the same ETag.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from geoservice.api.representation import respond
from geoservice.compression import accepted_codings, compressible, encode
from geoservice.public_state import ChangeWatch, Version
from geoservice.settings import Settings

# Paths whose public answers are a function of (generation, public data, moment) and nothing else.
PUBLIC_PREFIXES = ("/api/v1/zones", "/api/v1/reference-areas", "/api/v1/kinds", "/api/v1/sectors",
                   "/api/v1/search", "/api/v1/config", "/ogc")
# OGC features are asked by bbox, datetime and filter, almost never twice alike (a client's view, a point
# query): keeping them only costs each answer two reads of the counter and its copy in memory (bench/ogc.py).
NOT_KEPT = re.compile(r"/ogc/collections/[^/]+/items(/|$)")
VARY = "Accept-Encoding, Accept, Authorization"
# Handler headers that describe the stored body or the caching, set again when it is sent.
REPLACED_HEADERS = {"content-length", "content-type", "content-encoding", "etag", "cache-control", "vary", "date",
                    "server"}
MAX_ENTRIES = 512
MAX_BYTES = 128_000_000
MAX_ENTRY_BYTES = 20_000_000
MAX_PASS_THROUGH_KEYS = 10_000

Key = tuple[str, bytes, str, str]


def generation(settings: Settings) -> str:
    """The code, the rules in layers/ and the settings: a change of any of them changes every ETag."""
    digest = hashlib.blake2b(digest_size=16)
    package = Path(__file__).resolve().parent.parent
    for root, patterns in ((package, ("*.py", "*.sql")), (settings.layers_dir, ("*",))):
        for pattern in patterns:
            for path in sorted(root.rglob(pattern)):
                if path.is_file():
                    digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(settings.model_dump_json().encode())
    return digest.hexdigest()


@dataclass
class Entry:
    version: Version
    base_etag: str
    media_type: str
    body: bytes
    extra: dict[str, str]
    encoded: dict[str, bytes] = field(default_factory=dict)

    def variant(self, coding: str) -> bytes:
        if coding not in self.encoded:
            self.encoded[coding] = encode(self.body, coding)
        return self.encoded[coding]


@dataclass
class Captured:
    status: int = 500
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)

    def header(self, name: bytes) -> str | None:
        for key, value in self.headers:
            if key.lower() == name:
                return value.decode("latin-1")
        return None

    def response(self) -> Response:
        body = b"".join(self.chunks)
        response = Response(body, status_code=self.status)
        response.raw_headers = [(k, v) for k, v in self.headers if k.lower() != b"content-length"]
        response.raw_headers.append((b"content-length", str(len(body)).encode()))
        return response


class PublicCache:
    def __init__(self, app: ASGIApp, settings: Settings, prefixes: tuple[str, ...] = PUBLIC_PREFIXES) -> None:
        self.app = app
        self.prefixes = prefixes
        self.max_age = settings.public_max_age
        self.generation = generation(settings)
        self.entries: OrderedDict[Key, Entry] = OrderedDict()
        self.bytes = 0
        self.flights: dict[Key, tuple[Version, asyncio.Future[Entry | Captured]]] = {}
        # URLs whose handler sets its own ETag (issue 9's per-zone ETag): not ours to cache.
        self.pass_through: set[Key] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] != "GET" or not scope["path"].startswith(self.prefixes)
                or NOT_KEPT.match(scope["path"])):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        watch: ChangeWatch | None = getattr(scope["app"].state, "public_watch", None)
        key: Key = (scope["path"], scope["query_string"], headers.get("host", ""), headers.get("accept", ""))
        if "authorization" in headers or watch is None or key in self.pass_through:
            await self.app(scope, receive, send)
            return
        state = await watch.current()
        if state is None:  # the database cannot be reached: the application answers (503)
            await self.app(scope, receive, send)
            return
        now = time.time()
        upcoming = state.window(now)[1]
        version = state.version(now)
        entry = self.entries.get(key)
        if entry is not None and entry.version == version:
            self.entries.move_to_end(key)
        else:
            made = await self._render_once(scope, receive, key, version, watch)
            if isinstance(made, Captured):
                await made.response()(scope, receive, send)
                return
            entry = made
        max_age = self.max_age if upcoming is None else min(self.max_age, max(0, math.floor(upcoming - now)))
        if compressible(entry.media_type, len(entry.body)):
            for coding in accepted_codings(headers.get("accept-encoding"))[:1]:
                if coding not in entry.encoded:
                    await anyio.to_thread.run_sync(entry.variant, coding)
        response = respond(headers, base_etag=entry.base_etag, media_type=entry.media_type, body=entry.body,
                           variant=entry.variant, cache_control=f"public, max-age={max_age}", vary=VARY,
                           extra=entry.extra)
        await response(scope, receive, send)

    async def _render_once(self, scope: Scope, receive: Receive, key: Key, version: Version,
                           watch: ChangeWatch) -> Entry | Captured:
        """One rendering per key and version however many requests ask at once (a news spike after a change)."""
        flight = self.flights.get(key)
        if flight is not None and flight[0] == version:
            return await asyncio.shield(flight[1])
        future: asyncio.Future[Entry | Captured] = asyncio.get_running_loop().create_future()
        self.flights[key] = (version, future)
        try:
            made = await self._render(scope, receive, key, version, watch)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody else needs to
            raise
        finally:
            if self.flights.get(key, (None, None))[1] is future:
                del self.flights[key]
        future.set_result(made)
        return made

    async def _render(self, scope: Scope, receive: Receive, key: Key, version: Version,
                      watch: ChangeWatch) -> Entry | Captured:
        captured = await self._capture(scope, receive)
        cache_control = (captured.header(b"cache-control") or "").lower()
        if captured.header(b"etag") is not None:
            if len(self.pass_through) < MAX_PASS_THROUGH_KEYS:
                self.pass_through.add(key)
            return captured
        if (captured.status != 200 or "no-store" in cache_control or "private" in cache_control
                or captured.header(b"set-cookie") is not None):
            return captured
        body = b"".join(captured.chunks)
        after = await watch.current()
        if after is None or after.version(time.time()) != version or len(body) > MAX_ENTRY_BYTES:
            # The data or the moment moved while rendering: this answer belongs to no single version.
            return captured
        entry = Entry(version, self._etag(key, version), captured.header(b"content-type") or "application/json",
                      body, {k.decode("latin-1"): v.decode("latin-1") for k, v in captured.headers
                             if k.lower().decode("latin-1") not in REPLACED_HEADERS})
        self._store(key, entry)
        return entry

    async def _capture(self, scope: Scope, receive: Receive) -> Captured:
        """The application's answer in identity coding, whatever this client accepts or already holds."""
        dropped = (b"accept-encoding", b"if-none-match", b"if-modified-since")
        inner = dict(scope, headers=[(k, v) for k, v in scope["headers"] if k.lower() not in dropped])
        captured = Captured()

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured.status = message["status"]
                captured.headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                captured.chunks.append(message.get("body", b""))

        await self.app(inner, receive, capture)
        return captured

    def _etag(self, key: Key, version: Version) -> str:
        path, query, host, accept = key
        text = (f"{self.generation}|{version[0]}|{version[1]}|{version[2]!r}|{host}|{path}"
                f"?{query.decode('latin-1')}|{accept}")
        return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()

    def _store(self, key: Key, entry: Entry) -> None:
        old = self.entries.pop(key, None)
        if old is not None:
            self.bytes -= len(old.body)
        self.entries[key] = entry
        self.bytes += len(entry.body)
        while self.entries and (len(self.entries) > MAX_ENTRIES or self.bytes > MAX_BYTES):
            _, evicted = self.entries.popitem(last=False)
            self.bytes -= len(evicted.body)
