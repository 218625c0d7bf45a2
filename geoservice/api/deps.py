"""Typed dependencies shared by the handlers: the database, the caller's role and common parameters."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Coroutine
from functools import lru_cache
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.responses import Response

from geoservice import timeutil
from geoservice.access import PUBLIC, Principal, Role, hash_token
from geoservice.api.query_params import refuse_unknown
from geoservice.api.throttle import AuthThrottle
from geoservice.db import Database
from geoservice.errors import FieldError, InvalidInput, Unauthorized
from geoservice.settings import Settings
from geoservice.store.users import user_for_token

# Dependencies are `async def` even when they do not await: FastAPI runs plain `def` dependencies in a
# thread pool, which costs more than the lookup query itself.


async def get_db(request: Request) -> Database:
    return request.app.state.db


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


DbDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


async def get_principal(
    request: Request,
    authorization: Annotated[str | None, Header(description="Bearer <token>; none for the public")] = None,
) -> Principal:
    # The database is taken from the app only when there is a token to check: public requests (the
    # lookup's hot path) resolve no sub-dependency.
    if authorization is None:
        return PUBLIC
    throttle: AuthThrottle = request.app.state.auth_throttle
    client = request.client.host if request.client else "unknown"
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    digest = hash_token(token)
    # an address that failed too often gets 429 without a database lookup (unless the token was accepted before)
    throttle.check(client, digest)
    if scheme.lower() != "bearer" or not token:
        throttle.failed(client)
        raise Unauthorized("the Authorization header must be 'Bearer <token>'")
    db: Database = request.app.state.db
    async with db.connection() as conn:
        user = await user_for_token(conn, digest)
    if user is None:
        throttle.failed(client)
        raise Unauthorized("the token is unknown, revoked or expired")
    throttle.accepted(digest)
    return Principal(
        role=Role(user["role"]),
        user_id=user["id"],
        username=user["username"],
        politikreds_code=user["politikreds_code"],
        sector_code=user["sector_code"],
    )


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def principal_of(request: Request) -> Principal:
    """The caller, for handlers that take the bare request (see `QueryModel`)."""
    return await get_principal(request, request.headers.get("authorization"))


class QueryModel(BaseModel):
    """Query parameters of a hot path as one compiled pydantic model.

    FastAPI re-inspects the annotation of every declared parameter on every request; on the lookup that costs
    about a fifth of the whole request (bench/lookup.py). A handler on such a path is a `BareRoute`: it takes
    the bare `Request`, validates the query string with `parse_query` (same 422 problems as FastAPI's) and
    documents the parameters with `openapi_parameters`."""

    model_config = ConfigDict(extra="ignore", frozen=True)


Q = TypeVar("Q", bound=QueryModel)


@lru_cache(maxsize=64)
def _model_params(model: type[QueryModel]) -> frozenset[str]:
    return frozenset(f.alias or name for name, f in model.model_fields.items())


def parse_query(model: type[Q], request: Request, repeatable: tuple[str, ...] = ()) -> Q:
    """The query string as `model`; a parameter named in `repeatable` may be given more than once (a list)."""
    refuse_unknown(request.query_params.keys(), _model_params(model))
    values: dict[str, Any] = dict(request.query_params)
    for name in repeatable:
        if name in values:
            values[name] = request.query_params.getlist(name)
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("query", *error["loc"])} for error in exc.errors(include_url=False)]) from None


def path_text(request: Request, name: str, max_length: int) -> str:
    """A path parameter of a BareRoute, checked as FastAPI checks a declared one (same 422)."""
    value = request.path_params[name]
    if len(value) > max_length:
        raise RequestValidationError([{"type": "string_too_long", "loc": ("path", name), "input": value,
                                       "msg": f"String should have at most {max_length} characters",
                                       "ctx": {"max_length": max_length}}])
    return value


class BareRoute(APIRoute):
    """A route whose endpoint takes only the `Request` and returns a `Response`: documented by FastAPI like any
    other (with `openapi_parameters`), but served without its dependency solving, which costs about 0.1 ms per
    request even with nothing to solve (bench/lookup.py). Errors still map to problems in one place."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        return self.endpoint


def openapi_parameters(model: type[QueryModel]) -> dict[str, Any]:
    """The model's fields as OpenAPI query parameters (for `openapi_extra`)."""
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        description = prop.pop("description", None)
        examples = prop.pop("examples", None)
        prop.pop("title", None)
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            parameter["description"] = description
        if examples:
            parameter["example"] = examples[0]
        parameters.append(parameter)
    return {"parameters": parameters}

# A '+' in an unencoded query string arrives as a space: "2025-09-01T16:00:00 02:00".
_SPACE_OFFSET = re.compile(r"^(\d{4}-\d{2}-\d{2}T[\d:.]+) (\d{2}:?\d{2})$")


def parse_time_param(value: str | None, name: str) -> dt.datetime | None:
    if value is None or value == "":
        return None
    fixed = _SPACE_OFFSET.sub(r"\1+\2", value.strip())
    return timeutil.parse_instant(fixed, name)


# Paging offsets are bounded like every integer the service takes: a 20-digit offset is a 422, not an overflow.
MAX_OFFSET = 2_147_483_647
OffsetQuery = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Skip this many items (paging)")]

# What the OpenAPI document promises for a time parameter: empty (the default), a date, or a date and time with
# an offset, years 1900-2199 (timeutil.MIN_YEAR, MAX_YEAR). Documented, not enforced here: the parser also takes
# a local time without offset (refusing the ones summer time makes missing or ambiguous) and names what is wrong.
INSTANT_PATTERN = (r"^$|^(19|20|21)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"
                   r"(T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?(Z|[+-](0[0-9]|1[0-3]):[0-5][0-9]))?$")


def instant_query(description: str, alias: str | None = None) -> Any:
    """A time query parameter (parsed by `parse_time_param`)."""
    return Query(alias=alias, description=description + "; ISO 8601, Copenhagen time when without offset",
                 examples=["2025-09-01T16:00:00+02:00"], json_schema_extra={"pattern": INSTANT_PATTERN})


AtQuery = Annotated[str | None, instant_query("Moment; default now")]


async def at_param(at: AtQuery = None) -> dt.datetime | None:
    return parse_time_param(at, "at")


AtDep = Annotated[dt.datetime | None, Depends(at_param)]


def codes_of(values: str, many: bool = True) -> dict[str, str]:
    """`json_schema_extra` for a parameter that takes codes from layers/ (`many`: comma-separated, as parsed by
    `parse_csv`); geoservice.api.openapi writes them into the document as an enum or a pattern."""
    return {"x-codes-of": values, "x-many": "yes" if many else "no"}


def parse_csv(value: str | None) -> list[str] | None:
    if not value:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    return items or None


def parse_point(value: str | None, field: str) -> tuple[float, float] | None:
    """'lon,lat' in EPSG:4326, or None."""
    if not value:
        return None
    try:
        lon, lat = (float(p) for p in value.split(","))
    except ValueError:
        raise InvalidInput(f"{field} must be lon,lat", errors=[FieldError(field, "expected two numbers: lon,lat")]
                           ) from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90) or lon != lon or lat != lat:
        raise InvalidInput(f"{field} is not a longitude/latitude",
                           errors=[FieldError(field, "outside -180..180, -90..90")])
    return lon, lat


