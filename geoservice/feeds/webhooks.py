"""Signed webhooks: subscriptions (admin), the signed event body, and the delivery log.

Events come from the outbox (feed_event, written by database triggers in the transaction of each change; see
migrations/0151_feed_outbox.sql) and are fanned out to the matching subscriptions at once. The signature
follows the Standard Webhooks specification (the headers `webhook-id`, `webhook-timestamp` and
`webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, secret `whsec_<base64>`), so receivers can
verify with its libraries or in a few lines (README, Feeds).

Target URLs are configured by an admin, so they may point anywhere the service can reach (an integration inside
the police network is the usual case); only http and https are accepted, with no user name or password in the
URL, and redirects are not followed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any
from urllib.parse import urlsplit

import orjson

from geoservice import timeutil
from geoservice.access import Principal, Role, require
from geoservice.db import Database
from geoservice.errors import Conflict, FieldError, InvalidInput, NotFound
from geoservice.feeds.schemas import SubscriptionIn, SubscriptionPatch
from geoservice.store import webhooks as store

SECRET_PREFIX = "whsec_"
DELIVERY_STATUSES = ("pending", "delivered", "failed")
USER_AGENT = "geoservice-webhooks/1"


# --- signing --------------------------------------------------------------------------------------------------


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256>` of "msg_id.timestamp.body" keyed with the secret's bytes (Standard Webhooks)."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def signed_headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, msg_id, timestamp, body),
    }


def event_body(row: dict[str, Any], base_url: str) -> bytes:
    """The JSON an event is sent as: the same bytes on every attempt (the signature's timestamp is the attempt's)."""
    zone_id = row["zone_id"]
    return orjson.dumps({
        "id": str(row["event_id"]),
        "type": row["type"],
        "timestamp": timeutil.isoformat_local(row["occurred_at"]),
        "sequence": row["sequence"],
        "data": row["data"],
        "links": [
            {"rel": "zone", "type": "application/geo+json", "href": f"{base_url}/api/v1/zones/{zone_id}"},
            {"rel": "history", "type": "application/json", "href": f"{base_url}/api/v1/zones/{zone_id}/history"},
        ],
    })


# --- subscriptions --------------------------------------------------------------------------------------------


def check_url(url: str, field: str = "url") -> str:
    """An absolute http(s) URL with a host, without credentials or a fragment."""
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a port that is not a number
    except ValueError as exc:
        raise InvalidInput(f"{field} is not a URL", errors=[FieldError(field, str(exc))]) from None
    reason = None
    if parts.scheme.lower() not in ("http", "https"):
        reason = f"scheme {parts.scheme or '(none)'!r} is not accepted; only http and https"
    elif not parts.hostname:
        reason = "no host"
    elif parts.username is not None or parts.password is not None:
        reason = "no user name or password in the URL; receivers verify the signature instead"
    elif parts.fragment:
        reason = "no fragment (#...)"
    elif port == 0:
        reason = "port 0"
    if reason:
        raise InvalidInput(f"{field}: {reason}", errors=[FieldError(field, reason)])
    return url


def _subscription(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"], "url": row["url"], "event_types": row["event_types"], "visibility": row["visibility"],
        "description": row["description"], "active": row["active"],
        "created_at": timeutil.isoformat_local(row["created_at"]), "created_by": row["created_by"],
        "secret_set_at": timeutil.isoformat_local(row["secret_set_at"]),
        "deliveries": {"pending": row["pending"], "delivered": row["delivered"], "failed": row["failed"]},
    }


async def create_subscription(db: Database, principal: Principal, body: SubscriptionIn) -> dict[str, Any]:
    """A new subscription; its signing secret is in this answer only."""
    require(principal, Role.admin, action="Webhook subscriptions")
    check_url(body.url)
    secret = new_secret()
    async with db.transaction(principal.actor, "webhook.subscribe") as conn:
        subscription_id = await store.insert_subscription(conn, {
            "url": body.url, "event_types": sorted(set(body.event_types)) if body.event_types else None,
            "visibility": body.visibility, "description": body.description, "created_by": principal.actor.name,
        }, secret)
        rows = await store.subscriptions(conn, subscription_id)
    return {**_subscription(rows[0]), "secret": secret}


async def list_subscriptions(db: Database, principal: Principal) -> list[dict[str, Any]]:
    require(principal, Role.admin, action="Webhook subscriptions")
    async with db.connection() as conn:
        return [_subscription(row) for row in await store.subscriptions(conn)]


async def get_subscription(db: Database, principal: Principal, subscription_id: int) -> dict[str, Any]:
    require(principal, Role.admin, action="Webhook subscriptions")
    async with db.connection() as conn:
        rows = await store.subscriptions(conn, subscription_id)
    if not rows:
        raise NotFound(f"no webhook subscription {subscription_id}")
    return _subscription(rows[0])


async def change_subscription(db: Database, principal: Principal, subscription_id: int, patch: SubscriptionPatch
                              ) -> dict[str, Any]:
    """Change a subscription (deactivate with `active: false`: its deliveries wait until it is active again)."""
    require(principal, Role.admin, action="Webhook subscriptions")
    given = patch.model_dump(exclude_unset=True)
    rotate = given.pop("rotate_secret", False)
    if not given and not rotate:
        raise InvalidInput("the patch changes nothing", errors=[FieldError("body", "no fields given")])
    for name in ("url", "visibility", "active"):
        if name in given and given[name] is None:
            raise InvalidInput(f"{name} cannot be null", errors=[FieldError(name, "cannot be null")])
    if "url" in given:
        check_url(given["url"])
    if given.get("event_types"):
        given["event_types"] = sorted(set(given["event_types"]))
    secret = new_secret() if rotate else None
    async with db.transaction(principal.actor, "webhook.change") as conn:
        if await store.lock_subscription(conn, subscription_id) is None:
            raise NotFound(f"no webhook subscription {subscription_id}")
        await store.update_subscription(conn, subscription_id, given)
        if secret:
            await store.set_secret(conn, subscription_id, secret)
        rows = await store.subscriptions(conn, subscription_id)
    answer = _subscription(rows[0])
    return {**answer, "secret": secret} if secret else answer


def _delivery(row: dict[str, Any]) -> dict[str, Any]:
    times = ("next_attempt_at", "last_attempt_at", "delivered_at", "created_at", "occurred_at")
    out = {k: (timeutil.isoformat_local(v) if k in times and v else v) for k, v in row.items()}
    out["event_id"] = str(row["event_id"])
    if out["status"] != "pending":
        out["next_attempt_at"] = None
    return out


async def list_deliveries(
    db: Database, principal: Principal, *, subscription_id: int | None, status: str | None, event_id: str | None,
    limit: int, offset: int,
) -> list[dict[str, Any]]:
    require(principal, Role.admin, action="The webhook delivery log")
    if status is not None and status not in DELIVERY_STATUSES:
        raise InvalidInput(f"status: unknown status {status!r}",
                           errors=[FieldError("status", "one of " + ", ".join(DELIVERY_STATUSES))])
    async with db.connection() as conn:
        rows = await store.deliveries(conn, subscription_id=subscription_id, status=status, event_id=event_id,
                                      limit=limit, offset=offset)
    return [_delivery(row) for row in rows]


async def retry_delivery(db: Database, principal: Principal, delivery_id: int) -> None:
    """Send a failed delivery again (one more attempt, then the usual backoff stops it)."""
    require(principal, Role.admin, action="Retrying a webhook delivery")
    async with db.transaction(principal.actor, "webhook.retry") as conn:
        status = await store.delivery_status(conn, delivery_id)
        if status is None:
            raise NotFound(f"no webhook delivery {delivery_id}")
        if status != "failed":
            raise Conflict(f"delivery {delivery_id} is {status}; only a failed delivery is sent again")
        await store.reset_delivery(conn, delivery_id)
