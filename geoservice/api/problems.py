"""Every error leaves the service as an RFC 9457 problem document, mapped here and only here."""

from __future__ import annotations

import logging
from typing import Any

import orjson
import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import compile_path

from geoservice.errors import PROBLEM_BASE, GeoserviceError, ServiceUnavailable

log = logging.getLogger("geoservice")

PROBLEM_MEDIA_TYPE = "application/problem+json"


def problem_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        where, rest = parts[0], parts[1:]
        return ".".join(rest) if where == "body" and rest else ".".join(rest) or where
    return ".".join(parts)


def _reason(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    return str(error.get("msg", "invalid value"))


async def on_geoservice_error(request: Request, exc: GeoserviceError) -> Response:
    if exc.status >= 500:
        log.error("%s: %s", exc.title, exc.detail)
    return problem_response(exc.status, exc.to_problem(request.url.path), exc.headers)


async def on_validation_error(request: Request, exc: RequestValidationError) -> Response:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        first = next(e for e in errors if e.get("type") == "json_invalid")
        detail = f"the body is not valid JSON: {first.get('ctx', {}).get('error', first.get('msg'))}"
        return problem_response(
            400,
            {"type": PROBLEM_BASE + "malformed-json", "title": "Malformed JSON", "status": 400,
             "detail": detail, "instance": request.url.path,
             "errors": [{"field": "body", "reason": detail}]},
        )
    fields = []
    for e in errors:
        loc = tuple(e.get("loc", ()))
        fields.append({"field": _field_path(loc), "reason": _reason(e), "in": str(loc[0]) if loc else "body"})
    summary = "; ".join(f"{f['field']}: {f['reason']}" for f in fields[:5])
    return problem_response(
        422,
        {"type": PROBLEM_BASE + "invalid-input", "title": "Invalid input", "status": 422,
         "detail": summary, "instance": request.url.path, "errors": fields},
    )


async def on_http_exception(request: Request, exc: StarletteHTTPException) -> Response:
    titles = {404: "Not found", 405: "Method not allowed", 401: "Authentication required",
              413: "Request body too large"}
    slugs = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large"}
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no resource at {request.url.path}"
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
        if request.method == "DELETE" and request.url.path.startswith("/api/v1/zones/"):
            detail += "; zones are never deleted: revoke with POST /api/v1/zones/{id}/revoke"
        headers = {**(headers or {}), "Allow": _allowed_methods(request)}
    return problem_response(
        exc.status_code,
        {"type": PROBLEM_BASE + slugs.get(exc.status_code, f"http-{exc.status_code}"),
         "title": titles.get(exc.status_code, "HTTP error"), "status": exc.status_code, "detail": detail,
         "instance": request.url.path},
        headers=headers,
    )


def _allowed_methods(request: Request) -> str:
    """Every method some route answers on this path (the router names only the first route that matched the
    path, so a GET route would hide the PATCH beside it); HEAD wherever GET is (geoservice.api.hardening)."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        if route.path and route.methods and compile_path(route.path)[0].match(request.url.path):
            methods |= route.methods
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


async def on_integrity_error(request: Request, exc: psycopg.errors.IntegrityError) -> Response:
    # The domain checks come first; this catches what only the database can see (e.g. a concurrent write).
    detail = exc.diag.message_primary or "the change conflicts with data already stored"
    return problem_response(
        409,
        {"type": PROBLEM_BASE + "conflict", "title": "Conflict with the current state", "status": 409,
         "detail": detail, "instance": request.url.path},
    )


def database_unavailable(request: Request, exc: Exception) -> Response:
    """503 with Retry-After for a database that is down, restarting or failing over: a connection the server
    closed (AdminShutdown, a lost connection), none to be had within db_timeout (PoolTimeout), or a write that
    reached a server which is no longer the primary (read-only transaction). The pool replaces the connection;
    the client may retry. A write that got this answer may or may not have been committed."""
    reason = " ".join(str(exc).split())[:300] or type(exc).__name__
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, reason)
    settings = request.app.state.settings
    retry_after = str(settings.db_retry_after)
    if isinstance(exc, PoolTimeout):
        what = (f"no database connection became free within {settings.db_timeout:g} s (the database is unreachable "
                f"or every connection is busy)")
    else:
        what = f"the database cannot be reached right now ({type(exc).__name__})"
    problem = ServiceUnavailable(f"{what}; try again in {retry_after} s")
    return problem_response(503, problem.to_problem(request.url.path), {"Retry-After": retry_after})


async def on_operational_error(request: Request, exc: psycopg.OperationalError) -> Response:
    return database_unavailable(request, exc)


async def on_read_only_transaction(request: Request, exc: psycopg.errors.ReadOnlySqlTransaction) -> Response:
    return database_unavailable(request, exc)


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem_response(
        500,
        {"type": PROBLEM_BASE + "internal-error", "title": "Internal error", "status": 500,
         "detail": "the service failed to answer; the error is logged", "instance": request.url.path},
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(GeoserviceError, on_geoservice_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, on_validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, on_http_exception)  # type: ignore[arg-type]
    app.add_exception_handler(psycopg.errors.IntegrityError, on_integrity_error)  # type: ignore[arg-type]
    app.add_exception_handler(psycopg.OperationalError, on_operational_error)  # type: ignore[arg-type]
    app.add_exception_handler(psycopg.errors.ReadOnlySqlTransaction, on_read_only_transaction)  # type: ignore[arg-type]
    # Anything else is answered by geoservice.api.hardening (with on_unexpected): an exception handler for
    # Exception would run in Starlette's outermost middleware, which re-raises after answering, and the server
    # then closes the connection.
