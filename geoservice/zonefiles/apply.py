"""Running a zone file import: read, check and plan the file, then write every zone through the same domain
functions as the API (create_zone, extend, patch_zone, archive), all in one transaction.

- **All or nothing**: one rejected feature refuses the file (nothing is written, every rejected feature is named
  with its number, key, field and reason), unless `skip_invalid`, which writes the others and reports the
  rejected ones. A zone is written whole or not at all (each zone in a savepoint of its own).
- **Idempotent**: a zone is found again by its source key (`source:key`); a period already recorded with the
  same boundary and decision is unchanged, a changed draft is patched (the report gives the area difference), a
  new period continuing the zone is an extension. The same file twice changes nothing and writes nothing.
- **Dry run**: the import runs completely, every rule applied, and is rolled back; the report says what would
  have been created or changed.
- **Drafts by default**; with `publish` every publication rule applies (a past start needs an admin override
  with `override_reason`, recorded in the override log and the validity report).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import psycopg
import shapely
from pydantic import Field, ValidationError

from geoservice import lifecycle, timeutil
from geoservice import zones as domain
from geoservice.access import Principal, Role, require
from geoservice.db import OneTransaction, set_audit_context
from geoservice.errors import FieldError, GeoserviceError, InvalidInput
from geoservice.overlays.importer import MAX_REJECTED_IN_PROBLEM, RowsRejected
from geoservice.schemas import ArchiveIn, ExtendIn, ZoneFeatureIn, ZonePatch, ZoneProperties
from geoservice.store import zone_imports as store
from geoservice.zonefiles.options import ZoneImportOptions
from geoservice.zonefiles.plan import VERSION_FIELDS, PlannedPeriod, PlannedZone, plan_zones
from geoservice.zonefiles.reading import read_zone_file
from geoservice.zonefiles.records import Authorities, RejectedFeature, check_features

STORAGE_CRS = "EPSG:25832"
# A boundary read back from the database within this distance of the file's is the same boundary.
SAME_BOUNDARY_M = 0.05


class ImportedExtension(ExtendIn):
    """An extension read from a file. A record of past decisions may lack the decision's reference; the kind's
    `decision_required` still applies (rules.check_decision): for such a kind the publication is refused, or
    recorded with an admin's override reason (listed in the validity report)."""

    decision_ref: str | None = Field(default=None, max_length=200)  # type: ignore[assignment]


@dataclass
class ZoneOutcome:
    key: str
    source_key: str
    name: str
    kind: str
    features: list[int]
    outcome: str = "unchanged"          # created, extended, changed, unchanged, rejected
    zone_id: int | None = None
    politikreds: str | None = None
    versions: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    archived: bool = False

    def as_dict(self, dry_run: bool) -> dict[str, Any]:
        return {"key": self.key, "source_key": self.source_key, "name": self.name, "kind": self.kind,
                "outcome": self.outcome, "zone_id": None if dry_run else self.zone_id,
                "politikreds": self.politikreds, "features": self.features, "versions": self.versions,
                "changes": self.changes, "archived": self.archived}


