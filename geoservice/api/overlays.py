"""/api/v1/overlays and /api/v1/imports: incidents, insecurity reports and survey data on zones and areas."""

from __future__ import annotations

from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Body, Query, Request
from fastapi import Path as PathParam
from starlette.responses import Response

from geoservice import timeutil
from geoservice.access import (
    PUBLIC_GEOGRAPHIES,
    PUBLIC_SURVEY_GEOGRAPHIES,
    STAFF_GEOGRAPHIES,
    Role,
    exact_aggregates,
    overlay_access,
    require,
)
from geoservice.api.answers import (
    GEOJSON,
    JSON,
    Counts,
    CountsGeoJSON,
    ImportReport,
    Imports,
    OverlayCatalogue,
    Points,
    ReportFeature,
    Reports,
    SectorRecent,
    Straf11,
    Straf11GeoJSON,
    Survey,
    SurveyChange,
    SurveyGeoJSON,
    SurveyResponses,
    ZoneEffect,
    ok,
)
from geoservice.api.deps import (
    DbDep,
    OffsetQuery,
    PrincipalDep,
    SettingsDep,
    bbox_query,
    codes_of,
    instant_query,
    parse_bbox,
    parse_csv,
    parse_time_param,
)
from geoservice.api.uploads import received_upload
from geoservice.errors import FieldError, InvalidInput
from geoservice.overlays import aggregates, effect, points, survey
from geoservice.overlays import official_statistics as statistics
from geoservice.overlays.importer import SUPPORTED_SUFFIXES, SUPPORTED_TEXT, check_may_import, import_file
from geoservice.overlays.schemas import ReportIn, ReportPatch
from geoservice.overlays.taxonomy import get_overlay_rules
from geoservice.store import overlays as store
from geoservice.store.overlays import PointQuery

router = APIRouter(prefix="/api/v1", tags=["overlays"])

Format = Annotated[Literal["json", "geojson"], Query(description="json (a table) or geojson (with boundaries)")]
FromQ = Annotated[str | None, instant_query("Window start", alias="from")]
ToQ = Annotated[str | None, instant_query("Window end (exclusive)", alias="to")]
PeriodQ = Annotated[str | None, Query(description="A calendar period instead of from/to: 2025Q3, 2025 or 2025-07. "
                                                  "The public tables are per quarter")]
CategoryQ = Annotated[str | None, Query(description="Category groups or categories, comma-separated",
                                        json_schema_extra=codes_of("incident-categories"))]
BboxQ = Annotated[str | None, bbox_query("minlon,minlat,maxlon,maxlat (EPSG:4326); staff only")]


def _json(body: object, media_type: str = "application/json", status: int = 200,
          headers: dict[str, str] | None = None) -> Response:
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    return Response(data, status_code=status, media_type=media_type, headers=headers)


def _hours(value: str | None) -> tuple[int, int] | None:
    if not value:
        return None
    try:
        a, b = (int(v) for v in value.split("-"))
    except ValueError:
        a = b = -1
    if not (0 <= a <= 23 and 0 <= b <= 24 and a != b):
        raise InvalidInput("hours must be like 0-5 (local hours, end exclusive; 22-4 wraps past midnight)",
                           errors=[FieldError("hours", "expected FROM-TO in whole local hours, e.g. 0-5")])
    return a, b % 24 if b == 24 else b


@router.get("/overlays", summary="Overlay catalogue: taxonomy, report categories, styles, data extents, and the "
                                 "privacy rules that apply to the caller", responses=ok((JSON, OverlayCatalogue)))
