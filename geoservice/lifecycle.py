"""The legal lifecycle of a zone: publish, extend, amend, revoke, archive — and its history.

draft → publish (from the moment it takes effect) → in force → expiring → expired → archived;
revoked at any moment with a reason. Each step is a new version or a recorded change of one, made in one
transaction and written to the append-only audit log by the database.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from psycopg import AsyncConnection

from geoservice import timeutil
from geoservice.access import Principal, Role, require, zone_filter
from geoservice.db import Database, finite
from geoservice.errors import Conflict, FieldError, NotFound
from geoservice.geometry import parse_zone_geometry
from geoservice.rules import (
    CLOCK_SKEW,
    Override,
    Period,
    check_period,
    continuity_breaches,
    decision_breach,
    enforce,
    parse_period,
    retroactive_breach,
)
from geoservice.schemas import AmendIn, ArchiveIn, ExtendIn, PublishIn, RevokeIn
from geoservice.store import zones as store
from geoservice.zones import check_placement, decision_stamp, kind_rules, resolve_input_crs

LIFECYCLE_ROLES = (Role.legal, Role.admin)


async def _load(conn: AsyncConnection, zone_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    zone = await store.zone_row(conn, zone_id, for_update=True)
    if zone is None:
        raise NotFound(f"zone {zone_id} does not exist")
    if zone["revoked_at"] is not None:
        raise Conflict(f"zone {zone_id} was revoked at {timeutil.isoformat_local(zone['revoked_at'])}; "
                       "a revoked zone takes no further decisions")
    return zone, await store.version_rows(conn, zone_id)



def _last_designation(versions: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The published version that ends last: where an extension continues from."""
    live = [v for v in versions if v["state"] == "published" and not v["never_effective"]]
    return max(live, key=lambda v: (v["effective_to"], v["version_no"])) if live else None


async def publish(db: Database, principal: Principal, zone_id: int, body: PublishIn) -> None:
    require(principal, *LIFECYCLE_ROLES, action="Publishing a zone")
    async with db.transaction(principal.actor, "zone.publish", body.override_reason) as conn:
        zone, versions = await _load(conn, zone_id)
        draft = next((v for v in versions if v["state"] == "draft"), None)
        if draft is None:
            raise Conflict(f"zone {zone_id} has no draft to publish")
        rules = kind_rules(zone["kind"], "kind")
        start = (timeutil.parse_instant(body.effective_from, "effective_from")
                 if body.effective_from else draft["valid_from"])
        period = Period(start, finite(draft["valid_to"]))
        if period.end is not None and period.end <= period.start:
            raise Conflict("effective_from is not before the end of the draft's period",
                           errors=[FieldError("effective_from", "after the end of the period")])
        continues = draft["change"] == "extension"
        previous = _last_designation(versions) if continues else None
        lapsed = previous is not None and _lapsed(previous, start)
        if lapsed:
            continues = False  # nothing left to continue: a new designation after a gap (see extend)
        breaches = check_period(rules, period, prefix="", extension=continues)
        breaches += decision_breach(rules, body.decision_ref or draft["decision_ref"], "decision_ref")
        breaches += retroactive_breach(start, "effective_from",
                                       previous_end=previous["effective_to"] if previous else None)
        if continues and previous is not None:
            # continuity with where the designation ends now (an amendment since the draft does not move it)
            breaches += continuity_breaches(Period(previous["effective_from"], previous["effective_to"]), period,
                                            body.allow_overlap)
        override = enforce(breaches, principal=principal, override_reason=body.override_reason, kind=rules.code)
        if lapsed:
            await store.update_version_fields(conn, draft["id"], {"change": "designation",
                                                                  "continues_version_id": None})
        await store.publish_version(
            conn, draft["id"], start=start, decision_ref=body.decision_ref, actor=principal.actor.name,
            override_rule=override.rule if override else None, override_reason=override.reason if override else None,
        )
        await _unarchive(conn, zone)


def _lapsed(previous: dict[str, Any], start: dt.datetime) -> bool:
    """The designation ended before now and the new decision starts from now or later: it cannot continue
    without a gap, so it is a new designation (the report lists the gap). A start before now is refused as
    retroactive instead (rules.retroactive_breach)."""
    now = timeutil.now()
    return previous["effective_to"] < now - CLOCK_SKEW and start >= now - CLOCK_SKEW


async def _unarchive(conn: AsyncConnection, zone: dict[str, Any]) -> None:
    """A new publication withdraws the archiving of an expired zone: it is live again, so its next expiry must
    be reported like any other (the audit log records the change of archived_at)."""
    if zone["archived_at"] is not None:
        await store.update_zone_fields(conn, zone["id"], {"archived_at": None, "archived_by": None})