@dataclass
class ZoneImportReport:
    file_name: str
    sha256: str
    options: ZoneImportOptions
    features_read: int = 0
    zones: list[ZoneOutcome] = field(default_factory=list)
    rejected: list[RejectedFeature] = field(default_factory=list)
    notes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    import_id: int | None = None
    imported_at: dt.datetime | None = None
    unit: str = "feature"

    @property
    def counts(self) -> dict[str, int]:
        outcomes = [z.outcome for z in self.zones]
        versions = [v for z in self.zones if z.outcome != "rejected" for v in z.versions]
        return {
            "features_read": self.features_read,
            "features_rejected": len({r.row for r in self.rejected}),
            "periods": len(versions),
            "zones": len([o for o in outcomes if o != "rejected"]),
            "created": outcomes.count("created"),
            "extended": outcomes.count("extended"),
            "changed": outcomes.count("changed"),
            "unchanged": outcomes.count("unchanged"),
            "zones_rejected": outcomes.count("rejected"),
            "versions_created": sum(v["outcome"] in ("created", "extension") for v in versions),
            "overrides": sum(bool(v.get("override")) for v in versions),
            "archived": sum(z.archived for z in self.zones),
            "rings_closed": sum(n["repair"] == "ring closed" for n in self.notes.get("repairs", [])),
            "made_valid": sum(n["repair"] == "made valid" for n in self.notes.get("repairs", [])),
            "times_repaired": sum(n["repair"] == "one-digit minutes read as tens"
                                  for n in self.notes.get("repairs", [])),
            "local_times_resolved": len(self.notes.get("local_times", [])),
        }

    @property
    def wrote(self) -> bool:
        return any(z.outcome in ("created", "extended", "changed") or z.archived for z in self.zones)

    def as_dict(self) -> dict[str, Any]:
        o = self.options
        return {
            "import_id": self.import_id,
            "imported_at": timeutil.isoformat_local(self.imported_at) if self.imported_at else None,
            "file": self.file_name, "sha256": self.sha256, "source": o.source, "dry_run": o.dry_run,
            "publish": o.publish, "historical": o.historical, "skip_invalid": o.skip_invalid,
            "override_reason": o.override_reason,
            "attribution": o.attribution.model_dump(exclude_none=True) if o.attribution else None,
            "columns": self.columns,
            "counts": self.counts,
            "zones": [z.as_dict(o.dry_run) for z in self.zones],
            "rejected": [r.as_dict(self.unit) for r in self.rejected],
            "notes": self.notes,
        }

    def summary(self) -> str:
        c = self.counts
        what = "dry run, nothing written: would be " if self.options.dry_run else ""
        return (f"{self.file_name}: {c['features_read']} features, {c['periods']} periods in {c['zones']} zones; "
                f"{what}{c['created']} created, {c['extended']} extended, {c['changed']} changed, "
                f"{c['unchanged']} unchanged; {c['features_rejected']} features rejected; repairs: "
                f"{c['rings_closed']} rings closed, {c['made_valid']} made valid, {c['times_repaired']} times; "
                f"{c['local_times_resolved']} local times resolved by the DST rule")


def check_may_import_zones(principal: Principal) -> None:
    """Who may import zones: asked before an upload is read (the HTTP layer), and again by import_zones."""
    require(principal, Role.admin, action="Importing zones")


def _check_options(options: ZoneImportOptions) -> None:
    if options.historical and not (options.publish and options.override_reason):
        raise InvalidInput("a historical record is published, each past period with an admin override: give "
                           "publish and override_reason",
                           errors=[FieldError("historical", "needs publish and override_reason")])


async def import_zones(db: Any, principal: Principal, path: Path, options: ZoneImportOptions, *,
                       file_name: str | None = None,
                       progress: Callable[[str, int, int], None] | None = None) -> ZoneImportReport:
    """Import one zone file (see the module rules). `db` is the Database, or a OneTransaction to run inside a
    transaction that is already open (the demo load). `progress(stage, done, total)`."""
    check_may_import_zones(principal)
    _check_options(options)
    async with db.connection() as conn:
        authorities = Authorities.from_rows(await store.politikredse(conn))
    if progress:
        progress("read", 0, 1)
    table = await asyncio.to_thread(read_zone_file, path, file_name, options.layer)
    if progress:
        progress("check", 0, len(table.attributes))
    checked = await asyncio.to_thread(check_features, table, options, authorities)
    plan = await asyncio.to_thread(plan_zones, checked, options)
    report = ZoneImportReport(table.file_name, table.sha256, options, len(table.attributes),
                              rejected=plan.rejected, notes=plan.notes, columns=checked.columns)
    async with db.connection() as conn, conn.transaction():
        await set_audit_context(conn, principal.actor, "zone.import", table.file_name)
        import_id = await store.begin_import(conn, {
            "source": options.source, "file_name": table.file_name, "sha256": table.sha256,
            "historical": options.historical, "override_reason": options.override_reason,
            "by": principal.actor.name})
        report.imported_at = timeutil.now()
        writer = _Writer(OneTransaction(conn), principal, options, table.file_name)
        existing = await store.zones_by_source_key(conn, [z.source_key for z in plan.zones])
        outcomes = {z.source_key: ZoneOutcome(z.key, z.source_key, z.name, z.kind, z.features) for z in plan.zones}
        # New zones of one period are created together (create_zones: set-wise, the same rules); the others one
        # by one (create and extend, or compare with what is recorded).
        simple = [z for z in plan.zones if z.source_key not in existing and len(z.periods) == 1]
        for zone, problem in await writer.create_many(simple, [outcomes[z.source_key] for z in simple]):
            _reject(report, zone, outcomes[zone.source_key], zone.periods[0], problem)
        simple_keys = {z.source_key for z in simple}
        done = len(simple)
        if progress:
            progress("write", done, len(plan.zones))
        for zone in plan.zones:
            outcome = outcomes[zone.source_key]
            if zone.source_key in simple_keys:
                if outcome.outcome == "created" and writer.archive_due(zone, None):
                    await _whole(report, zone, outcome, conn, writer.archive_if_ended(zone, None, outcome))
                continue
            recorded = existing.get(zone.source_key)
            same = writer.unchanged(zone, recorded) if recorded is not None else None
            if same is not None:
                outcome.zone_id, outcome.versions = recorded["id"], same  # type: ignore[index]
            else:
                await _whole(report, zone, outcome, conn, writer.write(zone, recorded, outcome))
            done += 1
            if progress:
                progress("write", done, len(plan.zones))
        report.zones = [outcomes[z.source_key] for z in plan.zones]
        report.notes["authority_elsewhere"] = _authority_elsewhere(plan.zones, outcomes)
        report.rejected.sort(key=lambda r: (r.row, r.field))
        if report.rejected and not options.skip_invalid:
            raise _refusal(report)
        if options.dry_run or not report.wrote:
            raise psycopg.Rollback()  # nothing is kept: a dry run, or nothing to change
        report.import_id = import_id
        await store.finish_import(conn, import_id, report.as_dict())
    return report


