"""/api/v1/zones: the zone store over HTTP."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Header, Path, Query, Request
from starlette.responses import Response

from geoservice import timeutil
from geoservice import zones as domain
from geoservice.api.answers import GEOJSON, ZoneCollection, ZoneFeature, ok
from geoservice.api.deps import (
    AtDep,
    DbDep,
    OffsetQuery,
    PrincipalDep,
    bbox_query,
    codes_of,
    instant_query,
    parse_bbox,
    parse_csv,
    parse_time_param,
)
from geoservice.api.links import request_url
from geoservice.api.preconditions import PreconditionsDep
from geoservice.geometry import crs_name_pattern
from geoservice.schemas import ZoneFeatureIn, ZoneFeatureReplace, ZonePatch
from geoservice.validity import published_as_of_moment
from geoservice.writes import WriteAnswer

router = APIRouter(prefix="/api/v1", tags=["zones"])


ZoneId = Annotated[int, Path(ge=1, le=2_147_483_647, description="Zone id")]
ContentCrs = Annotated[
    str | None,
    Header(alias="Content-Crs", json_schema_extra={"pattern": crs_name_pattern()},
           description="CRS of the body geometry, e.g. <http://www.opengis.net/def/crs/EPSG/0/25832>"),
]
Repair = Annotated[bool, Query(description="Repair an invalid boundary with make_valid and report the area change")]


def _json(text: str | bytes, status: int = 200, media_type: str = GEOJSON, headers: dict[str, str] | None = None
          ) -> Response:
    return Response(text, status_code=status, media_type=media_type, headers=headers)


@router.get(
    "/zones",
    summary="Zones as a GeoJSON FeatureCollection",
    responses=ok((GEOJSON, ZoneCollection), description="GeoJSON FeatureCollection (EPSG:4326)"),
)
async def list_zones(
    request: Request,
    db: DbDep,
    principal: PrincipalDep,
    at: AtDep,
    kind: Annotated[str | None, Query(description="Kind code(s), comma-separated",
                                      json_schema_extra=codes_of("kinds"))] = None,
    bbox: Annotated[str | None, bbox_query()] = None,
    status: Annotated[str | None, Query(description="Status(es) at `at` (or now), comma-separated: "
                                                    + ", ".join(domain.ZONE_STATUSES),
                                        json_schema_extra=codes_of("zone-statuses"))] = None,
    q: Annotated[str | None, Query(max_length=100, description="Name contains (case-insensitive)")] = None,
    published_as_of: Annotated[str | None, instant_query("Reconstruct the public map as it was then")] = None,
    simplify: Annotated[float, Query(ge=0, le=500, description="Simplify boundaries to this many metres")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: OffsetQuery = 0,
) -> Response:
    as_of = published_as_of_moment(published_as_of, parse_time_param(published_as_of, "published_as_of"))
    zq = domain.zone_query(principal, at=at, kinds=parse_csv(kind), statuses=parse_csv(status),
                           published_as_of=as_of, bbox=parse_bbox(bbox), q=q, simplify_m=simplify,
                           limit=limit, offset=offset)
    features, matched, returned = await domain.list_zones(db, zq)
    links = _page_links(request, offset, limit, returned, matched)
    head = orjson.dumps(
        {
            "type": "FeatureCollection",
            "at": timeutil.isoformat_local(as_of or zq.t),
            "numberMatched": matched,
            "numberReturned": returned,
            "timeStamp": timeutil.isoformat_local(timeutil.now()),
            "links": links,
        }
    )
    return _json(head[:-1] + b',"features":' + features.encode() + b"}")


def _page_links(request: Request, offset: int, limit: int, returned: int, matched: int) -> list[dict[str, Any]]:
    def href(new_offset: int) -> str:
        return request_url(request, offset=new_offset, limit=limit)

    links = [{"rel": "self", "type": GEOJSON, "href": request_url(request)}]
    if offset + returned < matched:
        links.append({"rel": "next", "type": GEOJSON, "href": href(offset + limit)})
    if offset > 0:
        links.append({"rel": "prev", "type": GEOJSON, "href": href(max(0, offset - limit))})
    return links


@router.get("/zones/{zone_id}", summary="One zone as a GeoJSON Feature", responses=ok((GEOJSON, ZoneFeature)),
            description="The `ETag` names the zone's recorded state (every version and property) and this "
                        "representation; send it back as `If-Match` on a write to refuse lost updates (412).")
async def get_zone(db: DbDep, principal: PrincipalDep, zone_id: ZoneId, at: AtDep) -> Response:
    feature, etag = await domain.get_zone_feature(db, principal, zone_id, at)
    return _json(feature, headers={"ETag": etag})


def written(answer: WriteAnswer) -> Response:
    """The zone as it is after a write, with its ETag and Location (the same answer again for a repeated
    Idempotency-Key, marked Idempotent-Replayed)."""
    headers = {"Location": f"/api/v1/zones/{answer.zone_id}", "ETag": answer.etag}
    if answer.replayed:
        headers["Idempotent-Replayed"] = "true"
    return _json(answer.body, status=answer.status, headers=headers)


@router.post("/zones", status_code=201, summary="Create a zone from a GeoJSON Feature (admin)",
             responses=ok((GEOJSON, ZoneFeature), status=201),
             description="A draft, or published at once with `publish: true` through the same rules as "
                         "POST /zones/{id}/publish (no retroactive effect, decision reference, period, visibility).")
async def create_zone(
    db: DbDep,
    principal: PrincipalDep,
    feature: Annotated[ZoneFeatureIn, Body()],
    pre: PreconditionsDep,
    content_crs: ContentCrs = None,
    repair: Repair = False,
) -> Response:
    return written(await domain.create_zone(db, principal, feature, content_crs=content_crs, repair=repair,
                                            pre=pre))


@router.patch("/zones/{zone_id}", summary="Change some fields of a zone (admin)", responses=ok((GEOJSON, ZoneFeature)))
async def patch_zone(
    db: DbDep,
    principal: PrincipalDep,
    zone_id: ZoneId,
    patch: Annotated[ZonePatch, Body()],
    pre: PreconditionsDep,
    content_crs: ContentCrs = None,
    repair: Repair = False,
) -> Response:
    return written(await domain.patch_zone(db, principal, zone_id, patch, content_crs=content_crs, repair=repair,
                                           pre=pre))


@router.put("/zones/{zone_id}", summary="Replace a zone with a GeoJSON Feature (admin)",
            responses=ok((GEOJSON, ZoneFeature)),
            description="Send the Feature as GET returned it, edited. A top-level `id` must be the zone's id; "
                        "`bbox` and the read-only properties (status, version, area_m2 ...) are ignored.")
async def put_zone(
    db: DbDep,
    principal: PrincipalDep,
    zone_id: ZoneId,
    feature: Annotated[ZoneFeatureReplace, Body()],
    pre: PreconditionsDep,
    content_crs: ContentCrs = None,
    repair: Repair = False,
) -> Response:
    return written(await domain.replace_zone(db, principal, zone_id, feature, content_crs=content_crs,
                                             repair=repair, pre=pre))
