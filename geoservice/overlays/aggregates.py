"""Aggregates of incidents and insecurity reports: counts per geography, with rates, exact for staff and as
published (suppressed) tables for the public (rules in geoservice.access, mechanics in .suppression)."""

from __future__ import annotations

import asyncio
import datetime as dt
import pickle
import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np
import orjson
import pandas as pd
import shapely
from psycopg import AsyncConnection

from geoservice import timeutil
from geoservice.access import (
    PUBLIC,
    PUBLIC_GEOGRAPHIES,
    STAFF_GEOGRAPHIES,
    Principal,
    exact_aggregates,
    zone_filter,
)
from geoservice.db import Database
from geoservice.errors import FieldError, Forbidden, InvalidInput
from geoservice.geometry import STORAGE_SRID, WGS84_SRID, transformer
from geoservice.layers import get_layers
from geoservice.overlays import grid
from geoservice.overlays.suppression import Atoms, Key, Relation, suppress
from geoservice.overlays.taxonomy import OverlayRules, get_overlay_rules
from geoservice.settings import Settings
from geoservice.store import overlays as store
from geoservice.store.overlays import CountQuery

SOURCES = ("incidents", "insecurity_reports")
TOTAL = "total"
MAX_CELLS = 50_000
# An area counts as inside another when this share of its area is inside.
CONTAINED_SHARE = 0.99


# --- periods -------------------------------------------------------------------------------------------------