async def _whole(report: ZoneImportReport, zone: PlannedZone, outcome: ZoneOutcome, conn: Any, work: Any) -> None:
    """A zone is written whole or not at all: its steps in a savepoint; a refusal rejects its features."""
    try:
        async with conn.transaction():
            await work
    except ZoneProblem as exc:
        _reject(report, zone, outcome, exc.period, exc.error)
    except (GeoserviceError, ValidationError) as exc:
        _reject(report, zone, outcome, None, exc)


def _authority_elsewhere(zones: list[PlannedZone], outcomes: dict[str, ZoneOutcome]) -> list[dict[str, Any]]:
    """Zones whose boundary lies mostly in another politikreds than the authority the file names (the zone's
    politikreds is where its boundary lies, as for any zone): listed for a look, not refused."""
    found = []
    for zone in zones:
        outcome, named = outcomes[zone.source_key], zone.periods[-1].politikreds
        if named and outcome.politikreds and outcome.outcome == "created" and outcome.politikreds != named:
            found.append({"key": zone.key, "features": zone.features, "authority_politikreds": named,
                          "boundary_politikreds": outcome.politikreds})
    return found


class ZoneProblem(Exception):
    """A zone refused while writing one of its periods."""

    def __init__(self, period: PlannedPeriod | None, error: GeoserviceError | ValidationError) -> None:
        super().__init__(str(error))
        self.period = period
        self.error = error


def _reject(report: ZoneImportReport, zone: PlannedZone, outcome: ZoneOutcome, period: PlannedPeriod | None,
            error: GeoserviceError | ValidationError) -> None:
    outcome.outcome = "rejected"
    outcome.versions = []
    field_name, reason = _field_reason(error)
    at_fault = set(period.features) if period is not None else set(zone.features)
    for feature in zone.features:
        if feature in at_fault:
            report.rejected.append(RejectedFeature(feature, field_name, reason, None, key=zone.key))
        else:
            report.rejected.append(RejectedFeature(
                feature, field_name, f"another period of the zone (feature {min(at_fault)}) was refused: {reason}",
                None, key=zone.key))


def _field_reason(error: GeoserviceError | ValidationError) -> tuple[str, str]:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        return str(first["loc"][-1]) if first["loc"] else "file", first["msg"]
    if not error.errors:
        return "file", error.detail
    first = error.errors[0]
    name = first.field.removeprefix("properties.")
    rule = first.extra.get("rule_text")
    if rule:
        return name, f"{first.reason} ({rule})"
    if first.reason in error.detail:  # the detail says it in a whole sentence (e.g. "… lies outside Denmark: …")
        return name, re.sub(r"^[\w.]+: ", "", error.detail)
    return name, f"{error.detail}: {first.reason}"