_LON = r"-?(180(\.0+)?|(1[0-7][0-9]|[0-9]{1,2})(\.[0-9]+)?)"
_LAT = r"-?(90(\.0+)?|[0-8]?[0-9](\.[0-9]+)?)"
# What the document states a bbox is (`parse_bbox` also takes exponents and spaces); that the minimum comes before
# the maximum no pattern can say.
BBOX_PATTERN = f"^$|^{_LON},{_LAT},{_LON},{_LAT}$"
POINT_PATTERN = f"^$|^{_LON},{_LAT}$"


def point_query(description: str) -> Any:
    return Query(description=description, json_schema_extra={"pattern": POINT_PATTERN})


def bbox_query(description: str = "minlon,minlat,maxlon,maxlat (EPSG:4326)") -> Any:
    return Query(description=description, json_schema_extra={"pattern": BBOX_PATTERN})


def parse_bbox(value: str | None) -> tuple[float, float, float, float] | None:
    if not value:
        return None
    parts = value.split(",")
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        nums = []
    if len(nums) != 4:
        raise InvalidInput("bbox must be minlon,minlat,maxlon,maxlat",
                           errors=[FieldError("bbox", "expected four numbers: minlon,minlat,maxlon,maxlat")])
    x0, y0, x1, y1 = nums
    if not (-180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= 90 and -90 <= y1 <= 90):
        raise InvalidInput("bbox is not in longitude/latitude",
                           errors=[FieldError("bbox", "coordinates must be EPSG:4326 longitude/latitude")])
    if x0 > x1 or y0 > y1:
        raise InvalidInput("bbox corners are in the wrong order",
                           errors=[FieldError("bbox", "expected minlon,minlat,maxlon,maxlat (min before max)")])
    return x0, y0, x1, y1
