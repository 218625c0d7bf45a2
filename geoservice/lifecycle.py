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
    Decision,
    Period,
    check_decision,
    continuity_breaches,
    parse_period,
    refuse,
    revocation_breaches,
)
from geoservice.schemas import AmendIn, ArchiveIn, ExtendIn, PublishIn, RevokeIn
from geoservice.store import zones as store
from geoservice.writes import (
    NO_PRECONDITIONS,
    Preconditions,
    WriteAnswer,
    ZoneWrite,
    record_override,
    refuse_repeated_decision,
    write_zone,
)
from geoservice.zones import check_placement, decision_stamp, kind_rules, resolve_input_crs

LIFECYCLE_ROLES = (Role.legal, Role.admin)


def _not_revoked(write: ZoneWrite) -> dict[str, Any]:
    zone = write.zone
    assert zone is not None
    if zone["revoked_at"] is not None:
        raise Conflict(f"zone {zone['id']} was revoked at {timeutil.isoformat_local(zone['revoked_at'])}; "
                       "a revoked zone takes no further decisions")
    return zone


def _last_designation(versions: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The published version that ends last: where an extension continues from."""
    live = [v for v in versions if v["state"] == "published" and not v["never_effective"]]
    return max(live, key=lambda v: (v["effective_to"], v["version_no"])) if live else None


async def publish(db: Database, principal: Principal, zone_id: int, body: PublishIn,
                  pre: Preconditions = NO_PRECONDITIONS) -> WriteAnswer:
    require(principal, *LIFECYCLE_ROLES, action="Publishing a zone")

    async def work(write: ZoneWrite) -> int:
        zone = _not_revoked(write)
        versions = write.versions
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
        decision_ref = body.decision_ref or draft["decision_ref"]
        await refuse_repeated_decision(write, zone_id, decision_ref, "decision_ref", same_version=draft["id"])
        continues = draft["change"] == "extension"
        previous = _last_designation(versions) if continues else None
        lapsed = previous is not None and _lapsed(previous, start)
        if lapsed:
            continues = False  # nothing left to continue: a new designation after a gap (see extend)
        override = check_decision(rules, Decision(
            effect_from=start, effect_field="effective_from", period=period, extension=continues,
            decision_ref=decision_ref, decision_field="decision_ref",
            previous_end=previous["effective_to"] if previous else None,
            acts_on_end=previous["effective_to"] if previous else None,
            # continuity with where the designation ends now (an amendment since the draft does not move it)
            breaches=continuity_breaches(Period(previous["effective_from"], previous["effective_to"]), period,
                                         body.allow_overlap) if continues and previous is not None else [],
        ), principal=principal, override_reason=body.override_reason)
        if lapsed:
            await store.update_version_fields(write.conn, draft["id"], {"change": "designation",
                                                                        "continues_version_id": None})
        await store.publish_version(
            write.conn, draft["id"], start=start, decision_ref=body.decision_ref, actor=principal.actor.name,
            override_rule=override.rule if override else None, override_reason=override.reason if override else None,
        )
        await record_override(write, principal, zone_id=zone_id, version_id=draft["id"], action="zone.publish",
                              override=override)
        if draft["politikreds_code"] and draft["politikreds_code"] != zone["politikreds_code"]:
            await store.update_zone_fields(write.conn, zone_id, {"politikreds_code": draft["politikreds_code"]})
        await _unarchive(write.conn, zone)
        return zone_id

    return await write_zone(db, principal, action="zone.publish", reason=body.override_reason, zone_id=zone_id,
                            pre=pre, status=200, work=work)


def _lapsed(previous: dict[str, Any], start: dt.datetime) -> bool:
    """The designation ended before now and the new decision starts from now or later: it cannot continue
    without a gap, so it is a new designation (the report lists the gap). A start before now is refused as
    retroactive instead (rules.retroactive_breach)."""
    now = timeutil.now()
    return previous["effective_to"] <= now and start >= now - CLOCK_SKEW


async def _unarchive(conn: AsyncConnection, zone: dict[str, Any]) -> None:
    """A new publication withdraws the archiving of an expired zone: it is live again, so its next expiry must
    be reported like any other (the audit log records the change of archived_at)."""
    if zone["archived_at"] is not None:
        await store.update_zone_fields(conn, zone["id"], {"archived_at": None, "archived_by": None})


async def extend(
    db: Database, principal: Principal, zone_id: int, body: ExtendIn, *, content_crs: str | None, repair: bool,
    pre: Preconditions = NO_PRECONDITIONS,
) -> WriteAnswer:
    require(principal, *LIFECYCLE_ROLES, action="Extending a zone")
    geometry = (parse_zone_geometry(body.geometry, srid=resolve_input_crs(content_crs, body.model_dump()),
                                    repair=repair) if body.geometry is not None else None)

    async def work(write: ZoneWrite) -> int:
        zone = _not_revoked(write)
        versions = write.versions
        if any(v["state"] == "draft" for v in versions):
            raise Conflict(f"zone {zone_id} already has a draft decision; publish or replace it first")
        await refuse_repeated_decision(write, zone_id, body.decision_ref, "decision_ref")
        rules = kind_rules(zone["kind"], "kind")
        previous = _last_designation(versions)
        if previous is None:
            raise Conflict(f"zone {zone_id} has no published designation to extend; publish it first")
        previous_end = previous["effective_to"]
        if finite(previous_end) is None:
            raise Conflict(f"zone {zone_id} has no end, so there is nothing to extend")
        start = timeutil.parse_instant(body.valid_from, "valid_from") if body.valid_from else previous_end
        if body.valid_from is None and body.valid_to is not None:
            end = timeutil.parse_instant(body.valid_to, "valid_to", date_means="end_inclusive")
            if end <= previous_end:
                # the designation already reaches that far (e.g. a concurrent extension won): a conflict with the
                # current state, not bad input
                raise Conflict(
                    f"zone {zone_id} is already designated until {timeutil.isoformat_local(previous_end)}; "
                    f"an extension to {timeutil.isoformat_local(end)} extends nothing",
                    errors=[FieldError("valid_to", "not after the current end of the designation",
                                       {"current_end": timeutil.isoformat_local(previous_end)})])
        if body.valid_from is not None and start < previous_end and any(
                v["effective_to"] == start for v in write.versions
                if v["state"] == "published" and not v["never_effective"] and v["id"] != previous["id"]):
            # it continues from an end that was current before another extension was recorded: a lost race (or a
            # stale read), not a wish to overlap
            raise Conflict(
                f"zone {zone_id} was extended meanwhile: its designation now ends "
                f"{timeutil.isoformat_local(previous_end)}, not {timeutil.isoformat_local(start)}",
                errors=[FieldError("valid_from", "an earlier end of the designation",
                                   {"current_end": timeutil.isoformat_local(previous_end)})])
        period = parse_period(start, body.valid_to, prefix="")
        lapsed = body.publish and _lapsed(previous, start)
        override = check_decision(rules, Decision(
            effect_from=start if body.publish else None, effect_field="valid_from", period=period,
            extension=not lapsed, decision_ref=body.decision_ref,
            decision_field="decision_ref" if body.publish else None, previous_end=previous_end,
            acts_on_end=previous_end,  # a lapsed one too: the new designation starts now, not in the lapse
            breaches=[] if lapsed else continuity_breaches(Period(previous["effective_from"], previous_end),
                                                           period, body.allow_overlap),
        ), principal=principal, override_reason=body.override_reason)
        if geometry is not None:
            district = await check_placement(write.conn, geometry, "geometry")
            if body.publish:  # a draft decides nothing: who sees the zone follows published boundaries only
                await store.update_zone_fields(write.conn, zone_id, {"politikreds_code": district})
            wkb = geometry.wkb
            write.repair = geometry.repair.as_dict() if geometry.repair else None
        else:
            wkb = await store.copy_geometry_wkb(write.conn, previous["id"])
        version_id = await store.insert_version(write.conn, {
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
            # the boundary in words goes with the boundary: kept when the extension keeps the boundary
            "boundary_text": body.boundary_text if body.geometry is not None or body.boundary_text
            else previous["boundary_text"],
            **decision_stamp(principal, publish=body.publish, override=override),
        })
        await record_override(write, principal, zone_id=zone_id, version_id=version_id, action="zone.extend",
                              override=override)
        if body.publish:
            await _unarchive(write.conn, zone)
        return zone_id

    return await write_zone(db, principal, action="zone.extend", reason=body.override_reason or body.reason,
                            zone_id=zone_id, pre=pre, status=201, work=work)


async def amend(
    db: Database, principal: Principal, zone_id: int, body: AmendIn, *, content_crs: str | None, repair: bool,
    pre: Preconditions = NO_PRECONDITIONS,
) -> WriteAnswer:
    """A new boundary from `effective_from` to the end of the version in force then; the old version keeps
    the time before. Later decisions (already published extensions) keep their own boundary."""
    require(principal, *LIFECYCLE_ROLES, action="Amending a zone")
    at = timeutil.parse_instant(body.effective_from, "effective_from")
    geometry = parse_zone_geometry(body.geometry, srid=resolve_input_crs(content_crs, body.model_dump()),
                                   repair=repair)

    async def work(write: ZoneWrite) -> int:
        zone = _not_revoked(write)
        await refuse_repeated_decision(write, zone_id, body.decision_ref, "decision_ref")
        rules = kind_rules(zone["kind"], "kind")
        target = next(
            (v for v in write.versions if v["state"] == "published" and not v["never_effective"]
             and v["effective_from"] <= at < v["effective_to"]),
            None,
        )
        if target is None:
            raise Conflict(
                f"no published version of zone {zone_id} is in force at {timeutil.isoformat_local(at)}; "
                "an amendment changes a designation from a moment inside it",
                errors=[FieldError("effective_from", "outside every published period of the zone")],
            )
        if at <= target["effective_from"]:
            raise Conflict(
                f"version {target['version_no']} of zone {zone_id} (decision {target['decision_ref']!r}) takes effect "
                f"at {timeutil.isoformat_local(target['effective_from'])}; an amendment from that same moment would "
                "leave it never in force. Amend from a later moment, or revoke and designate anew",
                errors=[FieldError("effective_from", "not after the start of the version it amends",
                                   {"rule": "amendment_inside_version",
                                    "version_start": timeutil.isoformat_local(target["effective_from"])})],
            )
        override = check_decision(rules, Decision(effect_from=at, effect_field="effective_from",
                                                  acts_on_end=finite(target["effective_to"])),
                                  principal=principal, override_reason=body.override_reason)
        # the zone's district is that of its newest published boundary (its history, the CLI); who sees a
        # restricted zone follows the district of the version shown (migrations/0111)
        await store.update_zone_fields(
            write.conn, zone_id, {"politikreds_code": await check_placement(write.conn, geometry, "geometry")})
        await store.end_version(write.conn, target["id"], at=at, reason="amended")
        version_id = await store.insert_version(write.conn, {
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
            "boundary_text": body.boundary_text,
            **decision_stamp(principal, publish=True, override=override),
        })
        await record_override(write, principal, zone_id=zone_id, version_id=version_id, action="zone.amend",
                              override=override)
        write.repair = geometry.repair.as_dict() if geometry.repair else None
        return zone_id

    return await write_zone(db, principal, action="zone.amend", reason=body.override_reason or body.reason,
                            zone_id=zone_id, pre=pre, status=201, work=work)


async def revoke(db: Database, principal: Principal, zone_id: int, body: RevokeIn,
                 pre: Preconditions = NO_PRECONDITIONS) -> WriteAnswer:
    """Revoke from a moment inside the designation (default now). A designation that has not begun by then is
    withdrawn: it ends at its own start and was never in force. An ended one is archived, not revoked."""
    require(principal, *LIFECYCLE_ROLES, action="Revoking a zone")
    at = timeutil.parse_instant(body.at, "at") if body.at else timeutil.now()

    async def work(write: ZoneWrite) -> int:
        zone = _not_revoked(write)
        published = [v for v in write.versions if v["state"] == "published" and not v["never_effective"]]
        if not any(v["state"] == "published" for v in write.versions):
            raise Conflict(f"zone {zone_id} is a draft and was never published; nothing to revoke")
        in_force = [v for v in published if v["effective_from"] <= at < v["effective_to"]]
        later = [v for v in published if v["effective_from"] > at]
        rules = kind_rules(zone["kind"], "kind")
        await refuse_repeated_decision(write, zone_id, body.decision_ref, "decision_ref")
        if not in_force and not later:
            ended = max((v["effective_to"] for v in published), default=at)
            refuse(revocation_breaches(at, started=None, ends=ended), kind=rules.code)
        # nothing can be revoked from before it was decided: not before its first start nor its first record
        decided = min(min(v["valid_from"] for v in published), min(v["published_at"] for v in published))
        refuse(revocation_breaches(at, started=decided, ends=None), kind=rules.code)
        run_end = max((v["effective_to"] for v in in_force), default=None)
        override = check_decision(rules, Decision(effect_from=at, effect_field="at", acts_on_end=finite(run_end)),
                                  principal=principal, override_reason=body.override_reason)
        await store.revoke(write.conn, zone_id, at=at, reason=body.reason, decision_ref=body.decision_ref,
                           actor=principal.actor.name)
        await record_override(write, principal, zone_id=zone_id, version_id=None, action="zone.revoke",
                              override=override)
        write.result = {"revoked_at": timeutil.isoformat_local(at),
                        "withdrawn": [v["version_no"] for v in later] if later else [],
                        "kind": "withdrawal" if not in_force else "revocation"}
        return zone_id

    return await write_zone(db, principal, action="zone.revoke", reason=body.reason, zone_id=zone_id, pre=pre,
                            status=200, work=work)


async def archive(db: Database, principal: Principal, zone_id: int, body: ArchiveIn,
                  pre: Preconditions = NO_PRECONDITIONS) -> WriteAnswer:
    """Withdraw the publication of a zone that has expired (or was revoked): it leaves the report's
    'expired but still published' list; its history stays. It takes effect now and changes no period."""
    require(principal, *LIFECYCLE_ROLES, action="Archiving a zone")

    async def work(write: ZoneWrite) -> int:
        zone = write.zone
        assert zone is not None
        if zone["archived_at"] is not None:
            raise Conflict(f"zone {zone_id} is already archived")
        status = await store.zone_status(write.conn, zone_id, timeutil.now())
        if status not in ("expired", "revoked"):
            raise Conflict(f"zone {zone_id} is {status}; only an expired or revoked zone is archived",
                           extra={"zone_status": status})
        await store.archive(write.conn, zone_id, principal.actor.name)
        return zone_id

    return await write_zone(db, principal, action="zone.archive", reason=body.reason, zone_id=zone_id, pre=pre,
                            status=200, work=work)


async def history(db: Database, principal: Principal, zone_id: int, at: dt.datetime | None = None) -> bytes:
    """Every version with its boundary and decision, with statuses at `at` (default now); for legal and admin
    also every recorded step (who, when, what changed), from the append-only audit log."""
    require(principal, Role.officer, Role.analyst, Role.legal, Role.admin, action="A zone's history")
    access = zone_filter(principal)
    now = at or timeutil.now()
    async with db.connection() as conn:
        zone = await store.zone_row(conn, zone_id)
        # a restricted zone's history is for the officers of the district of a version's boundary, and shows
        # them those versions only (migrations/0111)
        districts = {v["politikreds_code"] for v in await store.version_rows(conn, zone_id)
                     if access.drafts or v["state"] == "published"}
        if zone is None or not any(access.sees(zone["visibility"], d) for d in districts):
            raise NotFound(f"zone {zone_id} does not exist or is not visible to this role")
        only_district = (access.restricted_politikreds if zone["visibility"] == "restricted"
                         and not access.sees("restricted", None) else None)
        versions = await store.history_versions(conn, zone_id, now, drafts=access.drafts, district=only_district)
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
