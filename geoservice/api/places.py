"""Place search, Din Betjent sectors, the caller's identity, and static map exports."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Path, Query, Request
from starlette.responses import HTMLResponse, Response

from geoservice import csp, maps, search, timeutil
from geoservice import sectors as sectors_domain
from geoservice.api.answers import (
    GEOJSON,
    JSON,
    TEXT,
    Me,
    Search,
    SectorCollection,
    SectorDetail,
    ok,
)
from geoservice.api.deps import AtDep, DbDep, PrincipalDep, codes_of, parse_csv, parse_point, point_query
from geoservice.store import reference
from geoservice.zones import check_kinds

router = APIRouter(prefix="/api/v1", tags=["places"])

SectorCode = Annotated[str, Path(pattern=r"^[A-Z0-9-]{2,40}$", description="Sector code, e.g. KBH-CITY-01")]


@router.get("/search", summary="Place search: streets and addresses (configured geocoder), zones, sectors, "
                                 "stations, areas, places, coordinates",
            responses=ok((JSON, Search)))
async def place_search(
    request: Request,
    db: DbDep,
    principal: PrincipalDep,
    at: AtDep,
    q: Annotated[str, Query(min_length=1, max_length=100)],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    near: Annotated[str | None, point_query("lon,lat (EPSG:4326) of the map's centre: nearer places first")]
    = None,
) -> Response:
    answer = await search.search(db, principal, q, at, limit, near=parse_point(near, "near"),
                                 geocoder=request.app.state.geocoder)
    return Response(orjson.dumps({"query": q, **answer}), media_type="application/json")


@router.get("/me", summary="Who the token belongs to (role, politikreds, sector)", response_model=None,
            responses=ok((JSON, Me)))
async def me(principal: PrincipalDep) -> dict:
    return {"role": principal.role.value, "username": principal.username,
            "politikreds": principal.politikreds_code, "sector": principal.sector_code}


@router.get("/sectors", summary="Din Betjent sectors in force at a moment (GeoJSON)",
            responses=ok((GEOJSON, SectorCollection)))
async def sectors(
    db: DbDep,
    at: AtDep,
    simplify: Annotated[float, Query(ge=0, le=500)] = 10,
) -> Response:
    async with db.connection() as conn:
        body = await reference.sectors(conn, at or timeutil.now(), simplify)
    return Response(body, media_type="application/geo+json")


@router.get("/sectors/{code}", summary="A sector: boundary, station, officers, neighbours, zones in force and "
                                     "starting or ending in the coming days", responses=ok((JSON, SectorDetail)))
async def sector(
    db: DbDep,
    principal: PrincipalDep,
    at: AtDep,
    code: SectorCode,
    days: Annotated[int, Query(ge=0, le=90)] = 14,
    simplify: Annotated[float, Query(ge=0, le=500)] = 2,
) -> Response:
    result = await sectors_domain.sector_detail(db, principal, code, at, days, simplify)
    return Response(orjson.dumps(result), media_type="application/json")


@router.get("/maps/export.html", response_class=HTMLResponse, responses={**ok(("text/html", TEXT)), 404: {}},
            summary="A self-contained HTML map (folium) of the zones: a decision's map annex, a sector map")
async def export_map(
    db: DbDep,
    principal: PrincipalDep,
    at: AtDep,
    kind: Annotated[str | None, Query(description="Kind code(s), comma-separated",
                                      json_schema_extra=codes_of("kinds"))] = None,
    sector: Annotated[str | None, Query(pattern=r"^[A-Z0-9-]{2,40}$")] = None,
    zone: Annotated[int | None, Query(ge=1, le=2_147_483_647, description="One zone")] = None,
    download: bool = False,
) -> HTMLResponse:
    kinds = check_kinds(parse_csv(kind))
    document = await maps.export_map(db, principal, kinds=kinds, at=at, sector=sector, zone_id=zone)
    headers = {"Content-Security-Policy": csp.self_contained_policy(document)}
    if download:
        headers["Content-Disposition"] = 'attachment; filename="zonekort.html"'
    return HTMLResponse(document, headers=headers)
