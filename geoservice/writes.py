"""The one way a zone is written: create, patch, replace and every lifecycle action go through `write_zone`.

One transaction; the zone's row locked, so concurrent writes to one zone are serialised and each sees the one
before it; If-Match checked against the zone's current state (412 when stale); an Idempotency-Key remembered
with the answer, so a repeat gets the first answer and writes nothing; the answer (the zone as it now is, and
its ETag) read inside the same transaction. The rules themselves are checked by `geoservice.rules.check_decision`
inside the work each route hands in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from psycopg import AsyncConnection

from geoservice import timeutil
from geoservice.access import Principal, zone_filter
from geoservice.db import Database
from geoservice.errors import (
    Conflict,
    FieldError,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
)
from geoservice.rules import Override
from geoservice.store import requests as request_store
from geoservice.store import zones as store


@dataclass(frozen=True)
class Preconditions:
    """What the client asked to be true before the write (HTTP: If-Match, Idempotency-Key)."""

    if_match: str | None = None
    if_match_required: bool = False      # GEOSERVICE_REQUIRE_IF_MATCH: a write without If-Match is refused (428)
    idempotency_key: str | None = None
    fingerprint: str = ""                # the request (method, path, body): one key, one request


NO_PRECONDITIONS = Preconditions()


@dataclass
class WriteAnswer:
    zone_id: int
    status: int
    body: str                            # the zone as a GeoJSON Feature, as the writer sees it now
    etag: str
    replayed: bool = False               # the answer to an earlier request with the same Idempotency-Key
    override: Override | None = None
    result: dict[str, Any] = field(default_factory=dict)  # what the route wants to say besides (e.g. revoked at)


@dataclass
class ZoneWrite:
    """Handed to a route's work: the locked zone and its versions (None when creating)."""

    conn: AsyncConnection
    zone: dict[str, Any] | None
    versions: list[dict[str, Any]]
    override: Override | None = None
    repair: dict[str, Any] | None = None
    result: dict[str, Any] = field(default_factory=dict)


Work = Callable[[ZoneWrite], Awaitable[int]]


def entity_tag(state: str, body: str) -> str:
    """A strong ETag: the zone's recorded state and a digest of this representation. The representation also
    depends on the moment and the role (a status changes with time), so the digest keeps the tag honest for
    caches; If-Match compares the state part (`if_match_holds`)."""
    return f'"{state}-{hashlib.sha256(body.encode()).hexdigest()[:12]}"'


async def zone_etag(conn: AsyncConnection, principal: Principal, zone_id: int, body: str) -> str:
    """The ETag of a representation of a zone (/api/v1 or /ogc). Those who cannot see drafts get a tag of what
    they see only: the recorded state changes with a pending draft decision and would reveal it."""
    if not zone_filter(principal).drafts:
        return entity_tag(hashlib.sha256(body.encode()).hexdigest()[:20], body)
    return entity_tag(await store.state_tag(conn, zone_id), body)


def if_match_holds(header: str, state: str) -> bool:
    """RFC 9110 If-Match: `*` or a list of entity tags. A weak tag never matches; a strong one matches when it
    names the zone's current recorded state (whatever moment or role its representation was for)."""
    text = header.strip()
    if text == "*":
        return True
    for tag in (t.strip() for t in text.split(",")):
        if tag.startswith('"') and tag.endswith('"') and len(tag) >= 2 and tag[1:-1].split("-", 1)[0] == state:
            return True
    return False


async def zone_feature(conn: AsyncConnection, principal: Principal, zone_id: int) -> str | None:
    """The zone as this principal sees it now, as a Feature (text), or None when they may not see it."""
    access = zone_filter(principal)
    zq = store.ZoneQuery(t=timeutil.now(), access=access, in_force_only=access.only_in_force, zone_ids=[zone_id],
                         limit=1)
    features, matched, _ = await store.select_features(conn, zq)
    return features[1:-1] if matched else None


async def current_state(conn: AsyncConnection, principal: Principal, zone_id: int) -> dict[str, Any]:
    """What a client needs to decide again after a 409 or 412: the zone's ETag and where it stands now."""
    body = await zone_feature(conn, principal, zone_id)
    state = await store.state_tag(conn, zone_id)
    if body is None:
        return {"etag": entity_tag(state, "")}
    props = orjson.loads(body)["properties"]
    keys = ("status", "version", "version_status", "valid_from", "valid_to", "designation_end", "decision_ref",
            "revoked_at")
    return {"etag": entity_tag(state, body), **{k: props.get(k) for k in keys}}


