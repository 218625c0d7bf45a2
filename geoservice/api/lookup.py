"""/api/v1/lookup: what applies at a point at a moment (data.police.uk's "locate neighbourhood", for every
zone kind and any moment)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from geoservice import sectors
from geoservice.api.deps import AtQuery, DbDep, PrincipalDep, parse_time_param

router = APIRouter(prefix="/api/v1", tags=["lookup"])


@router.get("/lookup", summary="Zones in force, patrol sector, politikreds and kommune at a point and time")
async def lookup(
    db: DbDep,
    principal: PrincipalDep,
    lat: Annotated[float, Query(ge=-90, le=90, description="Latitude, EPSG:4326")],
    lon: Annotated[float, Query(ge=-180, le=180, description="Longitude, EPSG:4326")],
    at: AtQuery = None,
) -> Response:
    # `at` is parsed here rather than by a dependency: this is the hot path, and every dependency costs.
    moment = parse_time_param(at, "at")
    return Response(await sectors.lookup(db, principal, lon, lat, moment), media_type="application/json")
