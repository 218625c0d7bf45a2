"""A query parameter a route does not take is a 400 naming it, on every route (OGC API – Features Part 1,
/req/core/query-param-unknown, and the same rule for /api/v1): `datetime`, `filter` or `crs` sent to a route that
does not know them must not be silently ignored, which would answer a different question than the one asked."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.requests import Request

from geoservice.errors import BadRequest, FieldError


def _names(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _names(sub)
    return names


def declared(route: APIRoute) -> frozenset[str]:
    """The query parameters a route takes: its own and its dependencies', or those it documents itself (a
    `BareRoute` validates its query string with one model and documents it in `openapi_extra`). Worked out once
    per route and kept on it."""
    known: frozenset[str] | None = getattr(route, "_declared_query", None)
    if known is None:
        extra = (route.openapi_extra or {}).get("parameters", [])
        known = frozenset(_names(route.dependant) | {p["name"] for p in extra if p.get("in") == "query"})
        route._declared_query = known  # type: ignore[attr-defined]
    return known


def refuse_unknown(names: Iterable[str], known: frozenset[str]) -> None:
    unknown = sorted(set(names) - known)
    if unknown:
        raise BadRequest(
            f"unknown query parameter(s): {', '.join(unknown)}",
            errors=[FieldError(name, "unknown or unsupported here; known: " + (", ".join(sorted(known)) or "none"))
                    for name in unknown])


async def reject_unknown_parameters(request: Request) -> None:
    """An app-wide dependency (geoservice.api.app); a BareRoute calls `refuse_unknown` itself."""
    route = request.scope.get("route")
    if isinstance(route, APIRoute):
        refuse_unknown(request.query_params.keys(), declared(route))
