"""Zones: creating, reading, changing and revoking them, with the rules of their kind.

Handlers call these functions; the rules come from `geoservice.rules` and `layers/`, the SQL from
`geoservice.store.zones`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from geoservice import timeutil
from geoservice.access import Principal, Role, require, zone_filter
from geoservice.db import Database, finite
from geoservice.errors import (
    Conflict,
    FieldError,
    Forbidden,
    GeoserviceError,
    InvalidInput,
    NotFound,
    OutsideDenmark,
    RuleViolation,
)
from geoservice.geometry import (
    MAX_DISTANCE_FROM_DENMARK_M,
    ZoneGeometry,
    crs_from_geojson_member,
    parse_zone_geometry,
    resolve_crs,
)
from geoservice.layers import KindRules, get_layers
from geoservice.rules import Decision, Override, Period, check_decision, parse_period
from geoservice.schemas import ZoneFeatureIn, ZoneFeatureReplace, ZonePatch
from geoservice.store import zones as store
from geoservice.writes import (
    NO_PRECONDITIONS,
    Preconditions,
    WriteAnswer,
    ZoneWrite,
    record_override,
    refuse_repeated_decision,
    write_zone,
    zone_etag,
)

ZONE_STATUSES = ("draft", "scheduled", "in_force", "expiring", "expired", "revoked")
PUBLIC_STATUSES = {"in_force", "expiring"}
# Fields a patch may change but never clear.
NOT_NULL_FIELDS = ("name", "visibility", "illustrative", "valid_from", "geometry")


def check_kinds(kinds: list[str] | None, field: str = "kind") -> list[str] | None:
    """Refuse unknown kind codes, naming them and the known ones."""
    unknown = [k for k in kinds or [] if get_layers().kind(k) is None]
    if unknown:
        raise InvalidInput(f"{field}: unknown zone kind(s) {', '.join(unknown)}",
                           errors=[FieldError(field, f"unknown: {', '.join(unknown)}; known: "
                                              + ", ".join(sorted(get_layers().kinds)))])
    return kinds


def zone_query(
    principal: Principal, *, at: dt.datetime | None, kinds: list[str] | None = None,
    statuses: list[str] | None = None, published_as_of: dt.datetime | None = None,
    bbox: tuple[float, float, float, float] | None = None, q: str | None = None, simplify_m: float = 0.0,
    limit: int = 100, offset: int = 0,
) -> store.ZoneQuery:
    """What a zone listing may return to this principal. `at` alone asks what was in force then; with
    `statuses` it is the moment the statuses are taken at. The public sees only zones in force."""
    access = zone_filter(principal)
    if statuses:
        bad = [s for s in statuses if s not in ZONE_STATUSES]
        if bad:
            raise InvalidInput(f"status: unknown status {', '.join(bad)}",
                               errors=[FieldError("status", "expected one or more of " + ", ".join(ZONE_STATUSES))])
        if access.only_in_force and not set(statuses) <= PUBLIC_STATUSES:
            raise Forbidden("the public sees only zones in force; other statuses need a staff role",
                            extra={"role": principal.role.value})
    return store.ZoneQuery(
        t=at or timeutil.now(),
        access=access,
        in_force_only=access.only_in_force or (at is not None and not statuses),
        published_as_of=published_as_of,
        kinds=check_kinds(kinds),
        statuses=statuses,
        bbox=bbox,
        q=q,
        simplify_m=simplify_m,
        limit=limit,
        offset=offset,
    )


def kind_rules(code: str, field: str = "properties.kind") -> KindRules:
    rules = get_layers().kind(code)
    if rules is None:
        known = ", ".join(sorted(get_layers().kinds))
        raise InvalidInput(f"{field}: unknown zone kind {code!r}",
                           errors=[FieldError(field, f"unknown kind {code!r}; known kinds: {known}")])
    return rules


def resolve_input_crs(content_crs: str | None, body: dict[str, Any] | None) -> int:
    """The CRS of a request body: the Content-Crs header or the legacy crs member (they must agree)."""
    from_header = resolve_crs(content_crs, "Content-Crs") if content_crs else None
    from_member = crs_from_geojson_member(body, "crs") if body and body.get("crs") is not None else None
    if from_header and from_member and from_header != from_member:
        raise InvalidInput(
            "Content-Crs and the crs member disagree",
            errors=[FieldError("crs", f"header says EPSG:{from_header}, body says EPSG:{from_member}")],
        )
    return from_header or from_member or 4326


def decision_stamp(principal: Principal, *, publish: bool, override: Override | None) -> dict[str, Any]:
    """Who made a new version, whether and when it was published, and any rule an admin overrode for it."""
    published = timeutil.now() if publish else None
    return {
        "published_at": published,
        "published_by": principal.actor.name if publish else None,
        "override_rule": override.rule if override else None,
        "override_reason": override.reason if override else None,
        "created_by": principal.actor.name,
    }


def check_visibility(rules: KindRules, visibility: str, field: str = "properties.visibility") -> None:
    if rules.never_public and visibility == "public":
        text = f"En zone af typen {rules.name.da} vises aldrig offentligt ({rules.code}: never_public)"
        raise RuleViolation(
            f"{text}: visibility must be internal or restricted",
            errors=[FieldError(field, "a zone of this kind can never be public", {"rule": "never_public"})],
            extra={"kind": rules.code, "rules": [{"rule": "never_public", "text": text, "field": field}]},
        )


async def check_placement(conn: AsyncConnection, geometry: ZoneGeometry, field: str) -> str | None:
    """The politikreds holding most of the boundary; refuses a boundary any part of which lies farther than
    MAX_DISTANCE_FROM_DENMARK_M from every Danish police district, naming the farthest point."""
    return placement_code(await store.placement(conn, geometry.wkb), field)


def placement_code(place: dict[str, Any], field: str) -> str | None:
    """The politikreds of a placement (store.placement), or OutsideDenmark naming the farthest point."""
    distance = place["distance_m"]
    if distance is not None and distance > MAX_DISTANCE_FROM_DENMARK_M:
        lon, lat = place["lon"], place["lat"]
        reason = (f"the boundary at lon {lon:.6f}, lat {lat:.6f} is {distance / 1000:.1f} km from the nearest "
                  f"Danish police district (at most {MAX_DISTANCE_FROM_DENMARK_M / 1000:.0f} km is accepted)")
        raise OutsideDenmark(
            f"{field}: part of the zone lies outside Denmark: {reason}",
            errors=[FieldError(f"{field}.coordinates", reason,
                               {"location": [round(lon, 7), round(lat, 7)], "distance_m": round(distance)})],
        )
    return place["code"]


def _field(name: str, prefix: str) -> str:
    """The field as the request named it: the geometry is top-level in a Feature, the rest are properties."""
    return name if name in ("geometry", "crs") else prefix + name


@dataclass
class NewZone:
    """A new zone that has passed the rule check of create_zone, ready to be written."""

    props: Any                          # the feature's properties (ZoneProperties)
    rules: KindRules
    geometry: ZoneGeometry
    period: Period
    visibility: str
    override: Override | None
    source_key: str | None = None       # set by imports and the demo, not by the API
    properties: dict[str, Any] | None = None


def check_new_zone(principal: Principal, props: Any, geometry: ZoneGeometry, *, source_key: str | None = None,
                   properties: dict[str, Any] | None = None) -> NewZone:
    """The rule check of a new zone (its properties, ZoneProperties, and its boundary as parse_zone_geometry
    made it): a draft, or published at once (`publish: true`) through the same rules as the publish route: no
    retroactive effect, the decision reference, the kind's period limits and minimum visibility. `source_key`
    and `properties` (where the zone came from, e.g. a file import's source and credit) are set by imports, not
    by the API."""
    require(principal, Role.admin, action="Creating a zone")
    rules = kind_rules(props.kind)
    period = parse_period(props.valid_from, props.valid_to)
    visibility = props.visibility or rules.default_visibility
    check_visibility(rules, visibility)
    override = check_decision(rules, Decision(
        effect_from=period.start if props.publish else None, effect_field="properties.valid_from",
        period=period, period_prefix="properties.",
        decision_ref=props.decision_ref, decision_field="properties.decision_ref" if props.publish else None,
        visibility=visibility, visibility_field="properties.visibility",
    ), principal=principal, override_reason=props.override_reason)
    return NewZone(props, rules, geometry, period, visibility, override, source_key, properties)


def _zone_values(principal: Principal, new: NewZone, politikreds: str | None) -> dict[str, Any]:
    props = new.props
    return {
        "kind": new.rules.code,
        "name": props.name,
        "description": props.description,
        "visibility": new.visibility,
        "illustrative": props.illustrative,
        "politikreds_code": politikreds,
        "list_edition": props.list_edition,
        "source_key": new.source_key,
        "properties": Jsonb(new.properties or {}),
        "created_by": principal.actor.name,
    }


def _version_values(principal: Principal, new: NewZone, zone_id: int) -> dict[str, Any]:
    props = new.props
    return {
        "zone_id": zone_id,
        "version_no": 1,
        "change": "designation",
        "state": "published" if props.publish else "draft",
        "wkb": new.geometry.wkb,
        "valid_from": new.period.start,
        "valid_to": new.period.end,
        "decision_ref": props.decision_ref,
        "decided_by": props.decided_by,
        "legal_basis": props.legal_basis or new.rules.legal_basis,
        "reason": props.reason,
        "boundary_text": props.boundary_text,
        **decision_stamp(principal, publish=props.publish, override=new.override),
    }


async def create_zone(
    db: Database, principal: Principal, feature: ZoneFeatureIn, *, content_crs: str | None, repair: bool,
    source_key: str | None = None, properties: dict[str, Any] | None = None,
    pre: Preconditions = NO_PRECONDITIONS,
) -> WriteAnswer:
    """A new zone from a GeoJSON Feature: its boundary parsed, then the rule check of check_new_zone."""
    require(principal, Role.admin, action="Creating a zone")
    kind_rules(feature.properties.kind)  # an unknown kind is named before the boundary is looked at
    srid = resolve_input_crs(content_crs, feature.model_dump())
    geometry = parse_zone_geometry(feature.geometry, srid=srid, repair=repair)
    new = check_new_zone(principal, feature.properties, geometry, source_key=source_key, properties=properties)

    async def work(write: ZoneWrite) -> int:
        politikreds = await check_placement(write.conn, new.geometry, "geometry")
        zone_id = await store.insert_zone(write.conn, _zone_values(principal, new, politikreds))
        version_id = await store.insert_version(write.conn, _version_values(principal, new, zone_id))
        await record_override(write, principal, zone_id=zone_id, version_id=version_id, action="zone.create",
                              override=new.override)
        write.repair = new.geometry.repair.as_dict() if new.geometry.repair else None
        return zone_id

    return await write_zone(db, principal, action="zone.create", reason=new.props.override_reason, zone_id=None,
                            pre=pre, status=201, work=work)


@dataclass
class CreatedZone:
    zone_id: int
    politikreds: str | None
    override: Override | None


async def create_zones(db: Database, principal: Principal, new_zones: list[NewZone], *, reason: str | None
                       ) -> list[CreatedZone | GeoserviceError]:
    """Many new zones at once (file imports), each checked by check_new_zone beforehand (its boundary by
    parse_zone_geometries): the same placement, rows, audit and overrides as create_zone, written set-wise in one
    transaction. A zone whose boundary lies outside Denmark is not written; its place in the answer holds the
    error."""
    require(principal, Role.admin, action="Creating zones")
    answers: list[CreatedZone | GeoserviceError] = []
    async with db.transaction(principal.actor, "zone.create", reason) as conn:
        places = await store.placements(conn, [n.geometry.wkb for n in new_zones])
        placed: list[tuple[int, NewZone, str | None]] = []
        for i, (new, place) in enumerate(zip(new_zones, places, strict=True)):
            try:
                placed.append((i, new, placement_code(place, "geometry")))
            except OutsideDenmark as exc:
                answers.append(exc)
                continue
            answers.append(CreatedZone(0, place["code"], new.override))
        zone_ids = await store.insert_zones(conn, [_zone_values(principal, n, code) for _, n, code in placed])
        version_ids = await store.insert_versions(conn, [_version_values(principal, n, zone_id)
                                                         for (_, n, _), zone_id in zip(placed, zone_ids, strict=True)])
        overrides = []
        for (i, new, _), zone_id, version_id in zip(placed, zone_ids, version_ids, strict=True):
            created = answers[i]
            assert isinstance(created, CreatedZone)
            created.zone_id = zone_id
            if new.override is not None:
                overrides.append({"zone_id": zone_id, "version_id": version_id, "action": "zone.create",
                                  "rules": list(new.override.rules), "rule_text": new.override.rule,
                                  "reason": new.override.reason, "actor": principal.actor.name})
        await store.record_overrides(conn, overrides)
    return answers


async def get_zone_feature(db: Database, principal: Principal, zone_id: int, at: dt.datetime | None
                           ) -> tuple[str, str]:
    """One zone as a GeoJSON Feature (text) as the principal may see it, and its ETag; 404 when they may not."""
    access = zone_filter(principal)
    zq = store.ZoneQuery(
        t=at or timeutil.now(),
        access=access,
        in_force_only=access.only_in_force,
        zone_ids=[zone_id],
        limit=1,
    )
    async with db.connection() as conn:
        features, matched, _ = await store.select_features(conn, zq)
        if matched == 0:
            raise NotFound(f"zone {zone_id} does not exist or is not visible to this role at this time")
        feature = features[1:-1]  # the single feature out of its array
        return feature, await zone_etag(conn, principal, zone_id, feature)


async def list_zones(db: Database, zq: store.ZoneQuery) -> tuple[str, int, int]:
    async with db.connection() as conn:
        return await store.select_features(conn, zq)


async def patch_zone(
    db: Database, principal: Principal, zone_id: int, patch: ZonePatch, *, content_crs: str | None, repair: bool,
    prefix: str = "", pre: Preconditions = NO_PRECONDITIONS,
) -> WriteAnswer:
    """PATCH (and the rest of PUT, which passes prefix="properties." so errors name the fields it was sent)."""
    require(principal, Role.admin, action="Changing a zone")
    given = patch.model_dump(exclude_unset=True)
    if not given:
        raise InvalidInput("the patch changes nothing", errors=[FieldError("body", "no fields given")])
    nulls = [k for k in NOT_NULL_FIELDS if k in given and given[k] is None]
    if nulls:
        raise InvalidInput(f"{', '.join(nulls)} cannot be null",
                           errors=[FieldError(_field(k, prefix), "cannot be null; leave the field out to keep it")
                                   for k in nulls])
    geometry = (parse_zone_geometry(given["geometry"], srid=resolve_input_crs(content_crs, given), repair=repair)
                if "geometry" in given else None)

    async def work(write: ZoneWrite) -> int:
        zone = write.zone
        assert zone is not None
        if zone["revoked_at"] is not None:
            raise Conflict(f"zone {zone_id} is revoked; it can no longer be changed")
        rules = kind_rules(zone["kind"], "kind")
        latest = write.versions[-1]
        is_draft = latest["state"] == "draft"

        zone_fields = {k: given[k] for k in ("name", "description", "visibility", "illustrative", "list_edition")
                       if k in given}
        if "visibility" in zone_fields:
            check_visibility(rules, zone_fields["visibility"], _field("visibility", prefix))

        version_fields: dict[str, Any] = {}
        frozen = [k for k in ("geometry", "valid_from", "valid_to") if k in given]
        if frozen and not is_draft:
            raise Conflict(
                f"zone {zone_id} is published: its boundary and period change only by a new decision "
                f"(POST /api/v1/zones/{zone_id}/extend or /amend), so the history keeps it",
                errors=[FieldError(_field(k, prefix), "cannot change after publication") for k in frozen],
            )
        if geometry is not None:
            version_fields["wkb"] = geometry.wkb  # its district is set by the database (migrations/0111)
            district = await check_placement(write.conn, geometry, "geometry")
            if not any(v["state"] == "published" for v in write.versions):
                zone_fields["politikreds_code"] = district  # a published zone's district follows publications
            write.repair = geometry.repair.as_dict() if geometry.repair else None
        period = None
        if "valid_from" in given or "valid_to" in given:
            valid_from = given.get("valid_from", latest["valid_from"])
            valid_to = given["valid_to"] if "valid_to" in given else finite(latest["valid_to"])
            period = parse_period(valid_from, valid_to, prefix=prefix)
            version_fields["period"] = (period.start, period.end)
        for key in ("decision_ref", "decided_by", "legal_basis", "reason", "boundary_text"):
            if key not in given:
                continue
            # A published decision is not rewritten; a missing reference may be filled in once.
            if not is_draft and not (key == "decision_ref" and latest["decision_ref"] is None):
                raise Conflict(
                    f"{key} of a published version cannot be changed; extend or amend with a new decision",
                    errors=[FieldError(_field(key, prefix), "cannot change after publication")],
                )
            version_fields[key] = given[key]
        if "decision_ref" in given:
            await refuse_repeated_decision(write, zone_id, given["decision_ref"], _field("decision_ref", prefix),
                                           same_version=latest["id"])
        # the one rule check, in two parts because they take effect differently: a draft's period against the
        # kind (an override belongs to that version and counts from its publication), and a visibility less
        # protected than the kind's minimum (an override of the zone, in effect and reported at once)
        changed_visibility = zone_fields.get("visibility")
        if changed_visibility == zone["visibility"]:
            changed_visibility = None
        period_override = check_decision(rules, Decision(
            effect_from=None, effect_field="", period=period, period_prefix=prefix,
        ), principal=principal, override_reason=patch.override_reason) if period is not None else None
        visibility_override = check_decision(rules, Decision(
            effect_from=None, effect_field="", visibility=changed_visibility,
            visibility_field=_field("visibility", prefix),
        ), principal=principal, override_reason=patch.override_reason) if changed_visibility else None
        if period is not None:
            version_fields["override_rule"] = period_override.rule if period_override else None
            version_fields["override_reason"] = period_override.reason if period_override else None
        await store.update_zone_fields(write.conn, zone_id, zone_fields)
        await store.update_version_fields(write.conn, latest["id"], version_fields)
        await record_override(write, principal, zone_id=zone_id, version_id=latest["id"], action="zone.update",
                              override=period_override)
        await record_override(write, principal, zone_id=zone_id, version_id=None, action="zone.update",
                              override=visibility_override)
        return zone_id

    return await write_zone(db, principal, action="zone.update", reason=patch.override_reason, zone_id=zone_id,
                            pre=pre, status=200, work=work)


async def replace_zone(
    db: Database, principal: Principal, zone_id: int, feature: ZoneFeatureReplace, *, content_crs: str | None,
    repair: bool, pre: Preconditions = NO_PRECONDITIONS,
) -> WriteAnswer:
    """PUT: the whole zone again, as GET returned it and edited. A draft takes everything; a published zone
    only what may change after publication (the rest must be unchanged). The read-only properties are ignored."""
    require(principal, Role.admin, action="Replacing a zone")
    props = feature.properties
    for field, given in (("id", feature.id), ("properties.id", props.id)):
        if given is not None and str(given) != str(zone_id):
            raise InvalidInput(f"{field} {given!r} is not the zone being replaced ({zone_id})",
                               errors=[FieldError(field, f"must be {zone_id}, the id in the path, or left out")])
    async with db.connection() as conn:
        zone = await store.zone_row(conn, zone_id)
        if zone is None:
            raise NotFound(f"zone {zone_id} does not exist")
        versions = await store.version_rows(conn, zone_id)
    if props.kind != zone["kind"]:
        raise Conflict("the kind of a zone cannot change; create a new zone",
                       errors=[FieldError("properties.kind", f"is {zone['kind']!r}")])
    if props.publish:
        raise InvalidInput("PUT does not publish; use POST /api/v1/zones/{id}/publish",
                           errors=[FieldError("properties.publish", "not accepted on PUT")])
    shown = _version_shown(versions)
    patch_data: dict[str, Any] = {
        "name": props.name,
        "description": props.description,
        # left out, the visibility stays as it is: a PUT never lowers a zone's protection by omission
        "visibility": props.visibility or zone["visibility"],
        "illustrative": props.illustrative,
        "list_edition": props.list_edition,
    }
    if props.override_reason is not None:
        patch_data["override_reason"] = props.override_reason
    latest = shown
    if shown["state"] == "draft":
        patch_data.update(
            geometry=feature.geometry, crs=feature.crs, valid_from=props.valid_from, valid_to=props.valid_to,
            decision_ref=props.decision_ref, decided_by=props.decided_by,
            legal_basis=props.legal_basis, reason=props.reason, boundary_text=props.boundary_text,
        )
    else:
        _same_published_decision(feature, latest)
        srid = resolve_input_crs(content_crs, feature.model_dump())
        geometry = parse_zone_geometry(feature.geometry, srid=srid, repair=repair)
        async with db.connection() as conn:
            # GET gives 6 decimals (up to 7 cm off); a boundary sent back unchanged must count as unchanged
            if not await store.same_geometry(conn, latest["id"], geometry.wkb, tolerance_m=0.25):
                raise Conflict(
                    "the zone is published: its boundary changes only by amend or extend, with a decision",
                    errors=[FieldError("geometry", "differs from the published boundary")],
                )
    # patch_zone locks the zone and checks If-Match; a change made since this read is caught there
    return await patch_zone(db, principal, zone_id, ZonePatch(**patch_data), content_crs=content_crs, repair=repair,
                            prefix="properties.", pre=pre)


def _version_shown(versions: list[dict[str, Any]]) -> dict[str, Any]:
    """The version GET shows (store.PICK_VERSION_ORDER at now): the one in force, else the next scheduled, else
    the latest started; a draft only when nothing was ever published. A PUT sends back what GET showed, so a
    pending draft decision is never overwritten with the published version's period and decision."""
    now = timeutil.now()
    published = [v for v in versions if v["state"] == "published"]
    if not published:
        return versions[-1]
    in_force = [v for v in published if not v["never_effective"] and v["effective_from"] <= now < v["effective_to"]]
    if in_force:
        return max(in_force, key=lambda v: (v["valid_from"], v["version_no"]))
    scheduled = [v for v in published if v["valid_from"] > now]
    if scheduled:
        return min(scheduled, key=lambda v: (v["valid_from"], -v["version_no"]))
    return max(published, key=lambda v: (v["valid_from"], v["version_no"]))


def _same_published_decision(feature: ZoneFeatureReplace, latest: dict[str, Any]) -> None:
    props = feature.properties
    period = parse_period(props.valid_from, props.valid_to)
    differs = []
    if period.start != latest["valid_from"]:
        differs.append(FieldError("properties.valid_from", "differs from the published period"))
    if period.end != finite(latest["valid_to"]):
        differs.append(FieldError("properties.valid_to", "differs from the published period"))
    for key in ("decision_ref", "decided_by", "legal_basis", "reason", "boundary_text"):
        value = getattr(props, key)
        if value is not None and value != latest[key]:
            differs.append(FieldError(f"properties.{key}", "differs from the published decision"))
    if differs:
        raise Conflict(
            "the zone is published: a PUT may change only name, description, visibility, illustrative and "
            "list edition; use extend or amend for a new decision",
            errors=differs,
        )