async def overlay_catalogue(db: DbDep, settings: SettingsDep, principal: PrincipalDep) -> Response:
    async with db.connection() as conn:
        extent = await store.incident_extent(conn)
        years = await store.survey_years(conn)
        quarters = await store.stat_quarters(conn)
    access = overlay_access(principal)
    exact = exact_aggregates(principal, None)
    body = {
        **get_overlay_rules().public_dict(),
        "incidents": aggregates.data_extent(extent, principal),
        "survey_years": years,
        "straf11_quarters": [quarters[0], quarters[-1]] if quarters else None,
        "geographies": list(STAFF_GEOGRAPHIES if exact else PUBLIC_GEOGRAPHIES),
        "survey_geographies": list(PUBLIC_SURVEY_GEOGRAPHIES),
        "role": principal.role.value,
        "privacy": {
            "exact_aggregates": "everywhere" if exact else (
                f"politikreds {access.exact_politikreds} only (add politikreds={access.exact_politikreds})"
                if access.exact_politikreds else "never: published tables only"),
            "raw_points": ("everywhere" if access.raw_points and not access.raw_politikreds else
                           f"politikreds {access.raw_politikreds} only" if access.raw_points else "never"),
            "suppression_k": settings.suppression_k,
            "survey_min_respondents": settings.survey_min_respondents,
            "public_tables": "one calendar quarter, fixed geographies (" + ", ".join(PUBLIC_GEOGRAPHIES)
                             + "), category groups; small counts and the cells that would reveal them withheld",
        },
    }
    return _json(body)


@router.get("/overlays/counts", summary="Counts of incidents or insecurity reports per zone, patrol sector, kommune, "
                                        "politikreds or grid cell, with per km² and per 1,000 residents",
            responses=ok((JSON, Counts), (GEOJSON, CountsGeoJSON)))
async def overlay_counts(
    db: DbDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    by: Annotated[str, Query(description="national, politikreds, kommune, sector, zone, grid1km, grid100m",
                             json_schema_extra={"enum": list(STAFF_GEOGRAPHIES)})],
    source: Annotated[Literal["incidents", "insecurity_reports"], Query()] = "incidents",
    period: PeriodQ = None,
    t0: FromQ = None,
    t1: ToQ = None,
    category: CategoryQ = None,
    split: Annotated[Literal["group", "category", "none"], Query(description="Columns: category groups, "
                                                                             "categories or only the total")] = "group",
    politikreds: Annotated[str | None, Query(max_length=3, description="Only this politikreds (an officer's own "
                                                                       "gives exact figures)")] = None,
    kommune: Annotated[str | None, Query(description="Only these kommuner (codes), comma-separated")] = None,
    bbox: BboxQ = None,
    kind: Annotated[str | None, Query(description="by=zone: zone kind(s), comma-separated",
                                      json_schema_extra=codes_of("kinds"))] = None,
    status: Annotated[str | None, Query(description="insecurity reports: open, handled",
                                        json_schema_extra=codes_of("report-statuses"))] = None,
    hours: Annotated[str | None, Query(description="Local hours FROM-TO, e.g. 0-5 (staff only)")] = None,
    format: Format = "json",
    simplify: Annotated[float, Query(ge=0, le=2000, description="Boundary simplification, metres")] = 50,
) -> Response:
    window = aggregates.parse_window(period, parse_time_param(t0, "from"), parse_time_param(t1, "to"))
    params = aggregates.CountParams(
        source=source, by=by, window=window, categories=parse_csv(category), split=split, politikreds=politikreds,
        kommuner=parse_csv(kommune), bbox=parse_bbox(bbox), kinds=parse_csv(kind), statuses=parse_csv(status),
        hours=_hours(hours), geometry=format == "geojson", simplify_m=simplify,
    )
    result = await aggregates.count(db, settings, principal, params)
    if format == "geojson":
        return _json(aggregates.as_geojson(result, principal), GEOJSON)
    return _json(aggregates.as_json(result, principal))


@router.get("/overlays/incidents", summary="Raw incident points (staff; an officer only in their own politikreds)",
            responses=ok((GEOJSON, Points)))