async def extend(
    db: Database, principal: Principal, zone_id: int, body: ExtendIn, *, content_crs: str | None, repair: bool
) -> Override | None:
    require(principal, *LIFECYCLE_ROLES, action="Extending a zone")
    async with db.transaction(principal.actor, "zone.extend", body.override_reason or body.reason) as conn:
        zone, versions = await _load(conn, zone_id)
        if any(v["state"] == "draft" for v in versions):
            raise Conflict(f"zone {zone_id} already has a draft decision; publish or replace it first")
        rules = kind_rules(zone["kind"], "kind")
        previous = _last_designation(versions)
        if previous is None:
            raise Conflict(f"zone {zone_id} has no published designation to extend; publish it first")
        previous_end = previous["effective_to"]
        if finite(previous_end) is None:
            raise Conflict(f"zone {zone_id} has no end, so there is nothing to extend")
        start = timeutil.parse_instant(body.valid_from, "valid_from") if body.valid_from else previous_end
        period = parse_period(start, body.valid_to, prefix="")
        lapsed = body.publish and _lapsed(previous, start)
        breaches = [] if lapsed else continuity_breaches(
            Period(previous["effective_from"], previous_end), period, body.allow_overlap)
        breaches += check_period(rules, period, prefix="", extension=not lapsed)
        if body.publish:
            breaches += decision_breach(rules, body.decision_ref, "decision_ref")
            breaches += retroactive_breach(start, "valid_from", previous_end=previous_end)
        override = enforce(breaches, principal=principal, override_reason=body.override_reason, kind=rules.code)
        if body.geometry is not None:
            geometry = parse_zone_geometry(body.geometry, srid=resolve_input_crs(content_crs, body.model_dump()),
                                           repair=repair)
            await store.update_zone_fields(
                conn, zone_id, {"politikreds_code": await check_placement(conn, geometry, "geometry")})
            wkb = geometry.wkb
        else:
            wkb = await store.copy_geometry_wkb(conn, previous["id"])
        await store.insert_version(conn, {
            "zone_id": zone_id,
            "change": "designation" if lapsed else "extension",
            "continues_version_id": None if lapsed else previous["id"],
            "state": "published" if body.publish else "draft",
            "wkb": wkb,
            "valid_from": period.start,
            "valid_to": period.end,
            "decision_ref": body.decision_ref,
            "decided_by": body.decided_by or previous["decided_by"],
            "legal_basis": body.legal_basis or previous["legal_basis"] or rules.legal_basis,
            "reason": body.reason,
            **decision_stamp(principal, publish=body.publish, override=override),
        })
        if body.publish:
            await _unarchive(conn, zone)
    return override


async def amend(
    db: Database, principal: Principal, zone_id: int, body: AmendIn, *, content_crs: str | None, repair: bool
) -> None:
    """A new boundary from `effective_from` to the end of the version in force then; the old version keeps
    the time before. Later decisions (already published extensions) keep their own boundary."""
    require(principal, *LIFECYCLE_ROLES, action="Amending a zone")
    at = timeutil.parse_instant(body.effective_from, "effective_from")
    geometry = parse_zone_geometry(body.geometry, srid=resolve_input_crs(content_crs, body.model_dump()),
                                   repair=repair)
    async with db.transaction(principal.actor, "zone.amend", body.reason) as conn:
        zone, versions = await _load(conn, zone_id)
        rules = kind_rules(zone["kind"], "kind")
        target = next(
            (v for v in versions if v["state"] == "published" and not v["never_effective"]
             and v["effective_from"] <= at < v["effective_to"]),
            None,
        )
        if target is None:
            raise Conflict(
                f"no published version of zone {zone_id} is in force at {timeutil.isoformat_local(at)}; "
                "an amendment changes a designation from a moment inside it",
                errors=[FieldError("effective_from", "outside every published period of the zone")],
            )
        # the zone belongs to the district holding most of its newest boundary (who may see a restricted zone)
        await store.update_zone_fields(
            conn, zone_id, {"politikreds_code": await check_placement(conn, geometry, "geometry")})
        await store.end_version(conn, target["id"], at=at, reason="amended")
        await store.insert_version(conn, {
            "zone_id": zone_id,
            "change": "amendment",
            "continues_version_id": target["id"],
            "state": "published",
            "wkb": geometry.wkb,
            "valid_from": at,
            "valid_to": finite(target["effective_to"]),
            "decision_ref": body.decision_ref,
            "decided_by": body.decided_by or target["decided_by"],
            "legal_basis": body.legal_basis or target["legal_basis"] or rules.legal_basis,
            "reason": body.reason,
            **decision_stamp(principal, publish=True, override=None),
        })


