"""/api/v1/imports/zones: zones from a file (GeoJSON, GeoPackage, zipped Shapefile, KML), and the import reports."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from starlette.responses import Response

from geoservice import timeutil
from geoservice.access import Role, require
from geoservice.api.answers import JSON, ZoneImportReport, ZoneImports, ok
from geoservice.api.deps import DbDep, PrincipalDep
from geoservice.api.uploads import received_upload
from geoservice.errors import NotFound
from geoservice.store import zone_imports as store
from geoservice.zonefiles.apply import check_may_import_zones, import_zones
from geoservice.zonefiles.options import TARGETS, LinkRule, build_options, load_mapping, parse_pairs
from geoservice.zonefiles.reading import SUPPORTED_TEXT, ZONE_SUFFIXES

router = APIRouter(prefix="/api/v1", tags=["imports"])

UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "GeoJSON FeatureCollection, GeoPackage, zipped Shapefile or KML"},
        "mapping": {"type": "string", "description": "Optional YAML mapping (the options below as keys: fields, "
                                                     "set, source, crs, link_consecutive, publish, ...); the "
                                                     "query parameters override it"}}}}}}}
TARGET_LIST = ", ".join(TARGETS)


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


@router.post(
    "/imports/zones", summary="Import zones from a file (admin): drafts, or published with publish=true",
    openapi_extra=UPLOAD_BODY, status_code=201,
    responses={**ok((JSON, ZoneImportReport), description="Nothing was written: a dry run, or every zone is "
                                                           "unchanged; the import report"),
               **ok((JSON, ZoneImportReport), status=201, description="Zones created or changed; the import report"),
               422: {"description": "Features rejected (all or nothing): every one named with feature number, "
                                    "key, field and reason; nothing was written"}},
)
async def import_zone_file(
    request: Request, db: DbDep, principal: PrincipalDep,
    field: Annotated[list[str] | None, Query(description=f"target=column, repeatable; targets: {TARGET_LIST}")]
    = None,
    set_values: Annotated[list[str] | None, Query(alias="set", description="target=value for every feature, e.g. "
                                                                          "kind=visitationszone")] = None,
    source: Annotated[str | None, Query(max_length=100, description="Where the zones come from; (source, key) "
                                                                    "identifies a zone on re-import")] = None,
    crs: Annotated[str | None, Query(max_length=200, description="The file's CRS when it declares none "
                                                                 "(never guessed), e.g. EPSG:25832")] = None,
    layer: Annotated[str | None, Query(max_length=200, description="Layer of a GeoPackage or KML")] = None,
    dry_run: Annotated[bool | None, Query(description="Report what would be created or changed; write "
                                                      "nothing")] = None,
    publish: Annotated[bool | None, Query(description="Publish (every publication rule applies); default "
                                                      "drafts")] = None,
    override_reason: Annotated[str | None, Query(max_length=2000, description="Admin override of a refused "
                                                                              "rule, e.g. a past start of a "
                                                                              "historical record")] = None,
    skip_invalid: Annotated[bool | None, Query(description="Import the valid zones and report the rejected "
                                                           "features (default all or nothing)")] = None,
    repair: Annotated[bool | None, Query(description="Make invalid boundaries valid (area change reported) and "
                                                     "read one-digit minutes as tens")] = None,
    resolve_local_times: Annotated[bool | None, Query(description="Decide DST-missing or ambiguous local times "
                                                                  "by the documented rule (reported)")] = None,
    link_by: Annotated[str | None, Query(description="Link consecutive periods of one place into one zone, "
                                                     "matching this target (e.g. authority)")] = None,
    archive_ended: Annotated[bool | None, Query(description="Archive published zones that have ended")] = None,
    historical: Annotated[bool | None, Query(description="A record of past designations (grouped in the "
                                                         "validity report)")] = None,
) -> Response:
    # The role is checked before a byte of the upload is read (see api/overlays.py).
    check_may_import_zones(principal)
    async with received_upload(request, ZONE_SUFFIXES, SUPPORTED_TEXT, text_parts=("mapping",)) as upload:
        mapping = load_mapping(upload.texts["mapping"]) if "mapping" in upload.texts else None
        options = build_options(
            mapping, fields=parse_pairs(field, "field") or None, set=parse_pairs(set_values, "set") or None,
            source=source, crs=crs, layer=layer, dry_run=dry_run, publish=publish, override_reason=override_reason,
            skip_invalid=skip_invalid, repair=repair, resolve_local_times=resolve_local_times,
            link_consecutive=LinkRule(by=link_by) if link_by else None, archive_ended=archive_ended,
            historical=historical)
        report = await import_zones(db, principal, upload.path, options, file_name=upload.name)
    return _json(report.as_dict(), status=201 if report.wrote and not options.dry_run else 200)


@router.get("/imports/zones", summary="Zone file imports (admin, legal)", responses=ok((JSON, ZoneImports)))
async def list_zone_imports(db: DbDep, principal: PrincipalDep,
                            limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Response:
    require(principal, Role.admin, Role.legal, action="Listing zone imports")
    async with db.connection() as conn:
        rows = await store.list_imports(conn, limit)
    for row in rows:
        row["imported_at"] = timeutil.isoformat_local(row["imported_at"])
    return _json({"imports": rows})


@router.get("/imports/zones/{import_id}", summary="One zone import with its report (admin, legal)",
            responses=ok((JSON, ZoneImportReport)))
async def get_zone_import(db: DbDep, principal: PrincipalDep,
                          import_id: Annotated[int, PathParam(ge=1, le=2**62)]) -> Response:
    require(principal, Role.admin, Role.legal, action="Reading a zone import")
    async with db.connection() as conn:
        row = await store.get_import(conn, import_id)
    if row is None:
        raise NotFound(f"zone import {import_id} does not exist")
    row["imported_at"] = timeutil.isoformat_local(row["imported_at"])
    return _json(row)