def _refusal(report: ZoneImportReport) -> RowsRejected:
    shown = report.rejected[:MAX_REJECTED_IN_PROBLEM]
    first = shown[0]
    features = len({r.row for r in report.rejected})
    return RowsRejected(
        f"{report.file_name}: {features} of {report.features_read} features rejected, nothing was imported "
        f"(first: feature {first.row}, {first.field}: {first.reason}). Fix them, or import with skip_invalid to "
        "import the others and get a report of the rejected ones",
        errors=[FieldError(r.field, r.reason, {"feature": r.row, "key": r.key, "file": report.file_name})
                for r in shown],
        extra={"file": report.file_name, "features_read": report.features_read,
               "rejected_count": len(report.rejected), "rejected_listed": len(shown), "report": report.as_dict()},
        report=report,  # type: ignore[arg-type]
    )


def _iso(value: dt.datetime | None) -> str | None:
    return timeutil.isoformat_local(value) if value is not None else None


def _same(a: str | None, b: str | None) -> bool:
    return (a or None) == (b or None)


def _version_entry(period: PlannedPeriod, outcome: str, **extra: Any) -> dict[str, Any]:
    return {"valid_from": _iso(period.start), "valid_to": _iso(period.end), "features": period.features,
            "outcome": outcome, "area_m2": round(period.geometry.geom.area, 1), **extra}


def _override(answer: Any) -> dict[str, Any] | None:
    o = answer.override
    return {"rules": list(o.rules), "reason": o.reason} if o is not None else None


