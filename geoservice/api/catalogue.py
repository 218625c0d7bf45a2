"""Zone kinds (rules, meanings and styles from layers/) and the reference areas used as the base map."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from starlette.responses import Response

from geoservice.api.answers import GEOJSON, JSON, Config, Kinds, ReferenceCollection, ok
from geoservice.api.deps import DbDep, PrincipalDep, SettingsDep
from geoservice.basemap import TILE_PATH
from geoservice.layers import credits, get_layers
from geoservice.store import reference

router = APIRouter(prefix="/api/v1", tags=["catalogue"])


@router.get("/kinds", summary="Zone kinds with their rules, meaning and map style", response_model=None,
            responses=ok((JSON, Kinds)))
async def kinds(principal: PrincipalDep) -> dict:
    # Kinds that are never public (e.g. § 6 g exclusion zones) are not listed for the public either.
    visible = [r for r in get_layers().kinds.values() if not (principal.is_public and r.never_public)]
    return {
        "kinds": [
            {
                "code": r.code,
                "name": r.name.model_dump(),
                "meaning": r.meaning.model_dump(),
                "legal_basis": r.legal_basis,
                "max_period": r.max_period.model_dump(exclude_defaults=True) if r.max_period else None,
                "end_required": r.end_required,
                "warning_days": r.warning_days,
                "daily_window": r.daily_window.model_dump(mode="json") if r.daily_window else None,
                "public": not r.never_public,
                "default_visibility": r.default_visibility,
                "min_visibility": r.min_visibility,
                "style": r.style,
            }
            for r in visible
        ]
    }


@router.get("/reference-areas", summary="Politikredse, kommuner or bydele as GeoJSON (simplified for maps)",
            responses=ok((GEOJSON, ReferenceCollection)))
async def reference_areas(
    db: DbDep,
    area_type: Annotated[Literal["politikreds", "kommune", "bydel"], Query(alias="type")],
    simplify: Annotated[float, Query(ge=0, le=2000, description="Simplification tolerance, metres")] = 50,
) -> Response:
    async with db.connection() as conn:
        body = await reference.feature_collection(conn, area_type, simplify)
    return Response(body, media_type="application/geo+json")


@router.get("/config", summary="Settings the web pages need (street map, credits)", response_model=None,
            responses=ok((JSON, Config)))
async def config(settings: SettingsDep) -> dict:
    # the street map is our own proxy's path: the browser never learns, or asks, the upstream
    streets = bool(settings.basemap_upstream)
    return {
        "tile_url": TILE_PATH if streets else None,
        "tile_attribution": settings.tile_attribution if streets else None,
        "tile_max_zoom": settings.tile_max_zoom if streets else None,
        "address_search": bool(settings.geocoder_url),
        "credits": list(credits()),
    }
