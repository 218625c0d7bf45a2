"""Zone effect: incidents in the same-length window before and during a zone's designation period, inside the
zone and in the rest of its kommune (the control), and the ratio of the two changes.

The designation period is the unbroken run of published versions (a designation and the extensions that
continue it) that contains `at`; without `at`, the run in force now, else the latest run that has started. Each
version counts with its own boundary over the time it governs (where versions overlap, the later decision
governs); the before window mirrors it: the same boundary over the same length of time, shifted back by the length
of the whole run. Counts are never suppressed here, so this is staff only (see geoservice.access).
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from geoservice import timeutil
from geoservice.access import Principal, Role, overlay_access, require, zone_filter
from geoservice.db import Database
from geoservice.errors import FieldError, Forbidden, InvalidInput, NotFound
from geoservice.overlays.stats import ratio_of_ratios, simple_ratio
from geoservice.overlays.taxonomy import get_overlay_rules
from geoservice.store import overlays as store

SMALL_COUNT = 10


Version = dict[str, Any]  # id, version_no, t0, t1 (effective period), decision_ref, area_km2, kommune_code


def _runs(versions: list[Version]) -> list[list[Version]]:
    """Unbroken runs of versions ordered by start. A run continues while a version starts before the latest end
    so far (a running maximum: an earlier version may end after a later, shorter one)."""
    runs: list[list[Version]] = []
    end: dt.datetime | None = None
    for v in sorted(versions, key=lambda v: v["t0"]):
        if runs and end is not None and end >= v["t0"]:
            runs[-1].append(v)
            end = max(end, v["t1"])
        else:
            runs.append([v])
            end = v["t1"]
    return runs


def run_span(run: list[Version]) -> tuple[dt.datetime, dt.datetime]:
    return run[0]["t0"], max(v["t1"] for v in run)


def choose_run(runs: list[list[Version]], at: dt.datetime | None, now: dt.datetime) -> list[Version]:
    """The run in force at `at`; without `at`, the one in force now, else the latest that has started."""
    if at is not None:
        chosen = next((r for r in runs if run_span(r)[0] <= at < run_span(r)[1]), None)
        if chosen is None:
            raise InvalidInput("the zone was not in force at `at`", errors=[FieldError("at", "zone not in force then")])
        return chosen
    in_force = next((r for r in runs if run_span(r)[0] <= now < run_span(r)[1]), None)
    if in_force is not None:
        return in_force
    started = [r for r in runs if run_span(r)[0] <= now]
    if not started:
        raise InvalidInput("the designation period has not started yet", errors=[FieldError("zone_id", "scheduled")])
    return started[-1]


Piece = tuple[Version, dt.datetime, dt.datetime]


def governing_pieces(run: list[Version], start: dt.datetime, end: dt.datetime) -> list[Piece]:
    """[a, b) of each version within [start, end), no moment twice: where versions overlap the one that started
    last governs (a later decision replaces an earlier one from its start)."""
    cuts = sorted({start, end, *(t for v in run for t in (v["t0"], v["t1"]) if start < t < end)})
    out: list[Piece] = []
    for a, b in itertools.pairwise(cuts):
        governing = [v for v in run if v["t0"] <= a and v["t1"] >= b]
        if not governing:
            continue
        v = max(governing, key=lambda v: (v["t0"], v["version_no"]))
        if out and out[-1][0] is v and out[-1][2] == a:
            out[-1] = (v, out[-1][1], b)
        else:
            out.append((v, a, b))
    return out


async def zone_effect(db: Database, principal: Principal, zone_id: int, *, at: dt.datetime | None,
                      categories: list[str] | None, daily_window: bool) -> dict[str, Any]:
    require(principal, Role.officer, Role.analyst, Role.legal, Role.admin, action="The zone effect")
    rules = get_overlay_rules()
    leaves = rules.expand(categories)
    async with db.connection() as conn:
        zone = await store.zone_for_effect(conn, zone_id, zone_filter(principal))
        if zone is None:
            raise NotFound(f"no zone {zone_id} that this role may see")
        access = overlay_access(principal)
        if not access.exact_everywhere and zone["politikreds_code"] != access.exact_politikreds:
            raise Forbidden(f"an officer sees the zone effect only for zones in their own politikreds "
                            f"({access.exact_politikreds})", extra={"role": principal.role.value})
        versions = await store.effect_versions(conn, zone_id)
        extent = await store.incident_extent(conn)
    if not versions:
        raise InvalidInput(f"zone {zone_id} has never been in force", errors=[FieldError("zone_id", "never in force")])
    now = timeutil.now()
    chosen = choose_run(_runs(versions), at, now)
    start, run_end = run_span(chosen)
    end = min(run_end, now)
    notes = []
    if run_end > now:
        notes.append("the zone is still in force: the during window ends now")
    if extent["last"] is not None and extent["last"] < end:
        notes.append(f"incident data end {timeutil.isoformat_local(extent['last'])}, before the end of the window")
    if end <= start:
        raise InvalidInput("the designation period has not started yet", errors=[FieldError("zone_id", "scheduled")])
    length = end - start
    window = None
    if daily_window:
        if zone["daily_window_start"] is None:
            raise InvalidInput("this kind of zone has no daily window",
                               errors=[FieldError("daily_window", f"{zone['kind']} has no daily window")])
        window = (zone["daily_window_start"], zone["daily_window_end"])
    totals = {"before_in": 0, "during_in": 0, "before_ctrl": 0, "during_ctrl": 0}
    pieces = []
    kommune = chosen[0]["kommune_code"]
    async with db.connection() as conn:
        for v, a, b in governing_pieces(chosen, start, end):
            c = await store.effect_counts(conn, version_id=v["id"], kommune=kommune, a=a, b=b, shift=length,
                                          categories=leaves, daily_window=window)
            for k in totals:
                totals[k] += c[k]
            pieces.append({"version": v["version_no"], "decision_ref": v["decision_ref"],
                           "during": [timeutil.isoformat_local(a), timeutil.isoformat_local(b)],
                           "before": [timeutil.isoformat_local(a - length), timeutil.isoformat_local(b - length)],
                           "area_km2": round(v["area_km2"], 4), **c})
    rr = ratio_of_ratios(totals["before_in"], totals["during_in"], totals["before_ctrl"], totals["during_ctrl"])
    if min(totals.values()) < SMALL_COUNT:
        notes.append(f"some counts are below {SMALL_COUNT}: the ratio is very uncertain")
    if extent["first"] is None or extent["first"] > start - length:
        notes.append("incident data begin after the start of the before window: the before count is incomplete")
    return {
        "zone": {"id": zone["id"], "name": zone["name"], "kind": zone["kind"], "illustrative": zone["illustrative"]},
        "designation": {"from": timeutil.isoformat_local(start), "to": timeutil.isoformat_local(end),
                        "days": round(length.total_seconds() / 86400, 3),
                        "versions": len({p["version"] for p in pieces})},
        "before": {"from": timeutil.isoformat_local(start - length), "to": timeutil.isoformat_local(start)},
        "control": {"kommune": kommune, "what": "the rest of the kommune, outside the zone, same windows"},
        "categories": leaves,
        "daily_window": None if window is None else {"start": window[0].strftime("%H:%M"),
                                                     "end": window[1].strftime("%H:%M")},
        "counts": totals,
        "change_inside": _round(simple_ratio(totals["before_in"], totals["during_in"])),
        "change_control": _round(simple_ratio(totals["before_ctrl"], totals["during_ctrl"])),
        "ratio_of_changes": {
            "ratio": _round(rr.ratio), "ci95": None if rr.low is None else [_round(rr.low), _round(rr.high)],
            "p_value": None if rr.p_value is None else round(rr.p_value, 5),
            "meaning": "below 1: incidents fell more (or rose less) inside the zone than in the rest of the "
                       "kommune; 95% interval and p-value from a Poisson log-rate model",
        },
        "pieces": pieces,
        "notes": notes,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