_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.I)
_YEAR = re.compile(r"^(\d{4})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Window:
    t0: dt.datetime
    t1: dt.datetime
    label: str | None = None    # '2025Q3', '2025', '2025-07' when the window is a calendar period
    is_quarter: bool = False

    @property
    def quarter_of_end(self) -> str:
        local = timeutil.to_local(self.t1 - dt.timedelta(seconds=1))
        return f"{local.year}Q{(local.month - 1) // 3 + 1}"

    def as_dict(self) -> dict[str, Any]:
        return {"from": timeutil.isoformat_local(self.t0), "to": timeutil.isoformat_local(self.t1),
                "period": self.label}


def _local_midnight(year: int, month: int, day: int = 1) -> dt.datetime:
    return timeutil.localize(dt.datetime(year, month, day))


def quarter_window(year: int, q: int) -> Window:
    start = _local_midnight(year, 3 * q - 2)
    end = _local_midnight(year + (q == 4), 1 if q == 4 else 3 * q + 1)
    return Window(start, end, f"{year}Q{q}", True)


def period_window(period: str) -> Window:
    text = period.strip()
    if m := _QUARTER.match(text):
        return quarter_window(int(m[1]), int(m[2]))
    if m := _YEAR.match(text):
        y = int(m[1])
        return Window(_local_midnight(y, 1), _local_midnight(y + 1, 1), str(y))
    if (m := _MONTH.match(text)) and 1 <= int(m[2]) <= 12:
        y, mo = int(m[1]), int(m[2])
        end = _local_midnight(y + (mo == 12), 1 if mo == 12 else mo + 1)
        return Window(_local_midnight(y, mo), end, f"{y}-{mo:02d}")
    raise InvalidInput(f"period: {period!r} is not a calendar period",
                       errors=[FieldError("period", "expected a quarter (2025Q3), a year (2025) or a month (2025-07)")])


def last_complete_quarter(now: dt.datetime | None = None) -> Window:
    local = timeutil.to_local(now or timeutil.now())
    q = (local.month - 1) // 3 + 1
    year, q = (local.year, q - 1) if q > 1 else (local.year - 1, 4)
    return quarter_window(year, q)


def quarter_label(t: dt.datetime) -> str:
    local = timeutil.to_local(t)
    return f"{local.year}Q{(local.month - 1) // 3 + 1}"


def data_extent(extent: dict[str, Any], principal: Principal) -> dict[str, Any]:
    """The span of the incident data for the catalogue. The public gets only the quarters: the exact first or
    last moment is one incident's time, and the count would change by single incidents."""
    first, last = extent["first"], extent["last"]
    quarters = {"first_quarter": quarter_label(first) if first else None,
                "last_quarter": quarter_label(last) if last else None}
    if principal.is_public:
        return {"first": None, "last": None, "count": None, **quarters}
    return {"first": timeutil.isoformat_local(first) if first else None,
            "last": timeutil.isoformat_local(last) if last else None, "count": int(extent["n"]), **quarters}


def parse_window(period: str | None, t0: dt.datetime | None, t1: dt.datetime | None) -> Window:
    if period and (t0 or t1):
        raise InvalidInput("give either period or from/to",
                           errors=[FieldError("period", "cannot be combined with from/to")])
    if period:
        return period_window(period)
    if t0 is None and t1 is None:
        return last_complete_quarter()
    if t0 is None or t1 is None:
        missing = "from" if t0 is None else "to"
        raise InvalidInput(f"{missing} is missing", errors=[FieldError(missing, "give both from and to, or period")])
    if t1 <= t0:
        raise InvalidInput("to must be after from", errors=[FieldError("to", "must be after from")])
    # A window that is exactly a calendar quarter is one (the public tables are per quarter).
    local = timeutil.to_local(t0)
    if local.month in (1, 4, 7, 10) and local.day == 1 and local.hour == 0 and local.minute == 0:
        quarter = quarter_window(local.year, (local.month - 1) // 3 + 1)
        if quarter.t0 == t0 and quarter.t1 == t1:
            return quarter
    return Window(t0, t1)


# --- the answer ----------------------------------------------------------------------------------------------


@dataclass
class AreaRow:
    key: str
    name: str
    counts: dict[str, int]           # column -> count (columns: groups or categories, and TOTAL)
    area_km2: float | None = None
    population: int | None = None
    parent: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    geometry: str | None = None      # GeoJSON text (EPSG:4326)
    wkb: bytes | None = None         # EPSG:25832, for containment tests
    span: tuple[dt.datetime, dt.datetime] | None = None  # zones: first and last moment in force


@dataclass
class CountResult:
    source: str
    by: str
    window: Window
    split: str
    columns: list[str]
    rows: list[AreaRow]
    total: dict[str, int]
    exact: bool
    hidden: set[Key] = field(default_factory=set)   # (area key, column) withheld; ('DK', column) for the total
    k: int = 0
    population_quarter: str | None = None
    notes: list[str] = field(default_factory=list)
    filters: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def by_key(self) -> dict[str, AreaRow]:
        return {r.key: r for r in self.rows}


def result_value(result: CountResult, key: str, column: str) -> int:
    if key == "DK":
        return result.total.get(column, 0)
    return result.by_key[key].counts.get(column, 0)


def _counts_below_k(result: CountResult, key: str, column: str) -> bool:
    return 0 < result_value(result, key, column) < result.k


def _rate(value: int | str, denominator: float | None, scale: float = 1.0, digits: int = 3) -> float | None:
    if not isinstance(value, int) or not denominator:
        return None
    return round(value * scale / denominator, digits)


def row_dict(result: CountResult, row: AreaRow) -> dict[str, Any]:
    total = _cell(result, row.key, TOTAL)
    out: dict[str, Any] = {
        "key": row.key,
        "name": row.name,
        "count": total,
        "suppressed": (row.key, TOTAL) in result.hidden,
        "counts": {c: _cell(result, row.key, c) for c in result.columns if c != TOTAL},
        "area_km2": None if row.area_km2 is None else round(row.area_km2, 4),
        "per_km2": _rate(total, row.area_km2),
    }
    if row.population is not None:
        out["population"] = row.population
        out["per_1000"] = _rate(total, row.population, 1000.0)
    if row.parent is not None:
        out["parent"] = row.parent
    out.update(row.extra)
    return out


def _cell(result: CountResult, key: str, column: str) -> int | str:
    if (key, column) in result.hidden:
        return f"<{result.k}" if _counts_below_k(result, key, column) else "withheld"
    return result_value(result, key, column)


def as_json(result: CountResult, principal: Principal) -> dict[str, Any]:
    partition = result.by not in ("national", "zone", "sector") or not result.exact
    total = _cell(result, "DK", TOTAL) if partition and result.by != "national" else None
    body: dict[str, Any] = {
        "source": result.source,
        "by": result.by,
        **result.window.as_dict(),
        "split": result.split,
        "columns": [c for c in result.columns if c != TOTAL],
        "filters": result.filters,
        "role": principal.role.value,
        "exact": result.exact,
        "suppression": (
            {"applied": False} if result.exact else
            {"applied": True, "k": result.k,
             "rule": f"counts below {result.k} are shown as \"<{result.k}\"; other cells that would let one be "
                     "recovered by subtraction are \"withheld\"; rates of those cells are withheld too",
             "suppressed_cells": sum(1 for key, _ in result.hidden if key != "DK")}
        ),
        "population_quarter": result.population_quarter,
        "areas": [row_dict(result, r) for r in result.rows],
    }
    if total is not None:
        body["total"] = {"count": total, "counts": {c: _cell(result, "DK", c) for c in result.columns if c != TOTAL}}
    if result.notes:
        body["notes"] = result.notes
    return body


def as_geojson(result: CountResult, principal: Principal) -> bytes:
    head = as_json(result, principal)
    areas = head.pop("areas")
    parts = []
    for row, props in zip(result.rows, areas, strict=True):
        geometry = row.geometry or "null"
        parts.append(b'{"type":"Feature","id":' + orjson.dumps(row.key) + b',"geometry":' + geometry.encode()
                     + b',"properties":' + orjson.dumps(props) + b"}")
    body = orjson.dumps({"type": "FeatureCollection", **head})
    return body[:-1] + b',"features":[' + b",".join(parts) + b"]}"


# --- counting ------------------------------------------------------------------------------------------------


@dataclass
class CountParams:
    source: str
    by: str
    window: Window
    categories: list[str] | None = None
    split: str = "group"               # group | category | none
    politikreds: str | None = None
    kommuner: list[str] | None = None
    bbox: tuple[float, float, float, float] | None = None
    kinds: list[str] | None = None
    statuses: list[str] | None = None
    hours: tuple[int, int] | None = None
    geometry: bool = False
    simplify_m: float = 50.0


def _check_params(p: CountParams, rules: OverlayRules) -> None:
    if p.source not in SOURCES:
        raise InvalidInput(f"source: unknown source {p.source!r}",
                           errors=[FieldError("source", f"expected one of {', '.join(SOURCES)}")])
    if p.by not in STAFF_GEOGRAPHIES:
        raise InvalidInput(f"by: unknown geography {p.by!r}",
                           errors=[FieldError("by", f"expected one of {', '.join(STAFF_GEOGRAPHIES)}")])
    if p.split not in ("group", "category", "none"):
        raise InvalidInput("split: expected group, category or none", errors=[FieldError("split", "expected group, "
                                                                                         "category or none")])
    if p.by == "grid100m" and not (p.bbox or p.kommuner or p.politikreds):
        raise InvalidInput("by=grid100m needs a bbox, kommune or politikreds to limit it",
                           errors=[FieldError("bbox", "required for 100 m cells (or kommune / politikreds)")])
    # A filter that does not apply to the query is refused rather than ignored, so `filters` in the answer is
    # always what was applied.
    if p.kinds:
        if p.by != "zone":
            raise InvalidInput("kind filters zones: it needs by=zone",
                               errors=[FieldError("kind", "applies to by=zone only")])
        unknown = [k for k in p.kinds if get_layers().kind(k) is None]
        if unknown:
            raise InvalidInput(f"kind: unknown zone kind {', '.join(unknown)}",
                               errors=[FieldError("kind", "expected zone kinds of GET /api/v1/kinds")])
    if p.hours and p.source != "incidents":
        raise InvalidInput("hours: insecurity reports are dated, not timed",
                           errors=[FieldError("hours", "applies to source=incidents only")])
    if p.statuses and p.source != "insecurity_reports":
        raise InvalidInput("status: incidents have no status",
                           errors=[FieldError("status", "applies to source=insecurity_reports only")])


def _public_refusals(p: CountParams, rules: OverlayRules) -> list[FieldError]:
    """What a public query may not ask for (the published tables are fixed; see geoservice.access)."""
    errors = []
    if p.by not in PUBLIC_GEOGRAPHIES:
        errors.append(FieldError("by", f"the public tables exist for {', '.join(PUBLIC_GEOGRAPHIES)}; 100 m cells "
                                       "are too small to publish"))
    if not p.window.is_quarter:
        errors.append(FieldError("period", "public tables are per calendar quarter: give period=2025Q3 (or from/to "
                                           "exactly one quarter)"))
    elif p.window.t1 > timeutil.now():
        # A quarter still being filled would be published again with every new row, and two versions of its
        # table differ by single incidents.
        errors.append(FieldError("period", "public tables exist for complete quarters only; the last is "
                                           f"{last_complete_quarter().label}"))
    if p.bbox:
        errors.append(FieldError("bbox", "the public tables cover fixed areas; a bbox is staff only"))
    if p.kommuner or p.politikreds:
        errors.append(FieldError("politikreds" if p.politikreds else "kommune",
                                 "filtering the public tables by area is not offered; every area is listed"))
    allowed = rules.groups if p.source == "incidents" else rules.report_categories
    if p.categories and any(c not in allowed for c in p.categories):
        errors.append(FieldError("category", "the public tables are per category group: " + ", ".join(allowed)))
    if p.split == "category":
        errors.append(FieldError("split", "the public tables are split by category group only"))
    if p.hours:
        errors.append(FieldError("hours", "an hour-of-day filter is staff only"))
    if p.statuses:
        errors.append(FieldError("status", "a status filter is staff only"))
    return errors


async def count(db: Database, settings: Settings, principal: Principal, p: CountParams) -> CountResult:
    rules = get_overlay_rules()
    _check_params(p, rules)
    if p.source == "insecurity_reports" and p.categories:
        unknown = [c for c in p.categories if c not in rules.report_categories]
        if unknown:
            raise InvalidInput(f"category: unknown report category {', '.join(unknown)}",
                               errors=[FieldError("category", "expected: " + ", ".join(rules.report_categories))])
    exact = exact_aggregates(principal, p.politikreds)
    if exact:
        return await _exact(db, principal, p, rules)
    refusals = _public_refusals(p, rules)
    if refusals:
        raise Forbidden(
            "this query is not one of the published tables: " + "; ".join(f"{e.field}: {e.reason}" for e in refusals),
            errors=refusals, extra={"role": principal.role.value},
        )
    return await _published(db, settings, principal, p, rules)


def _columns_for(p: CountParams, rules: OverlayRules) -> tuple[list[str], dict[str, str]]:
    """The columns of the answer and which column each stored category goes to."""
    if p.source == "insecurity_reports":
        cats = p.categories or list(rules.report_categories)
        if p.split == "none":
            return [TOTAL], {c: TOTAL for c in rules.report_categories}
        return [*cats, TOTAL], {c: c for c in rules.report_categories}
    if p.split == "category":
        leaves = rules.expand(p.categories) or list(rules.categories)
        return [*leaves, TOTAL], {c: c for c in rules.categories}
    if p.split == "none":
        return [TOTAL], {c: TOTAL for c in rules.categories}
    groups = [g for g in rules.groups if not p.categories or g in {rules.group_of(c) for c in
                                                                   rules.expand(p.categories) or []}]
    return [*groups, TOTAL], {c: rules.group_of(c) for c in rules.categories}


def _query(p: CountParams, principal: Principal, rules: OverlayRules, *, public: bool) -> CountQuery:
    categories = None
    if p.categories:
        categories = p.categories if p.source == "insecurity_reports" else rules.expand(p.categories)
    access = zone_filter(PUBLIC if public else principal)
    return CountQuery(source=p.source, by=p.by, t0=p.window.t0, t1=p.window.t1, categories=categories,
                      politikreds=p.politikreds, kommuner=p.kommuner, bbox=p.bbox, kinds=p.kinds, access=access,
                      statuses=p.statuses, hours=p.hours)


async def _exact(db: Database, principal: Principal, p: CountParams, rules: OverlayRules) -> CountResult:
    columns, column_of = _columns_for(p, rules)
    q = _query(p, principal, rules, public=False)

    async def counted() -> list[dict[str, Any]]:
        async with db.connection() as conn:
            return await store.counts(conn, q)

    async def areas() -> tuple[list[AreaRow], str | None]:
        async with db.connection() as conn:
            return await _area_rows(conn, q, p, [])

    # The count and the areas' metadata run side by side on two connections; grid cells come from the counts.
    if p.by.startswith("grid"):
        raw = await counted()
        rows, pop_quarter = _cells(raw, p), None
    else:
        raw, (rows, pop_quarter) = await asyncio.gather(counted(), areas())
    _fill(rows, raw, column_of, p.by)
    # A total only where the areas partition what was counted (zones and sectors overlap or leave gaps).
    total: dict[str, int] = defaultdict(int)
    if p.by not in ("zone", "sector"):
        for r in raw:
            column = column_of[r["category"]]
            total[column] += int(r["n"])
            if column != TOTAL:  # with split=none every category already counts in TOTAL
                total[TOTAL] += int(r["n"])
    notes = []
    if p.by == "grid100m" and len(rows) >= MAX_CELLS:
        notes.append(f"only the first {MAX_CELLS} cells are listed; narrow the bbox")
    return CountResult(p.source, p.by, p.window, p.split, columns, rows, dict(total), exact=True,
                       population_quarter=pop_quarter, notes=notes, filters=_filters_dict(p))


def _filters_dict(p: CountParams) -> dict[str, Any]:
    return {k: v for k, v in {"category": p.categories, "politikreds": p.politikreds, "kommune": p.kommuner,
                              "bbox": p.bbox, "kind": p.kinds, "status": p.statuses,
                              "hours": list(p.hours) if p.hours else None}.items() if v}


def _fill(rows: list[AreaRow], raw: list[dict[str, Any]], column_of: dict[str, str], by: str) -> None:
    index = {r.key: r for r in rows}
    for item in raw:
        key = _raw_key(item, by)
        row = index.get(key)
        if row is None:
            continue
        column = column_of[item["category"]]
        n = int(item["n"])
        row.counts[column] = row.counts.get(column, 0) + n
        if column != TOTAL:
            row.counts[TOTAL] = row.counts.get(TOTAL, 0) + n


def _raw_key(item: dict[str, Any], by: str) -> str:
    if by.startswith("grid"):
        size = grid.GRIDS[by]
        return f"{grid.PREFIX[size]}_{item['gy']}_{item['gx']}"
    return str(item["key"])


async def _area_rows(conn: AsyncConnection, q: CountQuery, p: CountParams, raw: list[dict[str, Any]]
                     ) -> tuple[list[AreaRow], str | None]:
    """Every area of the geography (with zero counts too), its size and population; grid cells only where
    something was counted."""
    tol = p.simplify_m
    pop_quarter = None
    if p.by == "national":
        rows = [AreaRow("DK", "Danmark", {}, area_km2=None)]
        pop = await store.population(conn, p.window.quarter_of_end)
        areas = await store.reference_areas(conn, "politikreds", geometry=False, tolerance=tol)
        rows[0].area_km2 = sum(a["area_km2"] for a in areas)
        rows[0].population = sum(n for _, n in pop.values()) or None
        pop_quarter = max((qq for qq, _ in pop.values()), default=None)
    elif p.by in ("politikreds", "kommune"):
        areas = await store.reference_areas(conn, p.by, geometry=p.geometry, tolerance=tol)
        pop = await store.population(conn, p.window.quarter_of_end)
        pop_quarter = max((qq for qq, _ in pop.values()), default=None)
        by_kreds: dict[str, int] = defaultdict(int)
        if p.by == "politikreds":
            for a in await store.reference_areas(conn, "kommune", geometry=False, tolerance=tol):
                if a["key"] in pop:
                    by_kreds[a["parent_code"]] += pop[a["key"]][1]
        rows = []
        for a in areas:
            if p.by == "kommune" and p.kommuner and a["key"] not in p.kommuner:
                continue
            if p.politikreds and (a["parent_code"] if p.by == "kommune" else a["key"]) != p.politikreds:
                continue
            population = pop.get(a["key"], (None, None))[1] if p.by == "kommune" else by_kreds.get(a["key"])
            rows.append(AreaRow(a["key"], a["name"], {}, a["area_km2"], population, a["parent_code"],
                                geometry=a["geometry"]))
    elif p.by == "sector":
        rows = [AreaRow(s["key"], s["name"], {}, s["area_km2"], None, s["parent_code"], geometry=s["geometry"],
                        wkb=bytes(s["wkb"]), extra={"kommune": s["kommune_code"]})
                for s in await store.sectors(conn, q.t0, q.t1, geometry=p.geometry, tolerance=tol)
                if not p.politikreds or s["parent_code"] == p.politikreds]
    elif p.by == "zone":
        rows = []
        for z in await store.zones_in_window(conn, q, geometry=p.geometry):
            if p.politikreds and z["parent_code"] != p.politikreds:
                continue
            rows.append(AreaRow(str(z["key"]), z["name"], {}, z["area_km2"], None, z["parent_code"],
                                geometry=z["geometry"], span=(z["first_from"], z["last_to"]),
                                extra={"kind": z["kind"], "illustrative": z["illustrative"],
                                       "days_in_force": round(float(z["days_in_force"] or 0), 3),
                                       "in_force_from": timeutil.isoformat_local(z["first_from"]),
                                       "in_force_to": timeutil.isoformat_local(z["last_to"])}))
    else:
        rows = _cells(raw, p)
    return rows, pop_quarter


def _cells(raw: list[dict[str, Any]], p: CountParams) -> list[AreaRow]:
    size = grid.GRIDS[p.by]
    seen: dict[str, tuple[int, int]] = {}
    for item in raw:
        seen.setdefault(_raw_key(item, p.by), (item["gx"], item["gy"]))
    keys = sorted(seen)[:MAX_CELLS]
    if not keys:
        return []
    gx = np.array([seen[k][0] for k in keys], dtype=float)
    gy = np.array([seen[k][1] for k in keys], dtype=float)
    tr = transformer(STORAGE_SRID, WGS84_SRID)
    corners = [tr.transform((gx + dx) * size, (gy + dy) * size) for dx, dy in ((0, 0), (1, 0), (1, 1), (0, 1))]
    centre = tr.transform((gx + 0.5) * size, (gy + 0.5) * size)
    rows = []
    for i, key in enumerate(keys):
        ring = [[round(float(c[0][i]), 6), round(float(c[1][i]), 6)] for c in corners]
        geometry = orjson.dumps({"type": "Polygon", "coordinates": [[*ring, ring[0]]]}).decode() if p.geometry else None
        rows.append(AreaRow(key, key, {}, area_km2=size * size / 1e6, geometry=geometry,
                            extra={"lon": round(float(centre[0][i]), 6), "lat": round(float(centre[1][i]), 6)}))
    return rows


# --- the published tables ------------------------------------------------------------------------------------

_PUBLIC_CACHE: dict[tuple, tuple[dt.datetime, dict[str, Any]]] = {}


async def _published(db: Database, settings: Settings, principal: Principal, p: CountParams,
                     rules: OverlayRules) -> CountResult:
    table = await published_table(db, settings, p.source, p.window, rules)
    rows = table["rows"][p.by]
    notes = []
    if p.by == "zone":
        # The table is frozen, the zones are not: a zone no longer public leaves it, a renamed one is renamed.
        # (Whole rows only: no figure changes.)
        async with db.connection() as conn:
            current = {str(z["key"]): z["name"] for z in await store.zones_in_window(
                conn, CountQuery(source=p.source, by="zone", t0=p.window.t0, t1=p.window.t1,
                                 access=zone_filter(PUBLIC)), geometry=False)}
        rows = [replace(r, name=current[r.key]) for r in rows if r.key in current]
    if p.kinds:
        # Selecting whole rows of the published table shows no figure that is not published anyway.
        rows = [r for r in rows if r.extra.get("kind") in p.kinds]
    columns = table["columns"]
    if p.categories:
        columns = [c for c in columns if c in p.categories or c == TOTAL]
        notes.append("category selects the group columns shown; count is the total of all groups (the published "
                     "tables are fixed)")
    if p.split == "none":
        columns = [TOTAL]
    result = CountResult(p.source, p.by, p.window, "group" if p.split != "none" else "none", columns,
                         [replace(r, counts=dict(r.counts), geometry=None) for r in rows],
                         table["total"], exact=False, hidden={(k[1], k[2]) for k in table["hidden"]
                                                               if k[0] in (p.by, "national")},
                         k=settings.suppression_k, population_quarter=table["population_quarter"],
                         notes=notes, filters=_filters_dict(p))
    # The national row's cells are keyed 'DK' in both the national family and the total.
    if p.geometry:
        geo = await _geometries(db, p)
        for r in result.rows:
            r.geometry = geo.get(r.key, r.geometry)
        if p.by.startswith("grid"):
            cells = {c.key: c.geometry for c in _cells([{"gx": int(k.split("_")[2]), "gy": int(k.split("_")[1]),
                                                          "category": "", "n": 0} for k in
                                                         [r.key for r in result.rows]], p)}
            for r in result.rows:
                r.geometry = cells.get(r.key)
    return result


async def _geometries(db: Database, p: CountParams) -> dict[str, str]:
    if p.by.startswith("grid") or p.by == "national":
        return {}
    q = CountQuery(source=p.source, by=p.by, t0=p.window.t0, t1=p.window.t1, access=zone_filter(PUBLIC))
    async with db.connection() as conn:
        if p.by in ("kommune", "politikreds"):
            return {a["key"]: a["geometry"] for a in await store.reference_areas(conn, p.by, geometry=True,
                                                                                  tolerance=p.simplify_m)}
        if p.by == "sector":
            return {s["key"]: s["geometry"] for s in await store.sectors(conn, q.t0, q.t1, geometry=True,
                                                                          tolerance=p.simplify_m)}
        return {str(z["key"]): z["geometry"] for z in await store.zones_in_window(conn, q, geometry=True)}


async def published_table(db: Database, settings: Settings, source: str, window: Window, rules: OverlayRules
                          ) -> dict[str, Any]:
    """The whole public table of one quarter: every public geography × category group (and totals), suppressed
    together. Built at the first public request after the quarter ended and then frozen in the database
    (overlay_publication): later rows of the quarter would otherwise let anyone subtract two versions of it.
    `geoservice overlays republish` builds it again on purpose."""
    k = settings.suppression_k
    assert window.label is not None
    async with db.connection() as conn:
        stamp = await store.publication_stamp(conn, source, window.label, k)
    cache_key = (source, window.label, k, str(db.conninfo))
    cached = _PUBLIC_CACHE.get(cache_key)
    if cached and stamp is not None and cached[0] == stamp:
        return cached[1]
    async with db.connection() as conn:
        row = await store.publication(conn, source, window.label, k)
    if row is None:
        table = await _build_published(db, settings, source, window, rules)
        async with db.connection() as conn:
            row = await store.publish(conn, source, window.label, k, pickle.dumps(table))
    table = pickle.loads(row["body"])  # written by this module, into our own database
    _PUBLIC_CACHE[cache_key] = (row["published_at"], table)
    return table


async def republish(db: Database, settings: Settings, period: str, sources: tuple[str, ...] = SOURCES) -> None:
    """Build the public tables of a quarter again from the rows as they are now. Anyone who kept the previous
    version can subtract the two, so this is for corrections that matter, not routine."""
    window = period_window(period)
    if not window.is_quarter or window.t1 > timeutil.now():
        raise InvalidInput(f"period: {period!r} is not a complete quarter",
                           errors=[FieldError("period", "public tables exist for complete quarters, e.g. 2025Q3")])
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise InvalidInput(f"source: unknown source {', '.join(unknown)}",
                           errors=[FieldError("source", f"expected one of {', '.join(SOURCES)}")])
    for source in sources:
        async with db.connection() as conn:
            await store.withdraw_publications(conn, source, window.label)
        await published_table(db, settings, source, window, get_overlay_rules())


async def _build_published(db: Database, settings: Settings, source: str, window: Window, rules: OverlayRules,
                           *, secondary: bool = True) -> dict[str, Any]:
    """Every row of the quarter is placed in every public geography at once (one query), so all figures of the
    table come from the same rows, and which area's rows are a subset of another's is known exactly.
    `secondary=False` leaves out the secondary suppression (only for showing what it protects, in tests)."""
    if source == "incidents":
        columns = [*rules.groups, TOTAL]
        column_of = {c: rules.group_of(c) for c in rules.categories}
    else:
        columns = [*rules.report_categories, TOTAL]
        column_of = {c: c for c in rules.report_categories}
    q = CountQuery(source=source, by="national", t0=window.t0, t1=window.t1, access=zone_filter(PUBLIC))
    rows: dict[str, list[AreaRow]] = {}
    pop_quarter = None
    async with db.connection() as conn:
        events = await store.membership(conn, q)
        for by in PUBLIC_GEOGRAPHIES:
            if by == "grid1km":
                continue
            p = CountParams(source=source, by=by, window=window)
            family, quarter = await _area_rows(conn, replace(q, by=by), p, [])
            pop_quarter = pop_quarter or quarter
            rows[by] = family
    # pandas and the suppression's fixed point take seconds on a big quarter: off the event loop.
    return await asyncio.to_thread(_assemble_published, events, rows, columns, column_of, source, window,
                                   settings.suppression_k, pop_quarter, secondary)


def _assemble_published(events: list[dict[str, Any]], rows: dict[str, list[AreaRow]], columns: list[str],
                        column_of: dict[str, str], source: str, window: Window, k: int, pop_quarter: str | None,
                        secondary: bool) -> dict[str, Any]:
    member = _memberships(events, column_of)
    member = member[member["family"].isin(PUBLIC_GEOGRAPHIES)]
    if "grid1km" in PUBLIC_GEOGRAPHIES:
        rows["grid1km"] = _cells([{"gx": int(k.split("_")[2]), "gy": int(k.split("_")[1])}
                                  for k in sorted(member.loc[member["family"] == "grid1km", "key"].unique())],
                                 CountParams(source=source, by="grid1km", window=window))
    counts = member.groupby(["family", "key", "column"]).size().to_dict()
    values: dict[Key, int] = {}
    for by, family in rows.items():
        for r in family:
            for c in columns:
                n = int(counts.get((by, r.key, c), 0))
                values[(by, r.key, c)] = n
                if n:
                    r.counts[c] = n
    national = rows["national"][0]
    total = {c: national.counts.get(c, 0) for c in columns}
    if secondary:
        relations = _relations(rows, columns) + _subset_relations(member, values, k)
        hidden = suppress(values, relations, k, atoms=table_atoms(member, list(values)),
                          insider_parts=insider_parts(member))
    else:
        hidden = suppress(values, [], k)
    return {"rows": rows, "columns": columns, "total": total, "hidden": hidden, "population_quarter": pop_quarter}


def _memberships(events: list[dict[str, Any]], column_of: dict[str, str]) -> pd.DataFrame:
    """Long table (event, column, family, key): each row counts in its group's column and the total, in every
    area it lies in."""
    if not events:
        return pd.DataFrame({"event": [], "column": [], "family": [], "key": []})
    frame = pd.DataFrame(events)
    base = pd.DataFrame({"event": frame["id"], "group": frame["category"].map(column_of)})
    parts = [
        base.assign(family="national", key="DK"),
        base.assign(family="politikreds", key=frame["politikreds_code"]),
        base.assign(family="kommune", key=frame["kommune_code"]),
        base.assign(family="grid1km", key="1km_" + frame["gy"].astype(str) + "_" + frame["gx"].astype(str)),
    ]
    for family, col in (("sector", "sectors"), ("zone", "zones")):
        listed = frame[["id", "category", col]].explode(col).dropna(subset=[col])
        if len(listed):
            parts.append(pd.DataFrame({"event": listed["id"], "group": listed["category"].map(column_of),
                                       "family": family, "key": listed[col].astype(str)}))
    long = pd.concat(parts, ignore_index=True)
    by_group = long.rename(columns={"group": "column"})
    as_total = long.drop(columns="group").assign(column=TOTAL)
    return pd.concat([by_group, as_total], ignore_index=True)


def table_atoms(member: pd.DataFrame, cells: list[Key]) -> Atoms:
    """The atoms of a table: rows of one column group that count in exactly the same areas (see suppression)."""
    if member.empty:
        return Atoms(cells, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), 0)
    groups = member[member["column"] != TOTAL]
    signature = (groups.assign(area=groups["family"] + ":" + groups["key"].astype(str))
                 .sort_values(["event", "area"])
                 .groupby("event", sort=False).agg(areas=("area", "|".join), column=("column", "first")))
    signature["atom"] = pd.factorize(signature["column"] + "#" + signature["areas"])[0]
    first = signature.reset_index().drop_duplicates("atom")[["event", "atom"]]
    edges = groups.merge(first, on="event")[["family", "key", "column", "atom"]]
    edges = pd.concat([edges, edges.assign(column=TOTAL)], ignore_index=True)
    index = {cell: i for i, cell in enumerate(cells)}
    cell_of_edge = np.fromiter((index.get(c, -1) for c in zip(edges["family"], edges["key"].astype(str),
                                                               edges["column"], strict=True)),
                               dtype=np.int64, count=len(edges))
    keep = cell_of_edge >= 0
    # Zeros are published, so every withheld cell is known not to be empty.
    listed = frozenset(cells)
    return Atoms(cells, cell_of_edge[keep], edges["atom"].to_numpy(dtype=np.int64)[keep],
                 int(signature["atom"].max()) + 1, listed)


# Areas that may straddle politikredse, whose part in one kreds an officer of that kreds knows exactly.
_STRADDLING = ("grid1km", "zone", "sector")


def insider_parts(member: pd.DataFrame) -> dict[Key, tuple[int, ...]]:
    """For each cell counted in more than one politikreds, its part in each."""
    if member.empty:
        return {}
    kreds_of = member[(member["family"] == "politikreds") & (member["column"] == TOTAL)].set_index("event")["key"]
    sub = member[member["family"].isin(_STRADDLING)]
    parts = sub.assign(kreds=sub["event"].map(kreds_of)).groupby(["family", "key", "column", "kreds"]).size()
    spread = parts.groupby(level=[0, 1, 2]).transform("size")
    out: dict[Key, list[int]] = defaultdict(list)
    for (family, key, column, _), n in parts[spread > 1].items():
        out[(family, str(key), column)].append(int(n))
    return {cell: tuple(ns) for cell, ns in out.items()}


# Pairs already covered by an explicit relation of the hierarchy.
_HIERARCHY = {("kommune", "politikreds"), ("politikreds", "national"), ("grid1km", "national")}
_INNER = ("zone", "sector", "grid1km", "kommune")
_OUTER = ("politikreds", "kommune", "sector", "zone", "grid1km")


def _subset_relations(member: pd.DataFrame, values: dict[Key, int], k: int) -> list[Relation]:
    """`outer = inner + rest` wherever the rows counted in an inner area (in a column) are all counted in an outer
    one too, and the rest could be small (inner >= 1, outer - inner < k): then subtracting the two published
    figures would isolate the rest. Zones and sectors count rows only while in force, so this is decided on the
    rows themselves rather than on the boundaries."""
    if member.empty:
        return []
    sizes = member.groupby(["family", "key", "column"]).size().rename("n").reset_index()
    member = member.merge(sizes, on=["family", "key", "column"])
    inner = member[member["family"].isin(_INNER)]
    outer = member[member["family"].isin(_OUTER)]
    # An outer area can matter to an inner one of the same row only if outer - inner < k: drop the outer rows
    # far above every inner area the row lies in (most of them, where counts are large) before pairing.
    largest_inner = inner.groupby(["event", "column"])["n"].max().rename("largest_inner").reset_index()
    outer = outer.merge(largest_inner, on=["event", "column"])
    outer = outer[outer["n"] < outer["largest_inner"] + k].drop(columns="largest_inner")
    pairs = inner.merge(outer, on=["event", "column"], suffixes=("_in", "_out"))
    pairs = pairs[(pairs["n_out"] - pairs["n_in"] < k) & (pairs["n_out"] >= pairs["n_in"])]
    pairs = pairs[(pairs["family_in"] != pairs["family_out"]) | (pairs["family_in"] == "zone")]
    pairs = pairs[~((pairs["family_in"] == pairs["family_out"]) & (pairs["key_in"] == pairs["key_out"]))]
    for fi, fo in _HIERARCHY:
        pairs = pairs[~((pairs["family_in"] == fi) & (pairs["family_out"] == fo))]
    if pairs.empty:
        return []
    shared = pairs.groupby(["family_in", "key_in", "family_out", "key_out", "column"]).size().rename("shared")
    rels = []
    for (fi, ki, fo, ko, c), n_shared in shared.items():
        n_in = values.get((fi, ki, c), 0)
        n_out = values.get((fo, ko, c), 0)
        if n_shared == n_in and n_in >= 1 and n_out - n_in < k:
            rels.append(Relation((fo, ko, c), ((fi, ki, c),)))
    return rels


def _relations(rows: dict[str, list[AreaRow]], columns: list[str]) -> list[Relation]:
    """The additive relations of the table: each row's total and its groups; the country, its politikredse and
    its 1 km cells; each politikreds and its kommuner; each kommune and its patrol sectors."""
    groups = [c for c in columns if c != TOTAL]
    rels: list[Relation] = []
    for by, family in rows.items():
        for r in family:
            rels.append(Relation((by, r.key, TOTAL), tuple((by, r.key, g) for g in groups), exact=True))
    kommuner_of: dict[str, list[str]] = defaultdict(list)
    for r in rows["kommune"]:
        kommuner_of[r.parent or ""].append(r.key)
    sectors_by_kommune: dict[str, list[str]] = defaultdict(list)
    for s in rows["sector"]:
        sectors_by_kommune[s.extra.get("kommune") or ""].append(s.key)
    for c in columns:
        rels.append(Relation(("national", "DK", c), tuple(("politikreds", r.key, c) for r in rows["politikreds"]),
                             exact=True))
        if "grid1km" in rows:
            rels.append(Relation(("national", "DK", c), tuple(("grid1km", r.key, c) for r in rows["grid1km"]),
                                 exact=True))
        for kreds, kommuner in kommuner_of.items():
            rels.append(Relation(("politikreds", kreds, c), tuple(("kommune", km, c) for km in kommuner),
                                 exact=True))
        for kommune, sectors in sectors_by_kommune.items():
            rels.append(Relation(("kommune", kommune, c), tuple(("sector", s, c) for s in sectors)))
    return rels


def containment(rows: dict[str, list[AreaRow]], columns: list[str], values: dict[Key, int], k: int,
                kommune_geoms: dict[str, bytes], kreds_geoms: dict[str, bytes], full_days: float | None,
                inner_families: tuple[str, ...] = ("zone", "sector", "grid1km", "kommune"),
                outer_families: tuple[str, ...] = ("national", "politikreds", "kommune", "sector", "zone", "grid1km"),
                share: float = CONTAINED_SHARE) -> list[Relation]:
    """Relations `outer = inner + rest` for an area inside another. Only pairs where the rest could be small
    in some column matter (otherwise neither the rest nor a suppressed inner cell can be isolated), so the
    geometry is tested for those only. `full_days`: the window's length, when zones count only while in force."""

    def time_full(by: str, r: AreaRow) -> bool:
        return full_days is None or by != "zone" or r.extra.get("days_in_force", 0) >= full_days - 1e-6

    geoms: dict[tuple[str, str], Any] = {}

    def geom(by: str, r: AreaRow) -> Any:
        key = (by, r.key)
        if key not in geoms:
            if by == "kommune":
                geoms[key] = shapely.from_wkb(kommune_geoms[r.key])
            elif by == "politikreds":
                geoms[key] = shapely.from_wkb(kreds_geoms[r.key])
            elif by.startswith("grid"):
                _, x0, y0, x1, y1 = grid.cell_bounds(r.key)
                geoms[key] = shapely.box(x0, y0, x1, y1)
            elif by == "national":
                geoms[key] = None
            else:
                geoms[key] = shapely.from_wkb(r.wkb) if r.wkb else None
        return geoms[key]

    def bounds(by: str, r: AreaRow) -> tuple[float, float, float, float] | None:
        if by.startswith("grid"):
            return grid.cell_bounds(r.key)[1:]
        g = geom(by, r)
        return None if g is None else g.bounds

    # Per column, inner areas sorted by value, to find those close to an outer value quickly. An inner cell of
    # 0 never matters (the rest is then the parent itself), so candidates have 1 <= inner <= outer < inner + k.
    rels: list[Relation] = []
    inners = [(by, r) for by in inner_families for r in rows.get(by, [])]
    added: set[tuple] = set()
    for c in columns:
        if not inners:
            break
        ordered = sorted(inners, key=lambda item: values[(item[0], item[1].key, c)])
        vals = np.array([values[(by, r.key, c)] for by, r in ordered])
        for outer_by in outer_families:
            for outer in rows.get(outer_by, []):
                v = values[(outer_by, outer.key, c)]
                if v <= 0:
                    continue
                lo = np.searchsorted(vals, max(v - k + 1, 1), side="left")
                hi = np.searchsorted(vals, v, side="right")
                outer_box = bounds(outer_by, outer) if lo < hi and outer_by != "national" else None
                for idx in range(lo, hi):
                    inner_by, inner = ordered[idx]
                    pair = (outer_by, outer.key, inner_by, inner.key)
                    if pair in added or (inner_by, inner.key) == (outer_by, outer.key):
                        continue
                    if inner_by == outer_by and inner_by != "zone":
                        continue  # areas of one family do not nest
                    if not time_full(outer_by, outer) and (inner_by != "zone" or not _time_within(inner, outer)):
                        continue
                    if outer_by != "national":
                        ib = bounds(inner_by, inner)
                        if outer_box is None or ib is None or not _boxes_overlap(outer_box, ib):
                            continue
                        og, ig = geom(outer_by, outer), geom(inner_by, inner)
                        if og is None or ig is None or ig.area <= 0:
                            continue
                        if shapely.intersection(og, ig).area < share * ig.area:
                            continue
                    added.add(pair)
                    rels += [Relation((outer_by, outer.key, col), ((inner_by, inner.key, col),)) for col in columns]
    return rels


def _boxes_overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _time_within(inner: AreaRow, outer: AreaRow) -> bool:
    if inner.span is None or outer.span is None:
        return False
    return inner.span[0] >= outer.span[0] and inner.span[1] <= outer.span[1]