async def overlay_incidents(
    db: DbDep,
    principal: PrincipalDep,
    t0: FromQ = None,
    t1: ToQ = None,
    category: CategoryQ = None,
    politikreds: Annotated[str | None, Query(max_length=3)] = None,
    bbox: BboxQ = None,
    sector: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: OffsetQuery = 0,
) -> Response:
    pq = PointQuery(t0=parse_time_param(t0, "from"), t1=parse_time_param(t1, "to"),
                    categories=get_overlay_rules().expand(parse_csv(category)), politikreds=politikreds,
                    bbox=parse_bbox(bbox), sector=sector, limit=limit, offset=offset)
    return _json(await points.incidents(db, principal, pq), GEOJSON)


@router.get("/overlays/sectors/{code}/recent",
            summary="A patrol sector's last days: incidents and open insecurity reports (officer view)",
            responses=ok((GEOJSON, SectorRecent)))
async def sector_recent(
    db: DbDep,
    principal: PrincipalDep,
    code: Annotated[str, PathParam(max_length=40)],
    days: Annotated[int, Query(ge=1, le=366)] = 30,
    until: Annotated[str | None, instant_query("End of the window (default now)")] = None,
    limit: Annotated[int, Query(ge=1, le=points.SECTOR_LISTING_LIMIT, description="Incidents listed at most "
                                                                                  "(the counts are of all)")
                     ] = points.SECTOR_LISTING_LIMIT,
) -> Response:
    return _json(await points.sector_recent(db, principal, code, days=days, until=parse_time_param(until, "until"),
                                            limit=limit), GEOJSON)


@router.get("/overlays/survey", summary="Tryghedsindeks: weighted share unsafe and share trusting the police per "
                                        "area and year, with n and a 95% Wilson interval",
            responses=ok((JSON, Survey), (GEOJSON, SurveyGeoJSON)))
async def overlay_survey(
    db: DbDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    by: Annotated[str, Query(description=", ".join(PUBLIC_SURVEY_GEOGRAPHIES),
                             json_schema_extra={"enum": list(PUBLIC_SURVEY_GEOGRAPHIES)})] = "politikreds",
    year: Annotated[int | None, Query(ge=2000, le=2100, description="Default: the latest year")] = None,
    kind: Annotated[str | None, Query(description="by=zone or kind: zone kind(s), comma-separated (staff)",
                                      json_schema_extra=codes_of("kinds"))] = None,
    format: Format = "json",
) -> Response:
    body = await survey.survey(db, settings, principal, by=by, year=year, kinds=parse_csv(kind),
                               geometry=format == "geojson")
    if format == "geojson":
        return _json(survey.survey_geojson(body), GEOJSON)
    return _json(body)


@router.get("/overlays/survey/change", summary="Change of a survey share between two years, with a z-test and a "
                                               "'significant at 5%' verdict", responses=ok((JSON, SurveyChange)))
async def overlay_survey_change(
    db: DbDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    from_year: Annotated[int, Query(ge=2000, le=2100)],
    to_year: Annotated[int, Query(ge=2000, le=2100)],
    by: Annotated[str, Query(json_schema_extra={"enum": list(PUBLIC_SURVEY_GEOGRAPHIES)})] = "national",
    metric: Annotated[Literal["unsafe", "trust"], Query()] = "unsafe",
    kind: Annotated[str | None, Query(json_schema_extra=codes_of("kinds"))] = None,
) -> Response:
    return _json(await survey.survey_change(db, settings, principal, by=by, from_year=from_year, to_year=to_year,
                                            metric=metric, kinds=parse_csv(kind)))


@router.get("/overlays/survey/responses", summary="Individual survey responses (analyst, admin)",
            responses=ok((JSON, SurveyResponses)))
async def overlay_survey_responses(
    db: DbDep,
    principal: PrincipalDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: OffsetQuery = 0,
) -> Response:
    return _json(await survey.responses(db, principal, year=year, limit=limit, offset=offset))


