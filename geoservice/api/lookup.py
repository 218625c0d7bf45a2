"""/api/v1/lookup: what applies at a point at a moment (data.police.uk's "locate neighbourhood", for every
zone kind and any moment)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import Field
from starlette.responses import Response

from geoservice import sectors
from geoservice.api.answers import JSON, Lookup, ok
from geoservice.api.deps import (
    INSTANT_PATTERN,
    BareRoute,
    QueryModel,
    openapi_parameters,
    parse_query,
    parse_time_param,
    principal_of,
)
from geoservice.schemas import Latitude, Longitude

router = APIRouter(prefix="/api/v1", tags=["lookup"], route_class=BareRoute)


class LookupQuery(QueryModel):
    lat: Latitude
    lon: Longitude
    at: str | None = Field(None, description="Moment, ISO 8601 (with offset, or Copenhagen local time); "
                           "default now", examples=["2025-09-01T16:00:00+02:00"],
                           json_schema_extra={"pattern": INSTANT_PATTERN})


# The hottest path: a BareRoute with one compiled query model instead of FastAPI's per-parameter
# dependencies (see QueryModel); the parameters are still documented in /docs.
@router.get("/lookup", summary="Zones in force, patrol sector, politikreds and kommune at a point and time",
            openapi_extra={**openapi_parameters(LookupQuery), "x-reads-token": True}, responses=ok((JSON, Lookup)))
async def lookup(request: Request) -> Response:
    query = parse_query(LookupQuery, request)
    principal = await principal_of(request)
    moment = parse_time_param(query.at, "at")
    body = await sectors.lookup(request.app.state.db, principal, query.lon, query.lat, moment,
                                request.app.state.public_lookup)
    return Response(body, media_type="application/json")