class _Writer:
    """Writes one planned zone through the domain functions (inside the import's transaction)."""

    def __init__(self, db: OneTransaction, principal: Principal, options: ZoneImportOptions, file_name: str):
        self.db = db
        self.principal = principal
        self.options = options
        self.file_name = file_name

    def zone_properties(self, zone: PlannedZone) -> dict[str, Any]:
        props: dict[str, Any] = {"import": {"source": self.options.source, "key": zone.key,
                                            "file": self.file_name}}
        if self.options.attribution:
            props["source"] = self.options.attribution.model_dump(exclude_none=True)
        return props

    def zone_fields(self, zone: PlannedZone) -> dict[str, Any]:
        """The properties of a new zone (its first period), as a POST of it would send them."""
        first, o = zone.periods[0], self.options
        return {"kind": zone.kind, "name": first.name, "valid_from": _iso(first.start), "valid_to": _iso(first.end),
                **{k: first.values.get(k) for k in VERSION_FIELDS},
                "description": zone.zone_value("description"), "visibility": zone.zone_value("visibility"),
                "list_edition": zone.zone_value("list_edition"), "illustrative": o.illustrative,
                "publish": o.publish, "override_reason": o.override_reason}

    def new_zone_feature(self, zone: PlannedZone) -> ZoneFeatureIn:
        return ZoneFeatureIn.model_validate({"type": "Feature", "geometry": zone.periods[0].geojson(),
                                             "properties": self.zone_fields(zone)})

    async def create_many(self, zones: list[PlannedZone], outcomes: list[ZoneOutcome]
                          ) -> list[tuple[PlannedZone, GeoserviceError | ValidationError]]:
        """New zones of one period, checked one by one (check_new_zone) and written together (create_zones)."""
        problems: list[tuple[PlannedZone, GeoserviceError | ValidationError]] = []
        checked: list[tuple[PlannedZone, ZoneOutcome, domain.NewZone]] = []
        for zone, outcome in zip(zones, outcomes, strict=True):
            try:
                props = ZoneProperties.model_validate(self.zone_fields(zone))
                new = domain.check_new_zone(self.principal, props, zone.periods[0].geometry,
                                            source_key=zone.source_key, properties=self.zone_properties(zone))
            except (GeoserviceError, ValidationError) as exc:
                problems.append((zone, exc))
                continue
            checked.append((zone, outcome, new))
        if not checked:
            return problems
        answers = await domain.create_zones(self.db, self.principal, [n for _, _, n in checked],
                                            reason=self.options.override_reason)
        for (zone, outcome, _), answer in zip(checked, answers, strict=True):
            if isinstance(answer, GeoserviceError):
                problems.append((zone, answer))
                continue
            outcome.zone_id, outcome.politikreds, outcome.outcome = answer.zone_id, answer.politikreds, "created"
            override = ({"rules": list(answer.override.rules), "reason": answer.override.reason}
                        if answer.override else None)
            outcome.versions.append(_version_entry(zone.periods[0], "created", override=override))
        return problems

    async def write(self, zone: PlannedZone, existing: dict[str, Any] | None, outcome: ZoneOutcome) -> None:
        if existing is None:
            await self.create(zone, outcome)
        else:
            await self.update(zone, existing, outcome)
        if self.options.archive_ended and outcome.zone_id is not None:
            await self.archive_if_ended(zone, existing, outcome)

    async def _step(self, period: PlannedPeriod | None, work: Any) -> Any:
        try:
            return await work
        except (GeoserviceError, ValidationError) as exc:
            raise ZoneProblem(period, exc) from None

    async def create(self, zone: PlannedZone, outcome: ZoneOutcome) -> None:
        first, later = zone.periods[0], zone.periods[1:]
        o = self.options
        if later and not o.publish:
            raise ZoneProblem(later[0], InvalidInput(
                "a zone's later periods are extensions of a published designation",
                errors=[FieldError("valid_from", f"zone {zone.key!r} has {len(zone.periods)} consecutive periods; "
                                                 "only the first can be a draft (a draft has no extensions): "
                                                 "import with publish, or import the first period alone")]))
        answer = await self._step(first, domain.create_zone(
            self.db, self.principal, self.new_zone_feature(zone), content_crs=STORAGE_CRS, repair=o.repair,
            source_key=zone.source_key, properties=self.zone_properties(zone)))
        outcome.zone_id = answer.zone_id
        outcome.outcome = "created"
        outcome.politikreds = orjson.loads(answer.body)["properties"].get("politikreds")
        outcome.versions.append(_version_entry(first, "created", override=_override(answer)))
        name = first.name
        previous = first
        for period in later:
            await self.extend(zone, outcome, previous, period)
            if period.name != name:
                await self.rename(outcome, period, period.name)
                name = period.name
            previous = period

    async def extend(self, zone: PlannedZone, outcome: ZoneOutcome, previous: PlannedPeriod | None,
                     period: PlannedPeriod) -> None:
        assert outcome.zone_id is not None
        same = previous is not None and previous.geometry.geom.equals_exact(period.geometry.geom, 1e-6)
        body = ImportedExtension.model_validate({
            "valid_from": _iso(period.start), "valid_to": _iso(period.end),
            **{k: period.values.get(k) for k in VERSION_FIELDS},
            "geometry": None if same else period.geojson(), "publish": self.options.publish,
            "override_reason": self.options.override_reason})
        answer = await self._step(period, lifecycle.extend(
            self.db, self.principal, outcome.zone_id, body, content_crs=None if same else STORAGE_CRS,
            repair=self.options.repair))
        outcome.versions.append(_version_entry(period, "extension", override=_override(answer)))

    async def rename(self, outcome: ZoneOutcome, period: PlannedPeriod | None, name: str) -> None:
        assert outcome.zone_id is not None
        await self._step(period, domain.patch_zone(self.db, self.principal, outcome.zone_id, ZonePatch(name=name),
                                                   content_crs=None, repair=False))
        outcome.changes.append({"field": "name", "to": name})

    def unchanged(self, zone: PlannedZone, existing: dict[str, Any]) -> list[dict[str, Any]] | None:
        """The zone's periods as recorded when the file changes nothing of it (nothing to write, no savepoint
        needed), else None."""
        entries = []
        for period in zone.periods:
            version = _match(existing["versions"], period)
            if version is None:
                return None
            patch, entry = _diff(period, version)
            if patch:
                return None
            entries.append(entry)
        if _zone_changes(zone, existing) or self.archive_due(zone, existing):
            return None
        return entries

    async def update(self, zone: PlannedZone, existing: dict[str, Any], outcome: ZoneOutcome) -> None:
        outcome.zone_id = existing["id"]
        versions = existing["versions"]
        changed = extended = False
        for period in zone.periods:
            match = _match(versions, period)
            if match is None:
                match = next((v for v in versions if v["state"] == "draft"), None) if len(versions) == 1 else None
                if match is None:
                    await self.extend(zone, outcome, None, period)
                    extended = True
                    continue
            changed |= await self.compare(outcome, period, match)
        zone_changes = _zone_changes(zone, existing)
        if zone_changes:
            await self._step(None, domain.patch_zone(self.db, self.principal, existing["id"],
                                                     ZonePatch(**zone_changes), content_crs=None, repair=False))
            outcome.changes.extend({"field": k, "from": existing[k], "to": v} for k, v in zone_changes.items())
            changed = True
        outcome.outcome = "extended" if extended else "changed" if changed else "unchanged"

    async def compare(self, outcome: ZoneOutcome, period: PlannedPeriod, version: dict[str, Any]) -> bool:
        """A period already recorded: unchanged, or a draft patched to what the file says now."""
        patch, entry = _diff(period, version)
        if not patch:
            outcome.versions.append(entry)
            return False
        if version["state"] != "draft":
            names = ", ".join("boundary" if k == "geometry" else k for k in patch)
            raise ZoneProblem(period, InvalidInput(
                "a published decision is not rewritten",
                errors=[FieldError("geometry" if "geometry" in patch else next(iter(patch)),
                                   f"zone {outcome.zone_id} is published: the file changes its {names} for the "
                                   f"period from {_iso(period.start)}; a published decision changes only by a new "
                                   "one (amend or extend)",
                                   {"area_change_m2": entry.get("area_change_m2")})]))
        await self._step(period, domain.patch_zone(
            self.db, self.principal, outcome.zone_id, ZonePatch(**patch),
            content_crs=STORAGE_CRS if "geometry" in patch else None, repair=self.options.repair))
        entry["outcome"] = "changed"
        entry["changed"] = sorted("boundary" if k == "geometry" else k for k in patch)
        outcome.versions.append(entry)
        return True

    def archive_due(self, zone: PlannedZone, existing: dict[str, Any] | None) -> bool:
        end = zone.periods[-1].end
        return (self.options.archive_ended and self.options.publish and end is not None and end <= timeutil.now()
                and (existing is None or existing["archived_at"] is None))

    async def archive_if_ended(self, zone: PlannedZone, existing: dict[str, Any] | None,
                               outcome: ZoneOutcome) -> None:
        """A historical record's zones have ended: their publication is archived (as legal staff would), so the
        validity report does not list each one as 'expired but still published'."""
        if outcome.zone_id is None or not self.archive_due(zone, existing):
            return
        end = zone.periods[-1].end
        await self._step(None, lifecycle.archive(self.db, self.principal, outcome.zone_id, ArchiveIn(
            reason=f"{self.options.source}: ended {_iso(end)}; imported as a record of the past")))
        outcome.archived = True