@router.get("/overlays/zone-effect/{zone_id}", summary="Incidents before vs during a zone's designation period, "
                                                       "inside the zone and in the rest of its kommune (staff)",
            responses=ok((JSON, ZoneEffect)))
async def overlay_zone_effect(
    db: DbDep,
    principal: PrincipalDep,
    zone_id: Annotated[int, PathParam(ge=1, le=2_147_483_647)],
    category: CategoryQ = None,
    at: Annotated[str | None, instant_query("Pick the designation period in force then (default the latest)")] = None,
    daily_window: Annotated[bool, Query(description="Count only in the kind's daily window (e.g. 00-05)")] = False,
) -> Response:
    return _json(await effect.zone_effect(db, principal, zone_id, at=parse_time_param(at, "at"),
                                          categories=parse_csv(category), daily_window=daily_window))


@router.get("/overlays/straf11", summary="Statistics Denmark STRAF11: reported offences per kommune per quarter and "
                                         "per 1,000 residents, as a layer",
            responses={**ok((JSON, Straf11), (GEOJSON, Straf11GeoJSON)), 404: {}})
async def overlay_straf11(
    db: DbDep,
    period: Annotated[str | None, Query(description="2022Q4 or 2022 (default: the latest quarter)")] = None,
    kommune: Annotated[str | None, Query(max_length=4, description="The whole series of one kommune")] = None,
    format: Format = "json",
    simplify: Annotated[float, Query(ge=0, le=2000)] = 200,
) -> Response:
    body = await statistics.straf11(db, period=period, kommune=kommune, geometry=format == "geojson" and not kommune,
                                    simplify_m=simplify)
    return _json(body, GEOJSON if isinstance(body, bytes) else "application/json")


# --- insecurity reports --------------------------------------------------------------------------------------

ReportId = Annotated[int, PathParam(ge=1, le=9_223_372_036_854_775_807)]


@router.get("/overlays/insecurity-reports", summary="Insecurity reports (staff; an officer in their own politikreds)",
            responses=ok((GEOJSON, Reports)))
