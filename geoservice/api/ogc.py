"""OGC API – Features (Parts 1–4) and JSON-FG under /ogc: landing page, conformance, collections, items,
versions, queryables, and writes of zones. Thin: parameters are parsed by geoservice.ogc.params, the answers
come from geoservice.ogc.features."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Body, Header, Path, Query, Request
from pydantic import Field
from starlette.responses import Response

from geoservice import timeutil
from geoservice.access import Principal, zone_filter
from geoservice.api.deps import (
    MAX_OFFSET,
    BareRoute,
    DbDep,
    PrincipalDep,
    QueryModel,
    openapi_parameters,
    parse_query,
    path_text,
    principal_of,
)
from geoservice.api.preconditions import PreconditionsDep
from geoservice.db import Database
from geoservice.errors import BadRequest, FieldError
from geoservice.geometry import DENMARK_BBOX
from geoservice.ogc import cql, documents, features
from geoservice.ogc.collections import Collection, collection, collections, feature_schema, queryables_schema
from geoservice.ogc.documents import GEOJSON, JSON, JSONFG
from geoservice.ogc.params import crs_uri, parse_bbox, parse_crs, parse_datetimes
from geoservice.store import ogc as store

PREFIX = "/ogc"
MAX_LIMIT = 10_000


PROBLEM = {"application/problem+json": {"schema": {
    "type": "object", "description": "RFC 9457 problem; `errors` names each wrong field",
    "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                   "detail": {"type": "string"}, "errors": {"type": "array", "items": {"type": "object"}}}}}}
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bad request: an unknown parameter, a bad bbox, datetime, crs or filter",
          "content": PROBLEM},
    401: {"description": "Unknown or malformed token", "content": PROBLEM},
    404: {"description": "No such collection or feature (or not visible to this role)", "content": PROBLEM},
}
FEATURES_CONTENT = {GEOJSON: {"schema": {"type": "object"}}, JSONFG: {"schema": {"type": "object"}}}

router = APIRouter(prefix=PREFIX, tags=["ogc"],
                   responses=ERRORS)

ID_MAX_LENGTH = 100
COLLECTION_ID_DESCRIPTION = "Collection id: zones, a zone kind, politikredse, kommuner, bydele or sectors"
CollectionId = Annotated[str, Path(description=COLLECTION_ID_DESCRIPTION, max_length=ID_MAX_LENGTH)]
FeatureId = Annotated[str, Path(description="Feature id: the zone id, or the area or sector code",
                                max_length=ID_MAX_LENGTH)]
Format = Annotated[Literal["json", "geojson", "jsonfg"] | None,
                   Query(description="json or geojson (GeoJSON, the default), jsonfg (JSON-FG)")]
Crs = Annotated[str | None, Query(description="Output CRS: CRS84 (default), EPSG:4326, 25832, 25833 as "
                                              "http://www.opengis.net/def/crs/EPSG/0/25832")]
Datetime = Annotated[list[str] | None, Query(
    description="Instant or interval (`a/b`, `../b`, `a/..`), RFC 3339, matched against the validity period: "
                "an instant gives what was in force then; given twice, the intersection",
    examples=["2025-09-01T16:00:00+02:00"])]
ContentCrs = Annotated[str | None, Header(alias="Content-Crs", description="CRS of the body geometry")]
IfMatch = Annotated[str | None, Header(alias="If-Match", description="The ETag the change is based on")]
Repair = Annotated[bool, Query(description="Repair an invalid boundary with make_valid")]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + PREFIX


def _json(body: dict[str, Any], media_type: str = JSON, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), media_type=media_type, headers=headers)


def _wants_jsonfg(f: str | None, accept: str | None) -> bool:
    if f is not None:
        return f == "jsonfg"
    return bool(accept) and JSONFG in accept and GEOJSON not in accept


def _crs_header(srid: int) -> dict[str, str]:
    return {"Content-Crs": f"<{crs_uri(srid)}>"}


@router.get("", summary="Landing page", response_model=dict[str, Any])
async def landing(request: Request, f: Format = None) -> Response:
    return _json(documents.landing(_base(request)))


@router.get("/conformance", summary="Conformance classes", response_model=dict[str, Any])
async def conformance(f: Format = None) -> Response:
    return _json({"conformsTo": documents.CONFORMANCE})


async def _collection_docs(db: Database, principal: Principal, base: str, only: list[Collection]
                           ) -> list[dict[str, Any]]:
    async with db.connection() as conn:
        extents = await store.zone_extents(conn, zone_filter(principal))
    return [documents.collection_doc(base, c, extents, DENMARK_BBOX) for c in only]


@router.get("/collections", summary="The collections", response_model=dict[str, Any])
async def list_collections(request: Request, db: DbDep, principal: PrincipalDep, f: Format = None) -> Response:
    base = _base(request)
    docs = await _collection_docs(db, principal, base, collections(principal))
    return _json(documents.collections_doc(base, docs))


@router.get("/collections/{collection_id}", summary="One collection", response_model=dict[str, Any])
async def get_collection(request: Request, db: DbDep, principal: PrincipalDep, collection_id: CollectionId,
                         f: Format = None) -> Response:
    c = collection(principal, collection_id)
    return _json((await _collection_docs(db, principal, _base(request), [c]))[0])


@router.get("/collections/{collection_id}/queryables", summary="Properties a filter may name (JSON Schema)",
            responses={200: {"content": {"application/schema+json": {"schema": {"type": "object"}}}}})
async def get_queryables(request: Request, principal: PrincipalDep, collection_id: CollectionId,
                         f: Format = None) -> Response:
    c = collection(principal, collection_id)
    return _json(queryables_schema(c, _base(request)), "application/schema+json")


@router.get("/collections/{collection_id}/schema", summary="Schema of the features' properties (JSON Schema)",
            responses={200: {"content": {"application/schema+json": {"schema": {"type": "object"}}}}})
async def get_schema(request: Request, principal: PrincipalDep, collection_id: CollectionId,
                     f: Format = None) -> Response:
    c = collection(principal, collection_id)
    return _json(feature_schema(c, _base(request)), "application/schema+json")


def _items_request(c: Collection, *, f: str | None, accept: str | None, crs: str | None, bbox: str | None,
                   bbox_crs: str | None, datetime: list[str] | None, filter_: str | None, filter_lang: str | None,
                   filter_crs: str | None, limit: int, offset: int) -> features.ItemsRequest:
    box = parse_bbox(bbox, bbox_crs)
    tree = cql.parse(filter_, filter_lang) if filter_ else None
    if filter_ is None and (filter_lang or filter_crs):
        raise BadRequest("filter-lang or filter-crs without filter",
                         errors=[FieldError("filter", "missing; filter-lang and filter-crs go with a filter")])
    return features.ItemsRequest(
        bbox=box[0] if box else None, bbox_srid=box[1] if box else 4326, datetime=parse_datetimes(datetime),
        filter=tree, filter_srid=parse_crs(filter_crs, "filter-crs"), srid=parse_crs(crs),
        jsonfg=_wants_jsonfg(f, accept), limit=min(limit, MAX_LIMIT), offset=offset)


def _collection_links(request: Request, c: Collection, req: features.ItemsRequest, returned: int, matched: int
                      ) -> list[dict[str, str]]:
    own = JSONFG if req.jsonfg else GEOJSON
    url = request.url
    links = [
        documents.link(str(url), "self", own, "This page"),
        documents.link(str(url.include_query_params(f="geojson" if req.jsonfg else "jsonfg")), "alternate",
                       GEOJSON if req.jsonfg else JSONFG, "This page as " + ("GeoJSON" if req.jsonfg else "JSON-FG")),
        documents.link(f"{_base(request)}/collections/{c.id}", "collection", JSON, c.title),
    ]
    if req.offset + returned < matched:
        links.append(documents.link(str(url.include_query_params(offset=req.offset + req.limit, limit=req.limit)),
                                    "next", own, "Next page"))
    if req.offset > 0:
        links.append(documents.link(str(url.include_query_params(offset=max(0, req.offset - req.limit),
                                                                  limit=req.limit)), "prev", own, "Previous page"))
    return links


ITEMS_PATH = "/collections/{collection_id}/items"
COLLECTION_ID_PARAMETER = {  # CollectionId, for the BareRoute below
    "name": "collection_id", "in": "path", "required": True, "description": COLLECTION_ID_DESCRIPTION,
    "schema": {"type": "string", "maxLength": ID_MAX_LENGTH}}


class ItemsQuery(QueryModel):
    f: Literal["json", "geojson", "jsonfg"] | None = Field(
        None, description="json or geojson (GeoJSON, the default), jsonfg (JSON-FG)")
    bbox: str | None = Field(None, description="minx,miny,maxx,maxy in bbox-crs (default CRS84)")
    bbox_crs: str | None = Field(None, alias="bbox-crs", description="CRS of bbox")
    datetime: list[str] | None = Field(
        None, description="Instant or interval (`a/b`, `../b`, `a/..`), RFC 3339, matched against the validity "
                          "period: an instant gives what was in force then; given twice, the intersection",
        examples=["2025-09-01T16:00:00+02:00"])
    crs: str | None = Field(None, description="Output CRS: CRS84 (default), EPSG:4326, 25832, 25833 as "
                                              "http://www.opengis.net/def/crs/EPSG/0/25832")
    filter: str | None = Field(None, description="CQL2 filter (see /queryables)")
    filter_lang: Literal["cql2-text", "cql2-json"] | None = Field(None, alias="filter-lang")
    filter_crs: str | None = Field(None, alias="filter-crs", description="CRS of the filter's geometries")
    # OGC API Part 1: a larger limit is accepted and answered with at most MAX_LIMIT (the next link goes on)
    limit: int = Field(100, ge=1, le=MAX_OFFSET, description=f"Page size; at most {MAX_LIMIT} are returned")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Skip this many (the next link sets it)")


# What OGC clients ask most (QGIS panning, a point query with a datetime): a BareRoute with one compiled query
# model instead of FastAPI's per-parameter dependencies, which cost about as much as a small box's query
# (bench/ogc.py); the parameters are still documented in /docs.
async def get_items(request: Request) -> Response:
    query = parse_query(ItemsQuery, request, repeatable=("datetime",))
    principal = await principal_of(request)
    c = collection(principal, path_text(request, "collection_id", ID_MAX_LENGTH))
    req = _items_request(c, f=query.f, accept=request.headers.get("accept"), crs=query.crs, bbox=query.bbox,
                         bbox_crs=query.bbox_crs, datetime=query.datetime, filter_=query.filter,
                         filter_lang=query.filter_lang, filter_crs=query.filter_crs, limit=query.limit,
                         offset=query.offset)
    found, matched, returned = await features.items(request.app.state.db, principal, c, req)
    head: dict[str, Any] = {"type": "FeatureCollection"}
    if req.jsonfg:
        head["conformsTo"] = [store.JSONFG_CORE]
        head["coordRefSys"] = crs_uri(req.srid)
        if c.kind:
            head["featureType"] = c.kind
    head.update({"numberMatched": matched, "numberReturned": returned,
                 "timeStamp": timeutil.now().isoformat(timespec="seconds").replace("+00:00", "Z"),
                 "links": _collection_links(request, c, req, returned, matched)})
    body = orjson.dumps(head)[:-1] + b',"features":' + found.encode() + b"}"
    return Response(body, media_type=JSONFG if req.jsonfg else GEOJSON, headers=_crs_header(req.srid))


router.add_api_route(
    ITEMS_PATH, get_items, methods=["GET"], summary="Features of a collection", response_class=Response,
    route_class_override=BareRoute,
    openapi_extra={"parameters": [COLLECTION_ID_PARAMETER, *openapi_parameters(ItemsQuery)["parameters"]],
                   "x-reads-token": True},
    responses={200: {"content": FEATURES_CONTENT, "description": "A FeatureCollection"}})


def _feature_response(request: Request, c: Collection, fid: str, feature: str, req: features.ItemsRequest,
                      status: int = 200, extra_headers: dict[str, str] | None = None) -> Response:
    own = JSONFG if req.jsonfg else GEOJSON
    href = f"{_base(request)}/collections/{c.id}/items/{fid}"
    links = [documents.link(str(request.url) if request.method == "GET" else href, "self", own, "This feature"),
             documents.link(f"{_base(request)}/collections/{c.id}", "collection", JSON, c.title)]
    if c.source == "zones":
        links.append(documents.link(f"{href}/versions", "version-history", own, "Every version of the zone"))
    parsed = orjson.loads(feature)
    parsed["links"] = links
    if req.jsonfg:
        parsed["conformsTo"] = [store.JSONFG_CORE]
        parsed["coordRefSys"] = crs_uri(req.srid)
    return Response(orjson.dumps(parsed), status_code=status, media_type=own,
                    headers={**_crs_header(req.srid), **(extra_headers or {})})


@router.get("/collections/{collection_id}/items/{feature_id}", summary="One feature",
            response_class=Response,
            responses={200: {"content": FEATURES_CONTENT, "description": "A Feature; zones carry an ETag"},
                       410: {"description": "The zone exists but was not in force at that time",
                             "content": PROBLEM}})
async def get_item(
    request: Request, db: DbDep, principal: PrincipalDep, collection_id: CollectionId, feature_id: FeatureId,
    f: Format = None, datetime: Datetime = None, crs: Crs = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    c = collection(principal, collection_id)
    req = features.ItemsRequest(datetime=parse_datetimes(datetime), srid=parse_crs(crs),
                                jsonfg=_wants_jsonfg(f, accept))
    feature = await features.item(db, principal, c, feature_id, req)
    headers = {"ETag": await features.etag(db, principal, int(feature_id), feature)} if c.source == "zones" else None
    return _feature_response(request, c, feature_id, feature, req, extra_headers=headers)


def _versions_response(request: Request, found: str, req: features.ItemsRequest) -> Response:
    count = found.count('"type":"Feature"') if found != "[]" else 0
    head: dict[str, Any] = {"type": "FeatureCollection"}
    if req.jsonfg:
        head["conformsTo"] = [store.JSONFG_CORE]
        head["coordRefSys"] = crs_uri(req.srid)
    head.update({"numberMatched": count, "numberReturned": count,
                 "links": [documents.link(str(request.url), "self", JSONFG if req.jsonfg else GEOJSON)]})
    body = orjson.dumps(head)[:-1] + b',"features":' + found.encode() + b"}"
    return Response(body, media_type=JSONFG if req.jsonfg else GEOJSON, headers=_crs_header(req.srid))


@router.get("/collections/{collection_id}/items/{feature_id}/versions",
            summary="Every designation of a zone: legal validity (virkning) and when it was recorded "
                    "(registrering), each linking its predecessor and successor",
            response_class=Response, responses={200: {"content": FEATURES_CONTENT}})
async def get_versions(
    request: Request, db: DbDep, principal: PrincipalDep, collection_id: CollectionId, feature_id: FeatureId,
    f: Format = None, crs: Crs = None, accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    c = collection(principal, collection_id)
    req = features.ItemsRequest(srid=parse_crs(crs), jsonfg=_wants_jsonfg(f, accept))
    found = await features.versions(db, principal, c, feature_id, req, _base(request))
    return _versions_response(request, found, req)


@router.get("/collections/{collection_id}/items/{feature_id}/versions/{version}", summary="One version of a zone",
            response_class=Response, responses={200: {"content": FEATURES_CONTENT}})
async def get_version(
    request: Request, db: DbDep, principal: PrincipalDep, collection_id: CollectionId, feature_id: FeatureId,
    version: Annotated[int, Path(ge=1, le=100_000)], f: Format = None, crs: Crs = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    c = collection(principal, collection_id)
    req = features.ItemsRequest(srid=parse_crs(crs), jsonfg=_wants_jsonfg(f, accept))
    found = await features.versions(db, principal, c, feature_id, req, _base(request), version)
    return Response(found[1:-1], media_type=JSONFG if req.jsonfg else GEOJSON, headers=_crs_header(req.srid))


# --- Part 4 ---------------------------------------------------------------------------------------------------

WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "Not an admin", "content": PROBLEM},
    409: {"description": "Conflicts with the zone's state (e.g. a published boundary)", "content": PROBLEM},
    412: {"description": "If-Match does not match the zone's current ETag", "content": PROBLEM},
    422: {"description": "Invalid feature: field and reason named", "content": PROBLEM},
}
FeatureBody = Annotated[dict[str, Any], Body(description="A GeoJSON Feature as in /api/v1/zones (properties "
                                                         "kind, name, valid_from, valid_to, decision_ref …)")]


async def _written(request: Request, db: Database, principal: Principal, c: Collection, zone_id: int,
                   status: int) -> Response:
    req = features.ItemsRequest()
    feature = await features.item(db, principal, c, str(zone_id), req)
    href = f"{_base(request)}/collections/{c.id}/items/{zone_id}"
    return _feature_response(request, c, str(zone_id), feature, req, status,
                             {"Location": href, "ETag": await features.etag(db, principal, zone_id, feature)})


@router.post("/collections/{collection_id}/items", status_code=201, summary="Create a zone (admin)",
             response_class=Response, responses={201: {"content": {GEOJSON: {"schema": {"type": "object"}}},
                                                       "description": "Created; Location and ETag"},
                                                  **WRITE_ERRORS})
async def create_item(request: Request, db: DbDep, principal: PrincipalDep, collection_id: CollectionId,
                      feature: FeatureBody, pre: PreconditionsDep, content_crs: ContentCrs = None,
                      repair: Repair = False) -> Response:
    c = collection(principal, collection_id)
    result = await features.create(db, principal, c, feature, content_crs, repair, pre)
    return await _written(request, db, principal, c, result.zone_id, 201)


@router.put("/collections/{collection_id}/items/{feature_id}", summary="Replace a zone (admin)",
            response_class=Response, responses={200: {"content": {GEOJSON: {"schema": {"type": "object"}}}},
                                                 **WRITE_ERRORS})
async def replace_item(request: Request, db: DbDep, principal: PrincipalDep, collection_id: CollectionId,
                       feature_id: FeatureId, feature: FeatureBody, pre: PreconditionsDep,
                       content_crs: ContentCrs = None, repair: Repair = False) -> Response:
    c = collection(principal, collection_id)
    result = await features.replace(db, principal, c, feature_id, feature, content_crs, repair, pre)
    return await _written(request, db, principal, c, result.zone_id, 200)


@router.patch("/collections/{collection_id}/items/{feature_id}", summary="Change some fields of a zone (admin)",
              description="A JSON merge patch of the Feature: `{\"properties\": {\"name\": …}}`, or `geometry` "
                          "while the zone is a draft.",
              response_class=Response, responses={200: {"content": {GEOJSON: {"schema": {"type": "object"}}}},
                                                  **WRITE_ERRORS})
async def patch_item(request: Request, db: DbDep, principal: PrincipalDep, collection_id: CollectionId,
                     feature_id: FeatureId, patch: FeatureBody, pre: PreconditionsDep,
                     content_crs: ContentCrs = None, repair: Repair = False) -> Response:
    c = collection(principal, collection_id)
    result = await features.update(db, principal, c, feature_id, patch, content_crs, repair, pre)
    return await _written(request, db, principal, c, result.zone_id, 200)


@router.delete("/collections/{collection_id}/items/{feature_id}", status_code=204,
               summary="Delete a zone that was never published (admin); a published zone is revoked instead",
               response_class=Response, responses={204: {"description": "Deleted"}, **WRITE_ERRORS})
async def delete_item(db: DbDep, principal: PrincipalDep, collection_id: CollectionId, feature_id: FeatureId,
                      if_match: IfMatch = None) -> Response:
    c = collection(principal, collection_id)
    await features.delete(db, principal, c, feature_id, if_match)
    return Response(status_code=204)
