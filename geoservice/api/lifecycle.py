"""Lifecycle actions on a zone (legal, admin) and its history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from starlette.responses import Response

from geoservice import lifecycle
from geoservice.api.answers import GEOJSON, JSON, ZoneFeature, ZoneHistory, ok
from geoservice.api.deps import AtDep, DbDep, PrincipalDep
from geoservice.api.zones import ContentCrs, Repair, ZoneId, zone_response
from geoservice.schemas import AmendIn, ArchiveIn, ExtendIn, PublishIn, RevokeIn

router = APIRouter(prefix="/api/v1/zones/{zone_id}", tags=["lifecycle"])


@router.post("/publish", summary="Publish the draft decision, from the moment it takes effect (legal, admin)",
             responses=ok((GEOJSON, ZoneFeature)))
async def publish(db: DbDep, principal: PrincipalDep, zone_id: ZoneId, body: Annotated[PublishIn, Body()]
                  ) -> Response:
    await lifecycle.publish(db, principal, zone_id, body)
    return await zone_response(db, principal, zone_id)


@router.post("/extend", status_code=201, responses=ok((GEOJSON, ZoneFeature), status=201),
             summary="Extend by a new decision continuing from the current end (legal, admin)")
async def extend(db: DbDep, principal: PrincipalDep, zone_id: ZoneId, body: Annotated[ExtendIn, Body()],
                 content_crs: ContentCrs = None, repair: Repair = False) -> Response:
    await lifecycle.extend(db, principal, zone_id, body, content_crs=content_crs, repair=repair)
    return await zone_response(db, principal, zone_id, status=201)


@router.post("/amend", status_code=201, responses=ok((GEOJSON, ZoneFeature), status=201),
             summary="Change the boundary from a moment; the version before keeps the time before (legal, admin)")
async def amend(db: DbDep, principal: PrincipalDep, zone_id: ZoneId, body: Annotated[AmendIn, Body()],
                content_crs: ContentCrs = None, repair: Repair = False) -> Response:
    await lifecycle.amend(db, principal, zone_id, body, content_crs=content_crs, repair=repair)
    return await zone_response(db, principal, zone_id, status=201)


@router.post("/revoke", summary="Revoke from a moment, with a reason (legal, admin); zones are never deleted",
             responses=ok((GEOJSON, ZoneFeature)))
async def revoke(db: DbDep, principal: PrincipalDep, zone_id: ZoneId, body: Annotated[RevokeIn, Body()]
                 ) -> Response:
    await lifecycle.revoke(db, principal, zone_id, body)
    return await zone_response(db, principal, zone_id)


@router.post("/archive", summary="Withdraw the publication of an expired or revoked zone (legal, admin)",
             responses=ok((GEOJSON, ZoneFeature)))
async def archive(db: DbDep, principal: PrincipalDep, zone_id: ZoneId, body: Annotated[ArchiveIn, Body()]
                  ) -> Response:
    await lifecycle.archive(db, principal, zone_id, body)
    return await zone_response(db, principal, zone_id)


@router.get("/history", summary="Every version with its boundary and decision; the audit trail for legal, admin",
            responses=ok((JSON, ZoneHistory)))
async def history(db: DbDep, principal: PrincipalDep, zone_id: ZoneId, at: AtDep) -> Response:
    return Response(await lifecycle.history(db, principal, zone_id, at), media_type="application/json")

