"""/api/v1/validity/report (legal) and /api/v1/check/track (as-of check of timed points)."""

from __future__ import annotations

from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Body, Query
from starlette.responses import Response

from geoservice import validity
from geoservice.api.answers import JSON, TEXT, AuditCheck, TrackAnswer, ValidityReport, ok
from geoservice.api.deps import AtDep, DbDep, PrincipalDep
from geoservice.schemas import TrackIn

router = APIRouter(prefix="/api/v1", tags=["validity"])


@router.get("/validity/report", summary="Expiring, expired-but-published, chain gaps, missing decisions, overrides, "
                                        "historical records",
            responses=ok((JSON, ValidityReport), ("text/csv", TEXT), ("text/plain", TEXT)))
async def report(
    db: DbDep,
    principal: PrincipalDep,
    at: AtDep,
    output: Annotated[Literal["json", "csv", "text"], Query(alias="format")] = "json",
    historical: Annotated[Literal["group", "list"], Query(
        description="A historical record (imported past designations): group = one finding per import in "
                    "historical_records; list = also its overrides and missing decision references one by one")
    ] = "group",
) -> Response:
    body = await validity.report(db, principal, at, historical=historical)
    if output == "csv":
        return Response(validity.as_csv(body), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="validity-report.csv"'})
    if output == "text":
        return Response(validity.as_text(body), media_type="text/plain; charset=utf-8")
    return Response(orjson.dumps(body), media_type="application/json")


@router.post("/check/track", summary="For timed points: the zones in force there then, and enter/exit events",
             responses=ok((JSON, TrackAnswer)))
async def check_track(db: DbDep, principal: PrincipalDep, body: Annotated[TrackIn, Body()]) -> Response:
    return Response(orjson.dumps(await validity.check_track(db, principal, body)), media_type="application/json")


@router.get("/audit/verify", summary="Check the audit log's hash chain: the first changed, removed or forged row",
            responses={**ok((JSON, AuditCheck)), 409: {"description": "The chain is broken (the body says where)",
                                                       "content": {"application/json": {"schema": {
                                                           "$ref": "#/components/schemas/AuditCheck"}}}}})
async def verify_audit(db: DbDep, principal: PrincipalDep) -> Response:
    result = await validity.verify_audit(db, principal)
    return Response(orjson.dumps(result), media_type="application/json", status_code=200 if result["ok"] else 409)
