"""The service's outermost ASGI layer: what every request and every answer gets, whatever the route.

* an unknown `Host` is refused (400), so no link or problem can reflect it (`settings.trusted_hosts`);
* control characters in the path or the query string are refused (422 naming the parameter) before any route
  sees them (bodies are checked by the models, `geoservice.schemas`);
* `HEAD` is answered on every `GET` route (the `GET` answer without its body);
* an unexpected error is a 500 problem, and the connection stays usable: the exception does not reach the
  server, which would close the connection after the answer (finding 7 of issue 10);
* the browser-hardening headers (`geoservice.api.csp`): a Content-Security-Policy on every HTML answer that has
  none of its own, `nosniff`, `Referrer-Policy`, `X-Frame-Options`; and `Cache-Control: private, no-store` with
  `Vary: Authorization` on every answer to a request carrying a token. Answers to requests without a token
  keep whatever `Cache-Control` their route set (none by default).

It is plain ASGI rather than Starlette's BaseHTTPMiddleware: it is on the path of every lookup, which takes
about a millisecond, and it costs a few microseconds there (one regular expression on the query string).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from geoservice import csp
from geoservice.api.problems import on_unexpected
from geoservice.errors import BadRequest, FieldError, InvalidInput
from geoservice.settings import Settings
from geoservice.textcheck import control_character

log = logging.getLogger("geoservice")

# A control character in a raw query string: percent-encoded C0 or DEL (%00-%1F, %7F), a C1 control in UTF-8
# (%C2%80-%C2%9F), or a raw byte (servers usually refuse those already).
_QUERY_CONTROL = re.compile(rb"%[01][0-9A-Fa-f]|%7[Ff]|%[Cc]2%[89][0-9A-Fa-f]|[\x00-\x1f\x7f]")
_PATH_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

NO_STORE = b"private, no-store"


class Hardening:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.allowed_hosts = settings.allowed_hosts()
        self.page_policy = csp.page_policy(settings).encode()
        self.always = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                       (b"x-frame-options", b"DENY")]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        with_token = False
        host = None
        for name, value in headers:
            if name == b"authorization":
                with_token = True
            elif name == b"host":
                host = value
        send = self._answering(send, with_token, scope["path"].startswith("/api/"))
        refusal = self._refusal(scope, host)
        if refusal is not None:
            await _send_problem(send, refusal, scope["path"], head=scope["method"] == "HEAD")
            return
        if scope["method"] == "HEAD":
            scope = {**scope, "method": "GET"}
            send = _without_body(send)
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:  # the answer is half sent: nothing better than letting the server drop the connection
                raise
            response = await on_unexpected(Request(scope), exc)
            await response(scope, receive, send)

    def _refusal(self, scope: Scope, host: bytes | None) -> BadRequest | InvalidInput | None:
        if host is not None and self.allowed_hosts is not None:
            name = _host_name(host)
            if name not in self.allowed_hosts:
                return BadRequest("the Host header names a host this service does not answer for",
                                  errors=[FieldError("Host", "not one of the configured trusted hosts",
                                                     {"in": "header"})])
        path: str = scope["path"]
        if _PATH_CONTROL.search(path):
            reason = control_character(path) or "contains a control character"
            return InvalidInput(f"path: {reason}", errors=[FieldError("path", reason, {"in": "path"})])
        query: bytes = scope.get("query_string", b"")
        if query and _QUERY_CONTROL.search(query):
            return _query_refusal(query)
        return None

    def _answering(self, send: Send, with_token: bool, api: bool) -> Send:
        always, page_policy = self.always, self.page_policy

        async def answering(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[tuple[bytes, bytes]] = []
                html = has_policy = False
                vary: bytes | None = None
                for name, value in message.get("headers", ()):
                    lower = name.lower()
                    if lower == b"server" or (with_token and lower == b"cache-control"):
                        continue  # no banner; a token answer's caching is decided below
                    if lower == b"vary":
                        vary = value
                        continue
                    if lower == b"content-type" and value.startswith(b"text/html"):
                        html = True
                    elif lower == b"content-security-policy":
                        has_policy = True
                    headers.append((name, value))
                headers.extend(always)
                if html and not has_policy:
                    headers.append((b"content-security-policy", page_policy))
                if with_token:
                    headers.append((b"cache-control", NO_STORE))
                if with_token or api:
                    vary = _vary_with(vary, b"Authorization")
                if vary is not None:
                    headers.append((b"vary", vary))
                message = {**message, "headers": headers}
            await send(message)

        return answering


def _host_name(host: bytes) -> str:
    """The host of a Host header value, lower case, without port or IPv6 brackets."""
    text = host.decode("latin-1").strip().lower()
    if text.startswith("["):
        return text[1:text.find("]")] if "]" in text else text
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


def _vary_with(vary: bytes | None, name: bytes) -> bytes:
    if not vary:
        return name
    if name.lower() in (v.strip().lower() for v in vary.split(b",")):
        return vary
    return vary + b", " + name


def _query_refusal(query: bytes) -> InvalidInput:
    errors = []
    for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True, encoding="utf-8",
                                errors="replace"):
        name = key if control_character(key) is None else repr(key)
        reason = control_character(key) or control_character(value)
        if reason:
            errors.append(FieldError(name, reason, {"in": "query"}))
    if not errors:  # a raw control byte parse_qsl dropped (e.g. in a pair without "=")
        errors = [FieldError("query", "contains a control character", {"in": "query"})]
    summary = "; ".join(f"{e.field}: {e.reason}" for e in errors[:5])
    return InvalidInput(summary, errors=errors)


async def _send_problem(send: Send, error: BadRequest | InvalidInput, path: str, head: bool) -> None:
    body = orjson.dumps(error.to_problem(path))
    await send({"type": "http.response.start", "status": error.status,
                "headers": [(b"content-type", b"application/problem+json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": b"" if head else body})


def _without_body(send: Send) -> Send:
    """A GET answer as the answer to HEAD: the same status and headers (Content-Length included), no body."""

    async def head_send(message: Message) -> None:
        if message["type"] == "http.response.body":
            if message.get("more_body", False):
                return
            message = {"type": "http.response.body", "body": b"", "more_body": False}
        await send(message)

    return head_send