async def write_zone(db: Database, principal: Principal, *, action: str, reason: str | None,
                     zone_id: int | None, pre: Preconditions, status: int, work: Work) -> WriteAnswer:
    actor = principal.actor.name
    async with db.transaction(principal.actor, action, reason) as conn:
        if pre.idempotency_key:
            await request_store.lock_key(conn, actor, pre.idempotency_key)
            seen = await request_store.find(conn, actor, pre.idempotency_key)
            if seen is not None:
                if seen["fingerprint"] != pre.fingerprint:
                    raise InvalidInput(
                        "Idempotency-Key was already used for a different request; use a new key for a new request",
                        errors=[FieldError("Idempotency-Key", "used before with another method, path or body",
                                           {"first_used": timeutil.isoformat_local(seen["created_at"])})])
                return WriteAnswer(seen["zone_id"], seen["status"], seen["body"], seen["etag"], replayed=True)
        write = ZoneWrite(conn, None, [])
        if zone_id is not None:
            write.zone = await store.zone_row(conn, zone_id, for_update=True)
            if write.zone is None:
                if pre.if_match is not None:  # RFC 9110: If-Match (even *) on no current representation
                    raise PreconditionFailed(f"zone {zone_id} does not exist",
                                             errors=[FieldError("If-Match", "there is no zone to match")])
                raise NotFound(f"zone {zone_id} does not exist")
            await _check_if_match(conn, principal, zone_id, pre)
            write.versions = await store.version_rows(conn, zone_id)
        try:
            written_id = await work(write)
        except Conflict as exc:
            if zone_id is not None:
                exc.extra.setdefault("current", await current_state(conn, principal, zone_id))
            raise
        body = await zone_feature(conn, principal, written_id) or "{}"
        if write.repair:
            body = orjson.dumps({**orjson.loads(body), "repair": write.repair}).decode()
        etag = entity_tag(await store.state_tag(conn, written_id), body)
        if pre.idempotency_key:
            await request_store.remember(conn, actor=actor, key=pre.idempotency_key, fingerprint=pre.fingerprint,
                                         zone_id=written_id, status=status, body=body, etag=etag)
    return WriteAnswer(written_id, status, body, etag, override=write.override, result=write.result)


async def _check_if_match(conn: AsyncConnection, principal: Principal, zone_id: int, pre: Preconditions) -> None:
    if pre.if_match is None:
        if pre.if_match_required:
            raise PreconditionRequired(
                "send If-Match with the ETag of the zone as you last read it (GET /api/v1/zones/{id}), so that a "
                "change made meanwhile by someone else is not overwritten",
                errors=[FieldError("If-Match", "required for writes on this service")],
                extra={"current": await current_state(conn, principal, zone_id)})
        return
    if not if_match_holds(pre.if_match, await store.state_tag(conn, zone_id)):
        raise PreconditionFailed(
            f"zone {zone_id} has changed since the version your If-Match names; read it again and decide anew",
            errors=[FieldError("If-Match", "does not name the zone's current state")],
            extra={"current": await current_state(conn, principal, zone_id)})


async def record_override(write: ZoneWrite, principal: Principal, *, zone_id: int, version_id: int | None,
                          action: str, override: Override | None) -> None:
    """Store an admin override in the override log (and keep it for the answer)."""
    if override is None:
        return
    write.override = override
    await store.record_override(write.conn, zone_id=zone_id, version_id=version_id, action=action,
                                rules=override.rules, rule_text=override.rule, reason=override.reason,
                                actor=principal.actor.name)


async def refuse_repeated_decision(write: ZoneWrite, zone_id: int, decision_ref: str | None, field: str,
                                   *, same_version: int | None = None) -> None:
    """One decision is recorded once: a decision reference already on a version of this zone cannot create
    another one (a repeated or concurrent request, or a copy-paste)."""
    existing = await store.version_with_decision(write.conn, zone_id, decision_ref)
    if existing is not None and existing["id"] != same_version:
        raise Conflict(
            f"decision {decision_ref!r} is already recorded on version {existing['version_no']} of zone {zone_id};"
            " one decision is recorded once",
            errors=[FieldError(field, f"already recorded as version {existing['version_no']}",
                               {"rule": "decision_recorded_once"})],
        )
