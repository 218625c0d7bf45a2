"""/api/v1/webhooks: subscriptions and the delivery log (admin)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path, Query
from starlette.responses import Response

from geoservice.api.answers import JSON, Deliveries, DeliveryQueued, NewSubscription, Subscriptions, ok
from geoservice.api.deps import DbDep, OffsetQuery, PrincipalDep
from geoservice.api.feeds import json_response, problem
from geoservice.feeds import webhooks
from geoservice.feeds.schemas import SubscriptionIn, SubscriptionPatch

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])

Id = Annotated[int, Path(ge=1, le=2_147_483_647)]
ADMIN_ONLY = {401: problem("No token"), 403: problem("Not admin")}


@router.post("/subscriptions", status_code=201,
             responses={**ok((JSON, NewSubscription), status=201), **ADMIN_ONLY,
                        422: problem("URL or event type refused")},
             summary="Subscribe a URL to zone events (admin); the signing secret is in this answer only")
async def subscribe(db: DbDep, principal: PrincipalDep, body: Annotated[SubscriptionIn, Body()]) -> Response:
    made = await webhooks.create_subscription(db, principal, body)
    location = f"/api/v1/webhooks/subscriptions/{made['id']}"
    return json_response(made, 201, {"Location": location, "Cache-Control": "no-store"})


@router.get("/subscriptions", responses={**ok((JSON, Subscriptions)), **ADMIN_ONLY},
            summary="Subscriptions with their delivery counts (admin)")
async def subscriptions(db: DbDep, principal: PrincipalDep) -> Response:
    return json_response({"subscriptions": await webhooks.list_subscriptions(db, principal)})


@router.get("/subscriptions/{subscription_id}",
            responses={**ok((JSON, NewSubscription)), **ADMIN_ONLY, 404: problem("No such subscription")},
            summary="One subscription (admin)")
async def subscription(db: DbDep, principal: PrincipalDep, subscription_id: Id) -> Response:
    return json_response(await webhooks.get_subscription(db, principal, subscription_id))


@router.patch("/subscriptions/{subscription_id}",
              responses={**ok((JSON, NewSubscription)), **ADMIN_ONLY, 404: problem("No such subscription")},
              summary="Change, deactivate (active: false) or rotate the secret of a subscription (admin)")
async def change_subscription(db: DbDep, principal: PrincipalDep, subscription_id: Id,
                              body: Annotated[SubscriptionPatch, Body()]) -> Response:
    return json_response(await webhooks.change_subscription(db, principal, subscription_id, body))


@router.get("/deliveries", responses={**ok((JSON, Deliveries)), **ADMIN_ONLY},
            summary="The delivery log, newest first: status, attempts with their answer codes (admin)")
async def deliveries(
    db: DbDep,
    principal: PrincipalDep,
    subscription: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    status: Annotated[Literal["pending", "delivered", "failed"] | None, Query()] = None,
    event_id: Annotated[uuid.UUID | None, Query(description="The event's id (the webhook-id header)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: OffsetQuery = 0,
) -> Response:
    rows = await webhooks.list_deliveries(db, principal, subscription_id=subscription, status=status,
                                          event_id=str(event_id) if event_id else None, limit=limit, offset=offset)
    return json_response({"deliveries": rows})


@router.post("/deliveries/{delivery_id}/retry", status_code=202,
             responses={**ok((JSON, DeliveryQueued), status=202), **ADMIN_ONLY, 404: problem("No such delivery"),
                        409: problem("Not failed")},
             summary="Send a failed delivery again (admin)")
async def retry(db: DbDep, principal: PrincipalDep, delivery_id: Id) -> Response:
    await webhooks.retry_delivery(db, principal, delivery_id)
    return json_response({"id": delivery_id, "status": "pending"}, 202)