async def list_reports(
    db: DbDep,
    principal: PrincipalDep,
    status: Annotated[str | None, Query(description="open, handled", json_schema_extra=codes_of("report-statuses"))
                      ] = None,
    category: Annotated[str | None, Query(json_schema_extra=codes_of("report-categories"))] = None,
    sector: Annotated[str | None, Query(max_length=40)] = None,
    politikreds: Annotated[str | None, Query(max_length=3)] = None,
    bbox: BboxQ = None,
    t0: Annotated[str | None, instant_query("Reported on or after (a date)", alias="from")] = None,
    t1: Annotated[str | None, instant_query("Reported before (a date)", alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: OffsetQuery = 0,
) -> Response:
    statuses = parse_csv(status)
    if statuses and set(statuses) - {"open", "handled"}:
        raise InvalidInput("status must be open or handled", errors=[FieldError("status", "expected open, handled")])
    pq = PointQuery(t0=parse_time_param(t0, "from"), t1=parse_time_param(t1, "to"), categories=parse_csv(category),
                    politikreds=politikreds, bbox=parse_bbox(bbox), sector=sector, statuses=statuses, limit=limit,
                    offset=offset)
    return _json(await points.reports(db, principal, pq), GEOJSON)


@router.post("/overlays/insecurity-reports", status_code=201, summary="Add an insecurity report (officer in own "
                                                                      "politikreds, analyst, admin)",
             responses=ok((GEOJSON, ReportFeature), status=201))
async def create_report(db: DbDep, principal: PrincipalDep, body: Annotated[ReportIn, Body()]) -> Response:
    report_id = await points.create_report(db, principal, body)
    return _json(await points.report(db, principal, report_id), GEOJSON, 201,
                 {"Location": f"/api/v1/overlays/insecurity-reports/{report_id}"})


@router.get("/overlays/insecurity-reports/{report_id}", summary="One insecurity report",
            responses=ok((GEOJSON, ReportFeature)))
async def get_report(db: DbDep, principal: PrincipalDep, report_id: ReportId) -> Response:
    return _json(await points.report(db, principal, report_id), GEOJSON)


@router.patch("/overlays/insecurity-reports/{report_id}", summary="Change a report's status (open, handled), note, "
                                                                  "category or text",
               responses=ok((GEOJSON, ReportFeature)))
async def patch_report(db: DbDep, principal: PrincipalDep, report_id: ReportId,
                       body: Annotated[ReportPatch, Body()]) -> Response:
    await points.patch_report(db, principal, report_id, body)
    return _json(await points.report(db, principal, report_id), GEOJSON)


# --- imports -------------------------------------------------------------------------------------------------


async def _upload(request: Request, db: DbDep, principal: PrincipalDep, kind: str, source: str,
                  skip_invalid: bool, layer: str | None) -> Response:
    # The role is checked before a byte of the upload is read: the handlers take the Request, not an UploadFile
    # parameter, because FastAPI parses (and spools to disk) a form body before it resolves the dependencies.
    check_may_import(principal)
    async with received_upload(request, SUPPORTED_SUFFIXES, SUPPORTED_TEXT) as upload:
        report = await import_file(db, principal, kind, upload.path, file_name=upload.name, source=source,
                                   skip_invalid=skip_invalid, layer=layer)
    status = 201 if report.inserted else 200
    return _json(report.as_dict(), status=status)


# The multipart body, for the OpenAPI document (the handlers read it themselves, after the role check).
UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "additionalProperties": False, "properties": {"file": {
        "type": "string", "format": "binary", "description": "CSV, GeoJSON, GeoPackage or zipped Shapefile"}}}}}}}
# 201 when rows were added, 200 when the file changed nothing new (re-import) or only updated rows
IMPORTED = {**ok((JSON, ImportReport), status=201, description="Rows were added"),
            **ok((JSON, ImportReport), description="Nothing new: rows updated or unchanged")}
SourceQ = Annotated[str, Query(min_length=1, max_length=100, description="Where the rows come from; (source, id) "
                                                                         "identifies a row across re-imports")]
SkipQ = Annotated[bool, Query(description="Import the good rows and report the rejected ones (default: all or "
                                          "nothing)")]
LayerQ = Annotated[str | None, Query(description="GeoPackage layer (default the first)")]


@router.post("/imports/incidents", summary="Import incidents from a file (analyst, admin)", openapi_extra=UPLOAD_BODY,
             responses=IMPORTED)
async def import_incidents(request: Request, db: DbDep, principal: PrincipalDep, source: SourceQ = "import",
                           skip_invalid: SkipQ = False, layer: LayerQ = None) -> Response:
    return await _upload(request, db, principal, "incidents", source, skip_invalid, layer)


@router.post("/imports/survey-responses", summary="Import Tryghedsindeks survey responses from a file "
                                                  "(analyst, admin)", openapi_extra=UPLOAD_BODY, responses=IMPORTED)
async def import_survey(request: Request, db: DbDep, principal: PrincipalDep, source: SourceQ = "import",
                        skip_invalid: SkipQ = False, layer: LayerQ = None) -> Response:
    return await _upload(request, db, principal, "survey_responses", source, skip_invalid, layer)


@router.get("/imports", summary="Overlay import batches (analyst, admin)", responses=ok((JSON, Imports)))
async def list_imports(db: DbDep, principal: PrincipalDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
                       ) -> Response:
    require(principal, Role.analyst, Role.admin, action="Listing imports")
    async with db.connection() as conn:
        rows = await store.list_imports(conn, limit)
    for r in rows:
        r["imported_at"] = timeutil.isoformat_local(r["imported_at"])
    return _json({"imports": rows})
