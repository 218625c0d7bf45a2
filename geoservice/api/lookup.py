"""/api/v1/lookup: what applies at a point at a moment (data.police.uk's "locate neighbourhood", for every
zone kind and any moment)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from geoservice import timeutil
from geoservice.access import zone_filter
from geoservice.api.deps import AtQuery, DbDep, PrincipalDep, parse_time_param
from geoservice.db import query
from geoservice.geometry import check_point_in_denmark

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
    check_point_in_denmark(lon, lat)
    access = zone_filter(principal)
    params = {
        "lon": lon,
        "lat": lat,
        "t": moment or timeutil.now(),
        "visibilities": list(access.visibilities),
        "restricted_kreds": access.restricted_politikreds,
    }
    async with db.connection() as conn:
        cur = await conn.execute(query("lookup"), params)
        row = await cur.fetchone()
    assert row is not None
    return Response(row["body"], media_type="application/json")
