"""From checked features to zones: which features are one zone (a key, or consecutive periods of one place),
which parts of a period are dissolved into one boundary, and the boundaries validated as the API validates them.

- **By key**: features with the same key (the key column; without one, the name) are one zone. Parts with the
  same period are dissolved into one boundary; different periods are the zone's versions, which must follow
  each other without a gap or an overlap (each one starts where the one before ends).
- **Consecutive periods** (`link_consecutive`, for files without a key): a period continues another when it
  starts exactly where the other ends, has the same `by` value (e.g. the same police district) and their
  boundaries overlap by at least `min_overlap` of the smaller one. Where several periods could continue one (or
  one could continue several), the pairs with the largest shared area are linked first; the others begin or end
  a zone of their own, and the report says so.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import orjson
import shapely
from shapely.geometry.base import BaseGeometry

from geoservice import timeutil
from geoservice.errors import GeoserviceError
from geoservice.geometry import ZoneGeometry, parse_zone_geometries
from geoservice.zonefiles.options import ZoneImportOptions
from geoservice.zonefiles.records import Checked, RejectedFeature, ZoneRecord

# Values a zone's periods carry (a version's decision) and values of the zone itself.
VERSION_FIELDS = ("decision_ref", "decided_by", "legal_basis", "boundary_text", "reason")
ZONE_FIELDS = ("description", "visibility", "list_edition")


@dataclass
class PlannedPeriod:
    features: list[int]
    start: dt.datetime
    end: dt.datetime | None
    name: str
    values: dict[str, str | None]
    raw: BaseGeometry                    # the parts dissolved, as read
    politikreds: str | None = None       # the authority's district, when the file names one
    checked: ZoneGeometry | None = None  # the boundary as parse_zone_geometry makes it

    @property
    def geometry(self) -> ZoneGeometry:
        assert self.checked is not None
        return self.checked

    def geojson(self) -> dict[str, Any]:
        return orjson.loads(shapely.to_geojson(self.geometry.geom))


@dataclass
class PlannedZone:
    key: str
    source_key: str
    kind: str
    periods: list[PlannedPeriod]

    @property
    def features(self) -> list[int]:
        return sorted(f for p in self.periods for f in p.features)

    @property
    def name(self) -> str:
        return self.periods[-1].name  # the name the place has now (the latest period's)

    def zone_value(self, name: str) -> str | None:
        return self.periods[-1].values.get(name)


@dataclass
class Plan:
    zones: list[PlannedZone]
    rejected: list[RejectedFeature]
    notes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def plan_zones(checked: Checked, options: ZoneImportOptions) -> Plan:
    plan = Plan([], list(checked.rejected), {**checked.notes, "links": [], "merges": []})
    records = checked.records
    if options.link_consecutive:
        _link(plan, [r for r in records if not r.key], options.link_consecutive.min_overlap)
    groups: dict[str, list[ZoneRecord]] = defaultdict(list)
    for record in records:
        groups[record.key or record.name].append(record)
    zones = [z for z in (_zone(plan, key, group, options) for key, group in groups.items()) if z is not None]
    plan.zones = _boundaries(plan, zones, options.repair)
    plan.zones.sort(key=lambda z: z.features[0])
    plan.rejected.sort(key=lambda r: (r.row, r.field))
    return plan


def _slug(text: str) -> str:
    text = text.lower().replace("æ", "ae").replace("ø", "oe").replace("å", "aa")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:60] or "zone"


def _link(plan: Plan, records: list[ZoneRecord], min_overlap: float) -> None:
    """Give each record without a key the key of its chain of consecutive periods (see the module rules)."""
    by_end: dict[tuple[str | None, str, dt.datetime], list[ZoneRecord]] = defaultdict(list)
    for r in records:
        if r.end is not None:
            by_end[(r.link_value, r.kind, r.end)].append(r)
    valid = {r.feature: shapely.make_valid(r.geometry) for r in records}
    edges: list[tuple[float, int, int]] = []  # (shared area, predecessor, successor)
    for r in records:
        for p in by_end.get((r.link_value, r.kind, r.start), []):
            shared = valid[p.feature].intersection(valid[r.feature]).area
            if shared > 0 and shared >= min_overlap * min(valid[p.feature].area, valid[r.feature].area):
                edges.append((shared, p.feature, r.feature))
    edges.sort(key=lambda e: (-e[0], e[1], e[2]))
    successor: dict[int, int] = {}
    predecessor: dict[int, int] = {}
    candidates: dict[int, list[int]] = defaultdict(list)
    for _, p, r in edges:
        candidates[r].append(p)
        if p not in successor and r not in predecessor:
            successor[p], predecessor[r] = r, p
    for r, ps in sorted(candidates.items()):
        if len(ps) > 1:
            chosen = predecessor.get(r)
            plan.notes["merges"].append({
                "feature": r, "continues": chosen, "also_ended_here": sorted(set(ps) - {chosen}),
                "rule": "several periods end where this one starts on an overlapping boundary: it continues the "
                        "one sharing the largest area; the others end there"})
    by_feature = {r.feature: r for r in records}
    used: dict[str, int] = defaultdict(int)
    for r in sorted(records, key=lambda x: (x.start, x.feature)):
        if r.feature in predecessor:
            continue
        chain = [r]
        while chain[-1].feature in successor:
            chain.append(by_feature[successor[chain[-1].feature]])
        local = timeutil.to_local(r.start).strftime("%Y-%m-%dT%H:%M")
        key = f"{r.link_value or '-'}/{local}/{_slug(r.name)}"
        used[key] += 1
        if used[key] > 1:
            key += f"/{used[key]}"
        for member in chain:
            member.key = key
        if len(chain) > 1:
            plan.notes["links"].append({"key": key, "features": [m.feature for m in chain]})


def _zone(plan: Plan, key: str, group: list[ZoneRecord], options: ZoneImportOptions) -> PlannedZone | None:
    def refuse(field_name: str, reason: str, value: str | None = None) -> None:
        """Reject every feature of the zone not rejected already (one bad part refuses the whole zone)."""
        done = {r.row for r in plan.rejected if r.key == key}
        plan.rejected.extend(RejectedFeature(r.feature, field_name, reason, value, key=key) for r in group
                             if r.feature not in done)

    kinds = sorted({r.kind for r in group})
    if len(kinds) > 1:
        refuse("kind", f"the features of one zone (key {key!r}) have different kinds: {', '.join(kinds)}")
        return None
    parts: dict[tuple[dt.datetime, dt.datetime | None], list[ZoneRecord]] = defaultdict(list)
    for r in group:
        parts[(r.start, r.end)].append(r)
    periods: list[PlannedPeriod] = []
    for (start, end), members in sorted(parts.items(), key=lambda item: item[0][0]):
        first = members[0]
        for name in ("name", "authority", *VERSION_FIELDS, *ZONE_FIELDS):
            seen = {(m.name if name == "name" else m.values.get(name)) for m in members}
            if len(seen) > 1:
                refuse(name, f"the parts of one period of zone {key!r} (features "
                             f"{', '.join(str(m.feature) for m in members)}) disagree on {name}")
                return None
        raw = _dissolve(plan, key, members, options.repair)
        if raw is None:
            refuse("geometry", f"another part of zone {key!r} has a boundary that is refused")
            return None
        periods.append(PlannedPeriod([m.feature for m in members], start, end, first.name, dict(first.values),
                                     raw, first.politikreds))
    for before, after in itertools.pairwise(periods):
        if before.end is None or after.start != before.end:
            what = "overlaps" if before.end is None or after.start < before.end else "leaves a gap after"
            refuse("valid_from", f"the periods of zone {key!r} must follow each other (each starting where the one "
                                 f"before ends): the period from {timeutil.isoformat_local(after.start)} {what} "
                                 f"the one ending {timeutil.isoformat_local(before.end)}; give them different keys")
            return None
    return PlannedZone(key, f"{options.source}:{key}", kinds[0], periods)


def _dissolve(plan: Plan, key: str, members: list[ZoneRecord], repair: bool) -> BaseGeometry | None:
    """A period's parts as one geometry. Without `repair` an invalid part refuses its feature (named with the
    reason parse_zone_geometry gives); with it, the part is made valid first (reported with the whole)."""
    if len(members) == 1:
        return members[0].geometry
    geoms = [m.geometry for m in members]
    if not repair:
        answers = parse_zone_geometries(geoms)
        refused = [(m, a) for m, a in zip(members, answers, strict=True) if not isinstance(a, ZoneGeometry)]
        for m, error in refused:
            plan.rejected.append(RejectedFeature(m.feature, "geometry", _reason(error), None, key=key))
        if refused:
            return None
    union = shapely.union_all([g if shapely.is_valid(g) else shapely.make_valid(g) for g in geoms])
    plan.notes.setdefault("dissolved", []).append({"key": key, "features": [m.feature for m in members],
                                                   "parts": len(members)})
    return union


def _reason(error: GeoserviceError) -> str:
    return error.errors[0].reason if error.errors else error.detail


def _boundaries(plan: Plan, zones: list[PlannedZone], repair: bool) -> list[PlannedZone]:
    """Every period's boundary checked as the API checks one (parse_zone_geometries: all at once); a zone with a
    refused boundary is refused whole, the features at fault named with the reason, the others pointed to them."""
    periods = [p for z in zones for p in z.periods]
    answers = iter(parse_zone_geometries([p.raw for p in periods], repair=repair))
    kept = []
    for zone in zones:
        refused: tuple[PlannedPeriod, GeoserviceError] | None = None
        for period in zone.periods:
            answer = next(answers)
            if not isinstance(answer, ZoneGeometry):
                refused = refused or (period, answer)
                continue
            period.checked = answer
            if answer.repair is not None:
                plan.notes["repairs"].extend({"feature": f, "field": "geometry", "repair": "made valid",
                                              "detail": answer.repair.as_dict()} for f in period.features)
        if refused is None:
            kept.append(zone)
            continue
        at_fault, error = refused
        for other in zone.periods:
            reason = (_reason(error) if other is at_fault else f"another period of the zone (feature "
                      f"{at_fault.features[0]}) has a boundary that is refused")
            plan.rejected.extend(RejectedFeature(f, "geometry", reason, None, key=zone.key) for f in other.features)
    return kept