def _match(versions: list[dict[str, Any]], period: PlannedPeriod) -> dict[str, Any] | None:
    for v in versions:
        if "start" not in v:
            v["start"] = dt.datetime.fromisoformat(v["valid_from"])
            v["end"] = dt.datetime.fromisoformat(v["valid_to"]) if v["valid_to"] else None
    return next((v for v in versions if v["start"] == period.start and v["end"] == period.end), None)


def _diff(period: PlannedPeriod, version: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """What the file changes of a recorded version (a ZonePatch's fields), and the version's report entry."""
    stored = shapely.from_wkb(bytes.fromhex(version["wkb"]))
    new = period.geometry.geom
    same_boundary = stored.equals_exact(new, 1e-6) or shapely.hausdorff_distance(stored, new) <= SAME_BOUNDARY_M
    # a value the file leaves out is not a change (the kind's legal basis, an extension's inherited text)
    patch: dict[str, Any] = {k: period.values[k] for k in VERSION_FIELDS
                             if period.values.get(k) is not None and not _same(period.values[k], version[k])}
    if version["start"] != period.start or version["end"] != period.end:
        patch.update(valid_from=_iso(period.start), valid_to=_iso(period.end))
    entry = _version_entry(period, "unchanged", version=version["version_no"])
    if not same_boundary:
        patch["geometry"] = period.geojson()
        entry.update(area_before_m2=round(stored.area, 1), area_change_m2=round(new.area - stored.area, 1))
    return patch, entry


def _zone_changes(zone: PlannedZone, existing: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if existing["name"] != zone.name:
        changes["name"] = zone.name
    for key in ("description", "visibility", "list_edition"):
        value = zone.zone_value(key)
        if value is not None and value != existing[key]:
            changes[key] = value
    return changes
