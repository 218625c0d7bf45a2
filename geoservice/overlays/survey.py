"""Tryghedsindeks survey aggregates: weighted share unsafe (score 3 or below) and share trusting the police per
area and year, with sample size, effective sample size and a 95% Wilson interval; and the change between two
years with a z-test. The public gets a share only where at least `survey_min_respondents` answered, and only
where no subtraction of published respondent groups isolates fewer (same relations as the count tables). The
trust question may be left unanswered, so its respondents are a group of their own, suppressed the same way."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import orjson
import shapely

from geoservice.access import (
    PUBLIC,
    PUBLIC_SURVEY_GEOGRAPHIES,
    Principal,
    exact_aggregates,
    overlay_access,
    zone_filter,
)
from geoservice.db import Database
from geoservice.errors import FieldError, Forbidden, InvalidInput, NotFound, Unauthorized
from geoservice.layers import get_layers
from geoservice.overlays.aggregates import AreaRow, containment
from geoservice.overlays.stats import Share, two_proportion_test, weighted_share
from geoservice.overlays.suppression import Key, Relation, suppress
from geoservice.overlays.taxonomy import get_overlay_rules
from geoservice.settings import Settings
from geoservice.store import overlays as store
from geoservice.zones import check_kinds

METRICS = ("unsafe", "trust")
N = "n"              # respondents
N_TRUST = "n_trust"  # respondents who answered the trust question
# Respondents are placed by where they live, not spread evenly over an area: an area mostly inside another (a
# zone 98.8 % inside a sector) may hold all its respondents inside it, so `outer - inner` is treated as a
# subtraction as soon as half of the inner area lies inside (a relation too many only withholds more).
SURVEY_OVERLAP_SHARE = 0.5
# The column whose suppression decides whether a metric's share is published.
METRIC_COLUMN = {"unsafe": N, "trust": N_TRUST}


@dataclass
class SurveyArea:
    row: AreaRow
    sums: dict[str, Any]

    def share(self, metric: str) -> Share | None:
        s = self.sums
        if not s:
            return None
        if metric == "unsafe":
            return weighted_share(float(s["w_unsafe"] or 0), float(s["w"] or 0), float(s["w2"] or 0), int(s["n"]))
        return weighted_share(float(s["w_yes"] or 0), float(s["w_trust"] or 0), float(s["w2_trust"] or 0),
                              int(s["n_trust"] or 0))


def _check(by: str, metric: str | None = None, kinds: list[str] | None = None) -> None:
    check_kinds(kinds)  # an unknown kind is an error even where the geography does not use it
    if by not in PUBLIC_SURVEY_GEOGRAPHIES:
        raise InvalidInput(f"by: unknown geography {by!r}",
                           errors=[FieldError("by", "expected one of " + ", ".join(PUBLIC_SURVEY_GEOGRAPHIES))])
    if metric is not None and metric not in METRICS:
        raise InvalidInput(f"metric: unknown metric {metric!r}",
                           errors=[FieldError("metric", "expected unsafe or trust")])


async def _family(db: Database, by: str, year: int, access: Any, kinds: list[str] | None, *, geometry: bool,
                  simplify_m: float = 50.0) -> list[SurveyArea]:
    rules = get_overlay_rules()
    async with db.connection() as conn:
        sums = {r["key"]: r for r in await store.survey_sums(conn, by, year, rules.survey.unsafe_max_score, access,
                                                             kinds)}
        if by == "national":
            rows = [AreaRow("DK", "Danmark", {})]
        elif by in ("politikreds", "kommune"):
            rows = [AreaRow(a["key"], a["name"], {}, a["area_km2"], parent=a["parent_code"], geometry=a["geometry"])
                    for a in await store.reference_areas(conn, by, geometry=geometry, tolerance=simplify_m)]
        elif by == "sector":
            t = dt.datetime(year, 7, 1, tzinfo=dt.UTC)
            rows = [AreaRow(s["key"], s["name"], {}, s["area_km2"], parent=s["parent_code"], geometry=s["geometry"],
                            wkb=bytes(s["wkb"]), extra={"kommune": s["kommune_code"]})
                    for s in await store.sectors(conn, t, t + dt.timedelta(days=1), geometry=geometry,
                                                 tolerance=simplify_m)]
        elif by == "zone":
            rows = [AreaRow(z["key"], z["name"], {}, z["area_km2"], parent=z["parent_code"], geometry=z["geometry"],
                            wkb=bytes(z["wkb"]), extra={"kind": z["kind"]})
                    for z in await store.survey_zone_areas(conn, access, kinds, geometry=geometry)]
        else:  # kind: all zones of a kind pooled
            layers_kinds = sorted({z["kind"] for z in await store.survey_zone_areas(conn, access, kinds,
                                                                                     geometry=False)})
            rows = [AreaRow(k, (get_layers().kind(k).name.da if get_layers().kind(k) else k), {})
                    for k in layers_kinds]
    out = []
    for r in rows:
        s = sums.get(r.key)
        r.counts = {N: int(s["n"]) if s else 0, N_TRUST: int(s["n_trust"] or 0) if s else 0}
        out.append(SurveyArea(r, dict(s) if s else {}))
    return out


# (year, minimum, database) -> (stamp, withheld): the public survey tables, like the count tables, are computed
# once and cached until the responses of the year or the areas change.
_WITHHELD_CACHE: dict[tuple, tuple[tuple, set[tuple[str, str, str]]]] = {}


async def published_withheld(db: Database, settings: Settings, year: int) -> set[tuple[str, str, str]]:
    """(family, key, column) of every area and respondent group (N: all respondents, N_TRUST: those who answered
    the trust question) whose share the public may not see in `year`."""
    async with db.connection() as conn:
        stamp = await store.survey_stamp(conn, year)
    cache_key = (year, settings.survey_min_respondents, str(db.conninfo))
    cached = _WITHHELD_CACHE.get(cache_key)
    if cached and cached[0] == stamp:
        return cached[1]
    families: dict[str, list[AreaRow]] = {}
    for by in PUBLIC_SURVEY_GEOGRAPHIES:
        families[by] = [a.row for a in await _family(db, by, year, zone_filter(PUBLIC), None, geometry=False)]
    async with db.connection() as conn:
        kommune_geoms = {a["key"]: bytes(a["wkb"]) for a in await store.reference_area_wkb(conn, "kommune")}
        kreds_geoms = {a["key"]: bytes(a["wkb"]) for a in await store.reference_area_wkb(conn, "politikreds")}
    # Shapely containment and the suppression's fixed point: off the event loop.
    withheld = await asyncio.to_thread(withheld_cells, families, kommune_geoms, kreds_geoms,
                                       settings.survey_min_respondents)
    _WITHHELD_CACHE[cache_key] = (stamp, withheld)
    return withheld


def withheld_cells(families: dict[str, list[AreaRow]], kommune_geoms: dict[str, bytes],
                   kreds_geoms: dict[str, bytes], minimum: int) -> set[tuple[str, str, str]]:
    columns = [N, N_TRUST]
    values: dict[Key, int] = {(by, r.key, c): r.counts[c] for by, rows in families.items() for r in rows
                              for c in columns}
    rels: list[Relation] = []
    by_parent: dict[str, list[str]] = defaultdict(list)
    for r in families["kommune"]:
        by_parent[r.parent or ""].append(r.key)
    sectors_by_kommune: dict[str, list[str]] = defaultdict(list)
    for s in families["sector"]:
        sectors_by_kommune[s.extra.get("kommune") or ""].append(s.key)
    zones_by_kind: dict[str, list[str]] = defaultdict(list)
    for z in families["zone"]:
        zones_by_kind[z.extra["kind"]].append(z.key)
    for c in columns:
        rels.append(Relation(("national", "DK", c), tuple(("politikreds", r.key, c) for r in families["politikreds"])))
        rels += [Relation(("politikreds", p, c), tuple(("kommune", k, c) for k in ks)) for p, ks in by_parent.items()]
        rels += [Relation(("kommune", k, c), tuple(("sector", s, c) for s in ss))
                 for k, ss in sectors_by_kommune.items()]
        # Zones of a kind may overlap, so the pool is not their sum; each zone lies inside its pool.
        rels += [Relation(("kind", kind, c), (("zone", z, c),)) for kind, zs in zones_by_kind.items() for z in zs]
    # A kind's pool is the union of its zones: an area that holds the whole pool (a kommune with all its SUB
    # areas) minus the pool must not isolate a few respondents either.
    zone_geoms = {z.key: shapely.from_wkb(z.wkb) for z in families["zone"] if z.wkb}
    for pool in families["kind"]:
        parts = [zone_geoms[z] for z in zones_by_kind.get(pool.key, []) if z in zone_geoms]
        pool.wkb = shapely.to_wkb(shapely.union_all(parts)) if parts else None
    rels += containment(families, columns, values, minimum, kommune_geoms, kreds_geoms, None,
                        inner_families=("zone", "sector", "kommune", "kind"),
                        outer_families=("national", "politikreds", "kommune", "sector", "zone"),
                        share=SURVEY_OVERLAP_SHARE)
    # Below the minimum is "small" here; zero respondents show nothing anyway.
    return {(k[0], k[1], k[2]) for k in suppress(values, rels, minimum)}


def _share_dict(share: Share | None) -> dict[str, Any] | None:
    if share is None:
        return None
    return {"share": round(share.share, 4), "ci95": [round(share.low, 4), round(share.high, 4)],
            "n": share.n, "n_effective": round(share.n_effective, 1)}


async def survey(db: Database, settings: Settings, principal: Principal, *, by: str, year: int | None,
                 kinds: list[str] | None = None, geometry: bool = False) -> dict[str, Any]:
    _check(by, kinds=kinds)
    async with db.connection() as conn:
        years = await store.survey_years(conn)
    if year is None:
        if not years:
            raise NotFound("there are no survey responses")
        year = years[-1]
    exact = exact_aggregates(principal, None)
    access = zone_filter(principal) if exact else zone_filter(PUBLIC)
    if kinds and not exact:
        raise Forbidden("the public survey tables are fixed; filtering zones by kind is staff only",
                        errors=[FieldError("kind", "staff only")])
    areas = await _family(db, by, year, access, kinds, geometry=geometry)
    withheld = set() if exact else await published_withheld(db, settings, year)
    m = settings.survey_min_respondents
    rules = get_overlay_rules()
    rows = []
    for a in areas:
        hidden = (by, a.row.key, N) in withheld
        unsafe, trust = a.share("unsafe"), a.share("trust")
        if not exact and trust is not None and (trust.n < m or (by, a.row.key, N_TRUST) in withheld):
            trust = None
        item: dict[str, Any] = {"key": a.row.key, "name": a.row.name,
                                "n": (f"<{m}" if a.row.counts[N] < m else "withheld") if hidden else a.row.counts[N],
                                "withheld": hidden,
                                "unsafe": None if hidden else _share_dict(unsafe),
                                "trust": None if hidden else _share_dict(trust)}
        if a.row.parent:
            item["parent"] = a.row.parent
        item.update({k: v for k, v in a.row.extra.items() if k != "kommune"})
        rows.append((a.row, item))
    body = {
        "by": by, "year": year, "years": years, "role": principal.role.value, "exact": exact,
        "definition": {"unsafe": f"safety score {rules.survey.unsafe_max_score} or below on the 1-7 scale "
                                 "(7 = grundlæggende tryg)",
                       "trust": "answered yes to trusting that the police will help; share of all who answered",
                       "interval": "95% Wilson score interval on Kish's effective sample size (Σw)²/Σw²"},
        "suppression": ({"applied": False} if exact else
                        {"applied": True, "min_respondents": m,
                         "rule": f"shares of areas with fewer than {m} respondents, or whose respondents could be "
                                 "isolated by subtracting published groups, are withheld"}),
        "areas": [item for _, item in rows],
    }
    return body | ({"_rows": rows} if geometry else {})


def survey_geojson(body: dict[str, Any]) -> bytes:
    rows = body.pop("_rows")
    body.pop("areas", None)
    feats = [b'{"type":"Feature","id":' + orjson.dumps(r.key) + b',"geometry":' + (r.geometry or "null").encode()
             + b',"properties":' + orjson.dumps(item) + b"}" for r, item in rows]
    head = orjson.dumps({"type": "FeatureCollection", **body})
    return head[:-1] + b',"features":[' + b",".join(feats) + b"]}"


async def survey_change(db: Database, settings: Settings, principal: Principal, *, by: str, from_year: int,
                        to_year: int, metric: str, kinds: list[str] | None = None) -> dict[str, Any]:
    _check(by, metric, kinds)
    if from_year == to_year:
        raise InvalidInput("from_year and to_year are the same", errors=[FieldError("to_year", "must differ")])
    exact = exact_aggregates(principal, None)
    access = zone_filter(principal) if exact else zone_filter(PUBLIC)
    if kinds and not exact:
        raise Forbidden("filtering zones by kind is staff only", errors=[FieldError("kind", "staff only")])
    first = {a.row.key: a for a in await _family(db, by, from_year, access, kinds, geometry=False)}
    second = {a.row.key: a for a in await _family(db, by, to_year, access, kinds, geometry=False)}
    withheld: set[tuple[str, str, str]] = set()
    if not exact:
        withheld = await published_withheld(db, settings, from_year) | await published_withheld(db, settings, to_year)
    m = settings.survey_min_respondents
    areas = []
    for key, a in first.items():
        b = second.get(key)
        if b is None:
            continue
        item: dict[str, Any] = {"key": key, "name": a.row.name}
        sa, sb = a.share(metric), b.share(metric)
        hidden = (by, key, N) in withheld or (by, key, METRIC_COLUMN[metric]) in withheld
        if hidden or sa is None or sb is None or (not exact and min(sa.n, sb.n) < m):
            item |= {"withheld": True, "change": None}
        else:
            change = two_proportion_test(sa, sb)
            item |= {"withheld": False, "from": _share_dict(sa), "to": _share_dict(sb),
                     "change": {"difference_points": round(100 * change.difference, 2),
                                "ci95_points": [round(100 * change.low, 2), round(100 * change.high, 2)],
                                "z": round(change.z, 3), "p_value": round(change.p_value, 5),
                                "significant_5pct": change.significant,
                                "verdict": "significant at 5%" if change.significant else
                                           "not significant at 5%"}}
        areas.append(item)
    return {"by": by, "metric": metric, "from_year": from_year, "to_year": to_year, "exact": exact,
            "role": principal.role.value,
            "test": "two-sided two-proportion z-test (pooled), on effective sample sizes; difference interval: "
                    "Newcombe's hybrid score method",
            "areas": areas}


async def responses(db: Database, principal: Principal, *, year: int | None, limit: int, offset: int
                    ) -> dict[str, Any]:
    """Individual survey answers, for the roles geoservice.access allows them."""
    if not overlay_access(principal).survey_answers:
        if principal.is_public:
            raise Unauthorized("individual survey responses are never public; use /api/v1/overlays/survey")
        raise Forbidden(f"individual survey responses are not shown to the role {principal.role.value}",
                        extra={"role": principal.role.value})
    async with db.connection() as conn:
        rows = await store.survey_responses(conn, year, limit, offset)
    return {"responses": rows, "limit": limit, "offset": offset}
