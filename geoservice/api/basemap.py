"""The street map's tiles, through our own caching proxy (geoservice/basemap.py): the browser asks only us."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from geoservice.api.answers import PNG_OR_JPEG, ok
from geoservice.basemap import TileProxy
from geoservice.errors import NotFound

router = APIRouter(tags=["basemap"])

TileCoord = Annotated[int, Path(ge=0, le=4_194_303)]


@router.get("/basemap/tiles/{z}/{x}/{y}", summary="A street-map tile from the configured upstream, cached on disk",
            response_class=Response, responses=ok(("image/png", PNG_OR_JPEG), ("image/jpeg", PNG_OR_JPEG),
                                                  description="The tile, as the upstream gave it"))
async def tile(request: Request, z: Annotated[int, Path(ge=0, le=22)], x: TileCoord, y: TileCoord) -> Response:
    proxy: TileProxy | None = request.app.state.tiles
    if proxy is None:
        raise NotFound("no street map is configured (GEOSERVICE_TILE_UPSTREAM); the map uses its own outlines")
    found, from_cache = await proxy.tile(z, x, y)
    return Response(found.content, media_type=found.media_type, headers={
        "Cache-Control": "public, max-age=86400",
        "X-Cache": "HIT" if from_cache else "MISS",
    })