async def revoke(db: Database, principal: Principal, zone_id: int, body: RevokeIn) -> dt.datetime:
    require(principal, *LIFECYCLE_ROLES, action="Revoking a zone")
    at = timeutil.parse_instant(body.at, "at") if body.at else timeutil.now()
    async with db.transaction(principal.actor, "zone.revoke", body.reason) as conn:
        _, versions = await _load(conn, zone_id)
        if not any(v["state"] == "published" for v in versions):
            raise Conflict(f"zone {zone_id} is a draft and was never published; nothing to revoke")
        await store.revoke(conn, zone_id, at=at, reason=body.reason, decision_ref=body.decision_ref,
                           actor=principal.actor.name)
    return at


async def archive(db: Database, principal: Principal, zone_id: int, body: ArchiveIn) -> None:
    """Withdraw the publication of a zone that has expired (or was revoked): it leaves the report's
    'expired but still published' list; its history stays."""
    require(principal, *LIFECYCLE_ROLES, action="Archiving a zone")
    async with db.transaction(principal.actor, "zone.archive", body.reason) as conn:
        zone = await store.zone_row(conn, zone_id, for_update=True)
        if zone is None:
            raise NotFound(f"zone {zone_id} does not exist")
        if zone["archived_at"] is not None:
            raise Conflict(f"zone {zone_id} is already archived")
        status = await store.zone_status(conn, zone_id, timeutil.now())
        if status not in ("expired", "revoked"):
            raise Conflict(f"zone {zone_id} is {status}; only an expired or revoked zone is archived",
                           extra={"zone_status": status})
        await store.archive(conn, zone_id, principal.actor.name)


async def history(db: Database, principal: Principal, zone_id: int, at: dt.datetime | None = None) -> bytes:
    """Every version with its boundary and decision, with statuses at `at` (default now); for legal and admin
    also every recorded step (who, when, what changed), from the append-only audit log."""
    require(principal, Role.officer, Role.analyst, Role.legal, Role.admin, action="A zone's history")
    access = zone_filter(principal)
    now = at or timeutil.now()
    async with db.connection() as conn:
        zone = await store.zone_row(conn, zone_id)
        if zone is None or not access.sees(zone["visibility"], zone["politikreds_code"]):
            raise NotFound(f"zone {zone_id} does not exist or is not visible to this role")
        versions = await store.history_versions(conn, zone_id, now, drafts=access.drafts)
        if versions == "[]":
            raise NotFound(f"zone {zone_id} has no published version visible to this role")
        events = await store.audit_events(conn, zone_id) if principal.role in LIFECYCLE_ROLES else None
        status = await store.zone_status(conn, zone_id, now)
    head = {
        "at": timeutil.isoformat_local(now),
        "zone": {
            "id": zone["id"], "name": zone["name"], "kind": zone["kind"], "status": status,
            "visibility": zone["visibility"], "illustrative": zone["illustrative"],
            "created_at": timeutil.isoformat_local(zone["created_at"]), "created_by": zone["created_by"],
            "revoked_at": timeutil.isoformat_local(zone["revoked_at"]) if zone["revoked_at"] else None,
            "revoke_reason": zone["revoke_reason"], "revoke_decision_ref": zone["revoke_decision_ref"],
            "archived_at": timeutil.isoformat_local(zone["archived_at"]) if zone["archived_at"] else None,
        },
    }
    if events is not None:
        head["events"] = [_event(e) for e in events]
    body = orjson.dumps(head)
    return body[:-1] + b',"versions":' + versions.encode() + b"}"


# Columns whose change is not news in a history (derived or bookkeeping).
_QUIET = {"effective", "ended_recorded_at", "revoked_recorded_at"}


def _event(row: dict[str, Any]) -> dict[str, Any]:
    before, after = row["before"] or {}, row["after"] or {}
    changes = {}
    for key in sorted(set(before) | set(after)):
        if key in _QUIET or before.get(key) == after.get(key):
            continue
        if key == "geom":
            changes[key] = "boundary changed" if before else "boundary set"
            continue
        changes[key] = {"before": before.get(key), "after": after.get(key)}
    version = (after or before).get("version_no") if row["entity"] == "zone_version" else None
    return {
        "at": timeutil.isoformat_local(row["at"]),
        "actor": row["actor"],
        "action": row["action"],
        "entity": row["entity"],
        "version": version,
        "reason": row["reason"],
        "changes": changes,
    }
