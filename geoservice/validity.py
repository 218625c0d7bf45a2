"""The validity report and the track (as-of) check: what legal staff rely on.

Report sections, each a list of findings:
- expiring: in force, inside the widest warning window of their kind, with days left;
- expired_still_published: the designation has ended but the publication was never withdrawn (archived);
- chain_gaps / chain_overlaps: consecutive designations that leave a gap or overlap;
- missing_decision_ref: published versions without a decision reference;
- overrides: versions published against a kind rule by an admin, with the reason;
- historical_records: each import of past designations (a historical record, e.g. the visitation zones of
  visitationszone.dk) as one finding with its counts; its overrides and missing decision references are listed
  one by one only when asked (`historical=list`), so hundreds of them do not drown the report.
`expired_still_published` is overdue (something should already have happened); the CLI exits non-zero on it.
`historical_records` is information (an accepted record of the past), not a finding.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import orjson

from geoservice import csvsafe, timeutil
from geoservice.access import Principal, Role, require, zone_filter
from geoservice.db import Database
from geoservice.geometry import check_point_in_denmark
from geoservice.schemas import TrackIn
from geoservice.store import validity as store
from geoservice.zones import check_kinds

SECTIONS = ("expiring", "expired_still_published", "chain_gaps", "chain_overlaps", "missing_decision_ref",
            "overrides", "historical_records")
OVERDUE = ("expired_still_published",)
INFORMATION = ("historical_records",)
FINDINGS = tuple(s for s in SECTIONS if s not in INFORMATION)
SECTION_TITLES = {
    "expiring": "Udløber snart / expiring",
    "expired_still_published": "Udløbet, men stadig offentliggjort / expired but still published",
    "chain_gaps": "Hul i forlængelseskæden / gap between designations",
    "chain_overlaps": "Overlap mellem udpegninger / overlapping designations",
    "missing_decision_ref": "Offentliggjort uden afgørelsesreference / published without decision reference",
    "overrides": "Regel tilsidesat af admin / admin overrides",
    "historical_records": "Historiske registreringer / historical records (imported past designations)",
}


def published_as_of_moment(value: str | None, parsed: dt.datetime | None,
                           field: str = "published_as_of") -> dt.datetime | None:
    """The moment of `published_as_of` (`parsed`: the value read as any time parameter): a date alone means
    as at the end of that day (local), so a zone published during the day is on the map of that day."""
    text = (value or "").strip()
    if parsed is not None and timeutil.iso_date(text) is not None:  # a date alone
        return timeutil.parse_instant(text, field, date_means="end_inclusive") - dt.timedelta(microseconds=1)
    return parsed


async def report(db: Database, principal: Principal, at: dt.datetime | None, *, historical: str = "group"
                 ) -> dict[str, Any]:
    """The report at `at` (default now). `historical`: "group" (a historical record as one finding per import)
    or "list" (its overrides and missing decision references one by one as well)."""
    require(principal, Role.legal, Role.admin, action="The validity report")
    t = at or timeutil.now()
    async with db.connection() as conn:
        body = orjson.loads(await store.report(conn, t, zone_filter(principal), historical == "list"))
    # Each expiring zone carries warning_window_days: the narrowest window of its kind crossed at t (90, then 30,
    # then 7 days before the end of a nightlife zone), decided in SQL between instants (a window of N days opens
    # at the same local time N calendar days before the end), so cron sends each reminder on the right day.
    body = {"at": timeutil.isoformat_local(t), **body}
    body["overdue"] = sum(len(body[s]) for s in OVERDUE)
    return body


async def verify_audit(db: Database, principal: Principal) -> dict[str, Any]:
    """Check the audit log's hash chain: whether any recorded step was changed, removed or slipped in."""
    require(principal, Role.legal, Role.admin, action="Verifying the audit log")
    async with db.connection() as conn:
        result = await store.verify_audit(conn)
    result["checked_at"] = timeutil.isoformat_local(timeutil.now())
    return result


