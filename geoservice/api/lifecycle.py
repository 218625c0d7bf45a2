"""Lifecycle actions on a zone (legal, admin) and its history.

Every action answers with the zone as it now is and its ETag; each honours If-Match (412 when the zone changed
since it was read) and Idempotency-Key (a repeat gets the first answer and writes nothing), and concurrent
actions on one zone are serialised: one wins, the others get 409 with the zone's current state.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from starlette.responses import Response

from geoservice import lifecycle
from geoservice.api.answers import GEOJSON, JSON, ZoneFeature, ZoneHistory, ok
from geoservice.api.deps import AtDep, DbDep, PrincipalDep
from geoservice.api.preconditions import PreconditionsDep
from geoservice.api.zones import ContentCrs, Repair, ZoneId, written
from geoservice.schemas import AmendIn, ArchiveIn, ExtendIn, PublishIn, RevokeIn

router = APIRouter(prefix="/api/v1/zones/{zone_id}", tags=["lifecycle"])


@router.post("/publish", summary="Publish the draft decision, from the moment it takes effect (legal, admin)",
             responses=ok((GEOJSON, ZoneFeature)))
async def publish(db: DbDep, principal: PrincipalDep, zone_id: ZoneId, body: Annotated[PublishIn, Body()],
                  pre: PreconditionsDep) -> Response:
    return written(await lifecycle.publish(db, principal, zone_id, body, pre))


@router.post("/extend", status_code=201, responses=ok((GEOJSON, ZoneFeature), status=201),
             summary="Extend by a new decision continuing from the current end (legal, admin)")
async def extend(db: DbDep, principal: PrincipalDep, zone_id: ZoneId, body: Annotated[ExtendIn, Body()],
                 pre: PreconditionsDep, content_crs: ContentCrs = None, repair: Repair = False) -> Response:
    return written(await lifecycle.extend(db, principal, zone_id, body, content_crs=content_crs, repair=repair,
                                          pre=pre))


@router.post("/amend", status_code=201, responses=ok((GEOJSON, ZoneFeature), status=201),
             summary="Change the boundary from a moment; the version before keeps the time before (legal, admin)")
async def amend(db: DbDep, principal: PrincipalDep, zone_id: ZoneId, body: Annotated[AmendIn, Body()],
                pre: PreconditionsDep, content_crs: ContentCrs = None, repair: Repair = False) -> Response:
    return written(await lifecycle.amend(db, principal, zone_id, body, content_crs=content_crs, repair=repair,
                                         pre=pre))


@router.post("/revoke", summary="Revoke from a moment inside the designation, with a reason (legal, admin); "
                                "a designation not yet begun is withdrawn; zones are never deleted",
             responses=ok((GEOJSON, ZoneFeature)))
async def revoke(db: DbDep, principal: PrincipalDep, zone_id: ZoneId, body: Annotated[RevokeIn, Body()],
                 pre: PreconditionsDep) -> Response:
    return written(await lifecycle.revoke(db, principal, zone_id, body, pre))


@router.post("/archive", summary="Withdraw the publication of an expired or revoked zone (legal, admin)",
             responses=ok((GEOJSON, ZoneFeature)))
async def archive(db: DbDep, principal: PrincipalDep, zone_id: ZoneId, body: Annotated[ArchiveIn, Body()],
                  pre: PreconditionsDep) -> Response:
    return written(await lifecycle.archive(db, principal, zone_id, body, pre))


@router.get("/history", summary="Every version with its boundary and decision; the audit trail for legal, admin",
            responses=ok((JSON, ZoneHistory)))
async def history(db: DbDep, principal: PrincipalDep, zone_id: ZoneId, at: AtDep) -> Response:
    return Response(await lifecycle.history(db, principal, zone_id, at), media_type="application/json")