def as_text(report_body: dict[str, Any]) -> str:
    lines = [f"Gyldighedsrapport / validity report {report_body['at']}"]
    counts = report_body["status_counts"]
    lines.append("  " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    for section in SECTIONS:
        items = report_body[section]
        lines.append(f"\n{SECTION_TITLES[section]} ({len(items)})")
        for item in items:
            lines.append("  - " + _describe(section, item))
    lines.append(f"\noverdue: {report_body['overdue']}")
    return "\n".join(lines) + "\n"


def _describe(section: str, item: dict[str, Any]) -> str:
    who = f"#{item['zone_id']} {item['name']} ({item['kind']})" if "zone_id" in item else ""
    match section:
        case "expiring":
            window = item.get("warning_window_days")
            inside = f" (inside the {window}-day warning)" if window is not None else ""
            return f"{who}: ends {item['designation_end']}, {item['days_left']} days left{inside}"
        case "expired_still_published":
            return f"{who}: expired {item['expired_at']}, {item['days_since']} days ago"
        case "chain_gaps":
            return (f"{who}: gap {item['gap_from']} → {item['gap_to']} ({item['gap_days']} days) "
                    f"before v{item['version']}")
        case "chain_overlaps":
            return f"{who}: v{item['version']} overlaps {item['overlap_from']} → {item['overlap_to']}"
        case "missing_decision_ref":
            return f"{who}: v{item['version']} published {item['published_at']}"
        case "overrides":
            version = f"v{item['version']} " if item.get("version") is not None else ""
            return (f"{who}: {version}{item.get('action') or ''} by {item.get('by')}: rule «{item['rule']}», "
                    f"reason «{item['reason']}»")
        case "historical_records":
            return (f"import #{item['import_id']} {item['source']} ({item['file']}), recorded {item['imported_at']} "
                    f"by {item['by']}: {item['zones']} zones, {item['versions']} periods {item['valid_from']} → "
                    f"{item['valid_to']}, {item['overrides']} overrides of {', '.join(item['rules'])}, "
                    f"{item['missing_decision_ref']} without decision reference; reason «{item['reason']}»")
    raise AssertionError(section)


CSV_COLUMNS = ("section", "zone_id", "name", "kind", "status", "designation_end", "days_left",
               "warning_window_days", "version", "gap_from", "gap_to", "overlap_from", "overlap_to",
               "published_at", "rule", "reason", "detail", "at")


def as_csv(report_body: dict[str, Any]) -> str:
    """One row per finding, one column per fact (empty where a section has no such fact), for spreadsheets
    and cron jobs; `detail` is the sentence the text report prints."""
    rows = []
    for section in SECTIONS:
        for item in report_body[section]:
            row = {**item, "section": section, "detail": _describe(section, item), "at": report_body["at"]}
            if section == "expired_still_published":
                row["designation_end"] = item["expired_at"]
                row["days_left"] = -item["days_since"]
            rows.append(row)
    # names, reasons and decision references come from staff input: no cell may start a spreadsheet formula
    return csvsafe.write(rows, CSV_COLUMNS)


async def check_track(db: Database, principal: Principal, body: TrackIn) -> dict[str, Any]:
    """For each timed point, the zones in force there then; per zone, the enter and exit events in time order.
    An exit happens at the first later point that is outside the zone or outside its period."""
    kinds = check_kinds(body.kinds, "kinds")
    lons, lats, times = [], [], []
    for i, point in enumerate(body.points):
        check_point_in_denmark(point.lon, point.lat, lon_field=f"points[{i}].lon", lat_field=f"points[{i}].lat")
        lons.append(point.lon)
        lats.append(point.lat)
        times.append(timeutil.parse_instant(point.at, f"points[{i}].at"))
    access = zone_filter(principal)
    async with db.connection() as conn:
        hits = await store.track_hits(conn, lons, lats, times, access, kinds)
        zone_ids = sorted({zone_id for _, zone_id, _, _ in hits})
        zones = orjson.loads(await store.track_zones(conn, zone_ids)) if zone_ids else {}
        answer = build_track_answer(body, times, hits, zones)
        # an exit while the zone was still in force: did the person move, or did the boundary move?
        open_exits = [e for e in answer["events"] if e["type"] == "exit" and e["reason"] is None]
        if open_exits:
            inside = await store.track_exit_inside_old_boundary(conn, [
                (e["zone_id"], e["last_version"], body.points[e["index"]].lon, body.points[e["index"]].lat)
                for e in open_exits])
            for event, still_inside in zip(open_exits, inside, strict=True):
                event["reason"] = "boundary_changed" if still_inside else "left"
                if not still_inside:
                    event["reason_at"] = None
    return answer


EXIT_REASONS = {
    "left": "moved out of the zone",
    "ended": "the designation ended (no version in force any more)",
    "revoked": "the zone was revoked",
    "boundary_changed": "the boundary changed (an amendment or a new version) and the point is outside the new one",
}


def _in_force(zone: dict[str, Any], t: dt.datetime) -> dict[str, Any] | None:
    """The published version of a zone in force at t (from track_zones.sql), or None."""
    for version in reversed(zone.get("versions") or []):
        start = dt.datetime.fromisoformat(version["valid_from"])
        ends = [dt.datetime.fromisoformat(v) for v in (version["valid_to"], version["ended_at"]) if v]
        if start <= t and all(t < end for end in ends):
            return version
    return None


def _exit_reason(zone: dict[str, Any], last_inside: dt.datetime, t: dt.datetime,
                 last_version: int) -> tuple[str | None, str | None]:
    """Why a zone was left between two samples, when the zone data alone says so: (reason, the moment it
    happened); (None, None) when a boundary check decides between 'left' and 'boundary_changed'."""
    revoked = zone.get("revoked_at")
    if revoked and last_inside < dt.datetime.fromisoformat(revoked) <= t:
        return "revoked", revoked
    now_version = _in_force(zone, t)
    if now_version is None:
        was = next((v for v in zone.get("versions") or [] if v["version"] == last_version), None)
        ended = (was or {}).get("ended_at") or (was or {}).get("valid_to")
        return "ended", ended
    # still in force: if another version took over since, its start is when the boundary may have moved
    return None, now_version["valid_from"] if now_version["version"] != last_version else None


def build_track_answer(body: TrackIn, times: list[dt.datetime], hits: list[tuple[int, int, int, bool | None]],
                       zones: dict[str, Any]) -> dict[str, Any]:
    inside: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
    for index, zone_id, version, window in hits:
        inside[index - 1][zone_id] = {"zone_id": zone_id, "version": version, "daily_window_applies": window}
    order = sorted(range(len(times)), key=lambda i: (times[i], i))
    points = []
    for i, point in enumerate(body.points):
        points.append({
            "index": i, "at": timeutil.isoformat_local(times[i]), "lat": point.lat, "lon": point.lon,
            "label": point.label, "zones": [inside[i][z] for z in sorted(inside[i])],
        })
    events: list[dict[str, Any]] = []
    current: set[int] = set()
    previous: int | None = None
    for position, i in enumerate(order):
        now_in = set(inside[i])
        for zone_id in sorted(now_in - current):
            events.append({"type": "enter", "zone_id": zone_id, "at": timeutil.isoformat_local(times[i]),
                           "index": i, "first_point": position == 0,
                           "daily_window_applies": inside[i][zone_id]["daily_window_applies"]})
        for zone_id in sorted(current - now_in):
            # noticed at this sample; the person was last seen inside at the previous one
            assert previous is not None
            last_version = inside[previous][zone_id]["version"]
            reason, moment = _exit_reason(zones.get(str(zone_id), {}), times[previous], times[i], last_version)
            events.append({"type": "exit", "zone_id": zone_id, "at": timeutil.isoformat_local(times[i]),
                           "index": i, "reason": reason,
                           "last_inside_at": timeutil.isoformat_local(times[previous]),
                           "last_version": last_version,
                           "reason_at": timeutil.isoformat_local(dt.datetime.fromisoformat(moment))
                           if moment else None})
        current = now_in
        previous = i
    return {
        "points": points,
        "events": events,
        "exit_reasons": EXIT_REASONS,
        "still_inside_at_end": sorted(current),
        "zones": zones,
    }
