"""Demo overlay data, built deterministically from ../shared/data and the demo zones (recipe:
layers/demo/overlays.yaml). Every incident, report and survey answer is ILLUSTRATIVE; only the totals are real:
incidents per kommune follow STRAF11 (at a documented sampling fraction) and the survey aggregates come out near
the published Tryghedsindeks figures.

Loading is idempotent: rows are keyed (source 'demo', external id) and upserted only where they differ.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
import yaml
from psycopg import AsyncConnection
from shapely import STRtree
from shapely.geometry.base import BaseGeometry

from geoservice import timeutil
from geoservice.db import Actor, set_audit_context
from geoservice.demo.build import DemoData, DemoZone
from geoservice.geometry import STORAGE_SRID, WGS84_SRID, transformer
from geoservice.overlays.importer import csv_chunks, epoch_us
from geoservice.overlays.official_statistics import UNKNOWN, read_statistics
from geoservice.store import overlays as store

DEMO_SOURCE = "demo"
DEMO_ACTOR = Actor(name="demo-loader", role="admin")


def _num(value: Any) -> float:
    return float(str(value).rstrip("~"))


@dataclass
class OverlayDemo:
    incidents: pd.DataFrame
    reports: list[dict[str, Any]]
    survey: pd.DataFrame
    statistics: pd.DataFrame
    sample_fraction: float
    year: int
    straf11_year: int
    recent_days: tuple[dt.date, ...] = ()  # the days of the rolling recent slice (see build_recent_incidents)


def _sample_in(geom: BaseGeometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """n points uniformly inside a polygon (rejection sampling from its bounds)."""
    out = np.empty((0, 2))
    x0, y0, x1, y1 = geom.bounds
    shapely.prepare(geom)
    while len(out) < n:
        k = max(64, int((n - len(out)) * 1.5 * (x1 - x0) * (y1 - y0) / max(geom.area, 1.0)))
        xy = np.column_stack([rng.uniform(x0, x1, k), rng.uniform(y0, y1, k)])
        out = np.vstack([out, xy[shapely.contains_xy(geom, xy[:, 0], xy[:, 1])]])
    return out[:n]


def _osm_points(data_dir: Path) -> np.ndarray:
    with sqlite3.connect(data_dir / "osm" / "denmark_pois_2019.sqlite") as conn:
        rows = conn.execute("SELECT LON, LAT FROM NODE WHERE TAG = 'amenity' ORDER BY ID").fetchall()
    lonlat = np.array(rows, dtype=float)
    x, y = transformer(WGS84_SRID, STORAGE_SRID).transform(lonlat[:, 0], lonlat[:, 1])
    return np.column_stack([x, y])


def _zone_periods(zone: DemoZone) -> list[tuple[dt.datetime, dt.datetime]]:
    out = []
    for v in zone.versions:
        start = timeutil.parse_instant(v.valid_from, "valid_from")
        end = timeutil.parse_instant(v.valid_to, "valid_to") if v.valid_to else timeutil.parse_instant(
            "2100-01-01", "valid_to")
        if zone.revoked:
            end = min(end, timeutil.parse_instant(zone.revoked["at"], "revoked.at"))
        out.append((start, end))
    return out


def build_incidents(data: DemoData, data_dir: Path, spec: dict[str, Any], stats: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(spec["seed"])
    year, fraction = spec["year"], spec["sample_fraction"]
    straf = stats[stats["quarter"].str.startswith(str(spec["straf11_year"])) & (stats["kommune_code"] != UNKNOWN)]
    totals = straf.groupby("kommune_code")["reported_offences"].sum()
    kommuner = {a.code: a for a in data.reference if a.area_type == "kommune"}
    osm = _osm_points(data_dir)
    cats = list(spec["categories"])
    cat_p = np.array([spec["categories"][c] for c in cats], dtype=float)
    cat_p /= cat_p.sum()
    hour_p = np.array(spec["hours"], dtype=float)
    hour_p /= hour_p.sum()
    start = timeutil.localize(dt.datetime(year, 1, 1))
    days = (timeutil.localize(dt.datetime(year + 1, 1, 1)) - start).days
    night = spec["nightlife"]
    night_cats = list(night["categories"])
    night_p = np.array([night["categories"][c] for c in night_cats], dtype=float)
    night_p /= night_p.sum()
    nightlife = [z for z in data.zones if z.kind == night["kind"] and not z.draft]
    visitation = [(z, _zone_periods(z)) for z in data.zones if z.kind == spec["visitation"]["kind"] and not z.draft
                  and (z.visibility or "public") == "public"]
    frames = []
    for code in sorted(totals.index):
        area = kommuner.get(code)
        n = round(int(totals[code]) * fraction)
        if area is None or n == 0:
            continue
        geom = area.geom
        near = _anchors(osm, geom)
        zones_here = [z for z in nightlife if z.kommune == code]
        n_night = round(n * night["share"]) if zones_here else 0
        xy = _around(near, n - n_night, geom, spec["jitter_m"], rng)
        day = rng.integers(0, days, len(xy))
        hours = rng.choice(24, len(xy), p=hour_p)
        seconds = rng.integers(0, 3600, len(xy))
        category = rng.choice(cats, len(xy), p=cat_p)
        local = _local_times(year, day, hours, seconds)
        part = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "occurred_at": local, "category": category})
        if n_night:
            part = pd.concat([part, _nightlife(zones_here, n_night, year, night, night_cats, night_p, rng)],
                             ignore_index=True)
        part = _thin_visitation(part, [v for v in visitation if v[0].kommune == code], near, geom, spec, rng)
        part["kommune_code"] = code
        part["politikreds_code"] = area.parent_code
        frames.append(part)
    frame = pd.concat(frames, ignore_index=True)
    frame = frame.sort_values(["kommune_code", "occurred_at", "x", "y"], kind="stable").reset_index(drop=True)
    frame["external_id"] = [f"demo-{year}-{k}-{i:06d}" for k, i in
                            zip(frame["kommune_code"], frame.groupby("kommune_code").cumcount(), strict=True)]
    return _finish(frame)


def _local_times(year: int, days: np.ndarray, hours: np.ndarray, seconds: np.ndarray) -> pd.Series:
    """UTC instants of local wall-clock times, resolved by geoservice.timeutil's rule for calendar arithmetic: a
    time in the skipped spring hour moves forward by the gap, a time in the repeated autumn hour is its first
    (summer-time) occurrence."""
    naive = pd.Timestamp(year, 1, 1) + pd.to_timedelta(days, unit="D") + pd.to_timedelta(hours, unit="h") \
        + pd.to_timedelta(seconds, unit="s")
    resolved = [timeutil.resolve_wall_clock(t) for t in naive.to_pydatetime()]
    return pd.Series(pd.to_datetime(resolved, utc=True)).astype("datetime64[ns, UTC]")


def _around(anchors: np.ndarray, n: int, geom: BaseGeometry, jitter: float, rng: np.random.Generator) -> np.ndarray:
    """n points near the anchors (OpenStreetMap places), inside the kommune; uniform when it has too few."""
    if n <= 0:
        return np.empty((0, 2))
    if len(anchors) < 20:
        return _sample_in(geom, n, rng)
    out = np.empty((0, 2))
    shapely.prepare(geom)
    for _ in range(20):
        need = n - len(out)
        if need <= 0:
            break
        base = anchors[rng.integers(0, len(anchors), need)]
        xy = base + rng.normal(0, jitter, (need, 2))
        out = np.vstack([out, xy[shapely.contains_xy(geom, xy[:, 0], xy[:, 1])]])
    if len(out) < n:
        out = np.vstack([out, anchors[rng.integers(0, len(anchors), n - len(out))]])
    return out[:n]


def _nightlife(zones: list[DemoZone], n: int, year: int, spec: dict[str, Any], cats: list[str], p: np.ndarray,
               rng: np.random.Generator) -> pd.DataFrame:
    weights = np.array([z.geom.area for z in zones])
    which = rng.choice(len(zones), n, p=weights / weights.sum())
    xy = np.empty((n, 2))
    for i, z in enumerate(zones):
        idx = np.flatnonzero(which == i)
        xy[idx] = _sample_in(z.geom, len(idx), rng)
    # Friday and Saturday nights: the day is a Saturday or Sunday, the hour 0-4.
    first = dt.date(year, 1, 1)
    weekend = np.array([d for d in range(365) if (first + dt.timedelta(days=d)).weekday() in (5, 6)])
    at_night = rng.random(n) < spec["night_share"]
    day = np.where(at_night, rng.choice(weekend, n), rng.integers(0, 365, n))
    hour = np.where(at_night, rng.integers(0, 5, n), rng.integers(5, 24, n))
    local = _local_times(year, day, hour, rng.integers(0, 3600, n))
    return pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "occurred_at": local, "category": rng.choice(cats, n, p=p)})


def _thin_visitation(part: pd.DataFrame, zones: list[tuple[DemoZone, list]], anchors: np.ndarray,
                     geom: BaseGeometry, spec: dict[str, Any], rng: np.random.Generator) -> pd.DataFrame:
    """Move a share of the incidents inside a visitation zone, from its start, elsewhere in the kommune."""
    if not zones:
        return part
    moved = np.zeros(len(part), dtype=bool)
    times = part["occurred_at"]
    for zone, periods in zones:
        inside = shapely.contains_xy(zone.geom, part["x"].to_numpy(), part["y"].to_numpy())
        start = pd.Timestamp(periods[0][0])
        end = pd.Timestamp(max(p[1] for p in periods))
        during = ((times >= start) & (times < end)).to_numpy()
        chosen = inside & during & (rng.random(len(part)) < spec["visitation"]["reduction"])
        moved |= chosen
    if moved.any():
        outside = zones[0][0].geom
        for z, _ in zones[1:]:
            outside = outside.union(z.geom)
        keep = anchors[~shapely.contains_xy(outside, anchors[:, 0], anchors[:, 1])] if len(anchors) else anchors
        xy = _around(keep if len(keep) >= 20 else anchors, int(moved.sum()), geom.difference(outside),
                     spec["jitter_m"], rng)
        part.loc[moved, "x"] = xy[:, 0]
        part.loc[moved, "y"] = xy[:, 1]
    return part


def recent_days(spec: dict[str, Any], today: dt.date) -> list[dt.date]:
    """The days of the rolling recent slice: the `recent.days` whole days before `today` (so every incident in
    it lies in an officer's "last 30 days" on the day of loading), never a day of the STRAF11-following year."""
    first_allowed = dt.date(spec["year"] + 1, 1, 1)
    return [d for d in (today - dt.timedelta(days=k) for k in range(spec["recent"]["days"], 0, -1))
            if d >= first_allowed]


def _day_rng(seed: int, day: dt.date, key: str = "") -> np.random.Generator:
    """One generator per day (and key): a day's rows are the same whichever day the demo is loaded on."""
    return np.random.default_rng([seed, day.toordinal(), zlib.crc32(key.encode())])


def build_recent_incidents(data: DemoData, data_dir: Path, spec: dict[str, Any], stats: pd.DataFrame,
                           days: list[dt.date]) -> pd.DataFrame:
    """Ordinary incidents for each of `days`, in every kommune at its STRAF11 daily rate (Poisson), placed and
    thinned in visitation zones like the historical year; keyed by day, so loading on a later day adds the new
    days and changes none of the old ones."""
    recent = spec["recent"]
    straf = stats[stats["quarter"].str.startswith(str(spec["straf11_year"])) & (stats["kommune_code"] != UNKNOWN)]
    totals = straf.groupby("kommune_code")["reported_offences"].sum()
    kommuner = {a.code: a for a in data.reference if a.area_type == "kommune"}
    codes = [c for c in sorted(totals.index) if c in kommuner]
    rate = np.array([int(totals[c]) * spec["sample_fraction"] / 365 for c in codes])
    if not days or not codes:
        return _finish(pd.DataFrame(columns=["x", "y", "occurred_at", "category", "kommune_code",
                                             "politikreds_code", "external_id"]))
    osm = _osm_points(data_dir)
    anchors = {c: _anchors(osm, kommuner[c].geom) for c in codes}
    cats = list(spec["categories"])
    cat_p = np.array([spec["categories"][c] for c in cats], dtype=float)
    cat_p /= cat_p.sum()
    hour_p = np.array(spec["hours"], dtype=float)
    hour_p /= hour_p.sum()
    visitation = [(z, _zone_periods(z)) for z in data.zones if z.kind == spec["visitation"]["kind"] and not z.draft
                  and (z.visibility or "public") == "public"]
    # Din Betjent sectors get a few more, uniformly in their part of the kommune, so none is empty by chance.
    sector_land = [(sc, sc.geom.intersection(kommuner[sc.kommune_code].geom))
                   for sc in sorted(data.sectors, key=lambda sc: sc.code) if sc.kommune_code in kommuner]
    frames = []
    for day in days:
        rng = _day_rng(recent["seed"], day)
        counts = rng.poisson(rate)
        xy = [_around(anchors[c], int(n), kommuner[c].geom, spec["jitter_m"], rng)
              for c, n in zip(codes, counts, strict=True) if n]
        where = [np.repeat(np.array([c for c, n in zip(codes, counts, strict=True) if n], dtype=object),
                           counts[counts > 0])]
        extra = rng.poisson(recent["per_sector_day"], len(sector_land))
        for (sector, land), n in zip(sector_land, extra, strict=True):
            if n and not land.is_empty:
                xy.append(_sample_in(land, int(n), rng))
                where.append(np.full(int(n), sector.kommune_code, dtype=object))
        points = np.vstack(xy) if xy else np.empty((0, 2))
        n_day = len(points)
        local = _local_times(day.year, np.full(n_day, (day - dt.date(day.year, 1, 1)).days),
                             rng.choice(24, n_day, p=hour_p), rng.integers(0, 3600, n_day))
        part = pd.DataFrame({"x": points[:, 0], "y": points[:, 1], "occurred_at": local,
                             "category": rng.choice(cats, n_day, p=cat_p), "kommune_code": np.concatenate(where)})
        for code in sorted({z.kommune for z, _ in visitation}):
            rows = (part["kommune_code"] == code).to_numpy()
            if rows.any():
                thinned = _thin_visitation(part[rows].reset_index(drop=True),
                                           [v for v in visitation if v[0].kommune == code], anchors[code],
                                           kommuner[code].geom, spec, rng)
                part.loc[rows, ["x", "y"]] = thinned[["x", "y"]].to_numpy()
        part = part.sort_values(["kommune_code", "occurred_at", "x", "y"], kind="stable").reset_index(drop=True)
        part["politikreds_code"] = part["kommune_code"].map({c: kommuner[c].parent_code for c in codes})
        part["external_id"] = [f"{recent['id_prefix']}-{day:%Y%m%d}-{k}-{i:04d}" for k, i in
                               zip(part["kommune_code"], part.groupby("kommune_code").cumcount(), strict=True)]
        frames.append(part)
    return _finish(pd.concat(frames, ignore_index=True))


def _anchors(osm: np.ndarray, geom: BaseGeometry) -> np.ndarray:
    """The OpenStreetMap places inside a kommune."""
    x0, y0, x1, y1 = geom.bounds
    near = osm[(osm[:, 0] >= x0) & (osm[:, 0] <= x1) & (osm[:, 1] >= y0) & (osm[:, 1] <= y1)]
    return near[shapely.contains_xy(geom, near[:, 0], near[:, 1])] if len(near) else near


def _finish(frame: pd.DataFrame) -> pd.DataFrame:
    """Round the points and add the COPY columns."""
    frame["x"] = frame["x"].astype(float).round(2)
    frame["y"] = frame["y"].astype(float).round(2)
    frame["precision_m"] = np.nan
    frame["occurred_us"] = epoch_us(frame["occurred_at"]) if len(frame) else np.array([], dtype=np.int64)
    frame["x_cm"] = np.round(frame["x"].to_numpy() * 100).astype(np.int64)
    frame["y_cm"] = np.round(frame["y"].to_numpy() * 100).astype(np.int64)
    return frame


def build_recent_reports(data: DemoData, spec: dict[str, Any], days: list[dt.date]) -> list[dict[str, Any]]:
    """Open insecurity reports in every Din Betjent sector: a tryghedsvandring every `every_days` days (each
    sector on its own day of the cycle) with `per_walk` reports, keyed by sector and day like the incidents."""
    recent = spec["recent"]
    to_wgs = transformer(STORAGE_SRID, WGS84_SRID)
    cats = list(spec["categories"])
    places = data.places
    tree = STRtree(shapely.points(places.x, places.y))
    out = []
    for sector in sorted(data.sectors, key=lambda s: s.code):
        offset = zlib.crc32(sector.code.encode()) % recent["every_days"]
        for day in days:
            if day.toordinal() % recent["every_days"] != offset:
                continue
            rng = _day_rng(recent["seed"], day, sector.code)
            xy = _sample_in(sector.geom, recent["per_walk"], rng)
            lon, lat = to_wgs.transform(xy[:, 0], xy[:, 1])
            nearest = tree.query_nearest(shapely.points(xy[:, 0], xy[:, 1]), all_matches=False)[1]
            for i in range(recent["per_walk"]):
                category = cats[int(rng.integers(0, len(cats)))]
                texts = spec["categories"][category]
                out.append({
                    "external_key": f"{recent['key_prefix']}-{sector.code}-{day:%Y%m%d}-{i + 1}",
                    "category": category,
                    "text": texts[int(rng.integers(0, len(texts)))].format(place=places.names[int(nearest[i])]),
                    "reported_on": day,
                    "lon": round(float(lon[i]), 7), "lat": round(float(lat[i]), 7),
                    "status": "open",
                    "walk": f"Tryghedsvandring {sector.name} {day.isoformat()} (demo)",
                })
    return out


def build_reports(data: DemoData, spec: dict[str, Any]) -> list[dict[str, Any]]:
    rng = np.random.default_rng(spec["seed"])
    to_wgs = transformer(STORAGE_SRID, WGS84_SRID)
    cats = list(spec["categories"])
    out = []
    for zone in sorted((z for z in data.zones if z.kind in spec["kinds"] and not z.draft), key=lambda z: z.key):
        area = zone.geom.buffer(spec["buffer_m"])
        xy = _sample_in(area, spec["per_zone"], rng)
        lon, lat = to_wgs.transform(xy[:, 0], xy[:, 1])
        for i in range(spec["per_zone"]):
            walk = spec["walks"][i % len(spec["walks"])]
            category = cats[int(rng.integers(0, len(cats)))]
            texts = spec["categories"][category]
            handled = walk < spec["handled_before"] and rng.random() < 0.75
            out.append({
                "external_key": f"demo-report-{zone.key}-{i + 1:02d}",
                "category": category,
                "text": texts[int(rng.integers(0, len(texts)))].format(place=zone.name),
                "reported_on": dt.date.fromisoformat(walk),
                "lon": round(float(lon[i]), 7), "lat": round(float(lat[i]), 7),
                "status": "handled" if handled else "open",
                "walk": f"Tryghedsvandring {zone.name} {walk} (demo)",
            })
    return out


def _spread(kommuner: list[Any], stats: pd.DataFrame, spec: dict[str, Any], kreds_pop: dict[str, int]
            ) -> dict[str, float]:
    """Each politikreds's place in the spread, -1 (fewest reported offences per resident in STRAF11) to +1 (most),
    evenly by rank: an ILLUSTRATIVE stand-in for the differences between kredse the seed figures do not give."""
    year = stats[stats["quarter"].str.startswith(str(spec["spread"]["straf11_year"]))]
    offences = year.groupby("kommune_code")["reported_offences"].sum()
    per_kreds: dict[str, float] = {}
    for a in kommuner:
        per_kreds[a.parent_code] = per_kreds.get(a.parent_code, 0.0) + float(offences.get(a.code, 0))
    ranked = sorted(kreds_pop, key=lambda k: (per_kreds.get(k, 0.0) / max(kreds_pop[k], 1), k))
    step = 2 / max(len(ranked) - 1, 1)
    return {k: -1 + i * step for i, k in enumerate(ranked)}


def _kreds_targets(national: float, fixed: dict[str, float], population: dict[str, int], place: dict[str, float],
                   spread: float) -> dict[str, float]:
    """Published kredse keep their figure; the others lie `spread * place` around a common level chosen so that
    the population-weighted national figure comes out right."""
    total = sum(population.values())
    rest = [k for k in population if k not in fixed]
    known = sum(population[k] * v for k, v in fixed.items() if k in population)
    offset = {k: spread * place[k] for k in rest}
    level = (national * total - known - sum(population[k] * offset[k] for k in rest)) / sum(population[k]
                                                                                              for k in rest)
    return {k: fixed[k] if k in fixed else level + offset[k] for k in population}


def build_survey(data: DemoData, spec: dict[str, Any], stats: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(spec["seed"])
    kommuner = [a for a in data.reference if a.area_type == "kommune"]
    kreds_of = {a.code: a.parent_code for a in kommuner}
    pop_q = stats[(stats["quarter"] == spec["population_quarter"]) & stats["population"].notna()]
    pop_k = {r.kommune_code: int(r.population) for r in pop_q.itertuples()}
    kreds_pop: dict[str, int] = {}
    for a in kommuner:
        kreds_pop[a.parent_code] = kreds_pop.get(a.parent_code, 0) + pop_k.get(a.code, 0)
    place = _spread(kommuner, stats, spec, kreds_pop)
    sub_zones = [z for z in data.zones if z.kind == spec["sub_kind"] and not z.draft]
    # The SUB areas are their own stratum (the boosted sample): the ordinary sample is drawn outside them.
    sub_union = shapely.union_all([z.geom for z in sub_zones])
    land = {a.code: (a.geom.difference(sub_union) if a.geom.intersects(sub_union) else a.geom) for a in kommuner}
    rows = []
    for year in spec["years"]:
        targets = {}
        for metric in ("unsafe", "safe", "trust"):
            national = _num(spec["national"][metric][year]) / 100
            fixed = {k: _num(v[metric]) / 100 for k, v in spec["politikreds"].items() if metric in v}
            targets[metric] = _kreds_targets(national, fixed, kreds_pop, place,
                                             spec["spread"]["points"][metric] / 100)
        for kreds in sorted(kreds_pop, key=int):
            n = spec["per_politikreds"]
            weight = kreds_pop[kreds] / n
            members = [a for a in kommuner if a.parent_code == kreds and pop_k.get(a.code)]
            kp = np.array([pop_k[a.code] for a in members], dtype=float)
            which = rng.choice(len(members), n, p=kp / kp.sum())
            xy = np.full((n, 2), np.nan)
            for i, a in enumerate(members):
                idx = np.flatnonzero(which == i)
                if len(idx):
                    xy[idx] = _sample_in(land[a.code], len(idx), rng)
            area_only = rng.random(n) < spec["area_only_share"]
            scores, trust = _answers(n, targets["unsafe"][kreds], targets["safe"][kreds], targets["trust"][kreds],
                                     rng)
            for i in range(n):
                rows.append({"external_id": f"demo-{year}-k{kreds}-{i:04d}", "year": year,
                             "safety_score": scores[i], "trust": trust[i], "weight": round(weight, 4),
                             "x": np.nan if area_only[i] else round(xy[i, 0], 2),
                             "y": np.nan if area_only[i] else round(xy[i, 1], 2),
                             "area_type": "politikreds" if area_only[i] else None,
                             "area_code": kreds if area_only[i] else None,
                             "kommune_code": None if area_only[i] else members[which[i]].code,
                             "politikreds_code": kreds})
        sub = spec["sub"]
        n = sub["per_year"]
        weights = np.array([z.geom.area for z in sub_zones])
        which = rng.choice(len(sub_zones), n, p=weights / weights.sum())
        scores, trust = _answers(n, _num(spec["sub_areas"]["unsafe"][year]) / 100,
                                 _num(spec["sub_areas"]["safe"][year]) / 100,
                                 _num(spec["sub_areas"]["trust"][year]) / 100, rng)
        xy = np.empty((n, 2))
        for z, zone in enumerate(sub_zones):
            idx = np.flatnonzero(which == z)
            xy[idx] = _sample_in(zone.geom, len(idx), rng)
        for i in range(n):
            rows.append({"external_id": f"demo-{year}-sub-{i:04d}", "year": year, "safety_score": scores[i],
                         "trust": trust[i], "weight": round(sub["population"] / n, 4), "x": round(xy[i, 0], 2),
                         "y": round(xy[i, 1], 2), "area_type": None, "area_code": None,
                         "kommune_code": sub_zones[which[i]].kommune,
                         "politikreds_code": kreds_of[sub_zones[which[i]].kommune]})
    return pd.DataFrame(rows)


def _answers(n: int, unsafe: float, safe: float, trust: float, rng: np.random.Generator
             ) -> tuple[list[int], list[str]]:
    """Scores and trust answers whose shares are exactly the targets (rounded to whole respondents)."""
    n_unsafe, n_safe = round(unsafe * n), round(safe * n)
    n_neutral = max(n - n_unsafe - n_safe, 0)
    scores = np.concatenate([rng.choice([1, 2, 3], n_unsafe, p=[0.2, 0.3, 0.5]), np.full(n_neutral, 4),
                             rng.choice([5, 6, 7], n - n_unsafe - n_neutral, p=[0.25, 0.35, 0.4])])
    n_yes = round(trust * n)
    n_no = round((n - n_yes) * 0.55)
    answers = np.array(["yes"] * n_yes + ["no"] * n_no + ["dont_know"] * (n - n_yes - n_no), dtype=object)
    return [int(s) for s in rng.permutation(scores)], list(rng.permutation(answers))


def build_overlays(data: DemoData, data_dir: Path, layers_dir: Path, today: dt.date | None = None) -> OverlayDemo:
    """`today` (default: the Copenhagen date now) places the rolling recent slice; everything else is fixed."""
    spec = yaml.safe_load((layers_dir / "demo" / "overlays.yaml").read_text(encoding="utf-8"))
    stats = read_statistics(data_dir)
    days = recent_days(spec["incidents"], today or timeutil.to_local(timeutil.now()).date())
    incidents = pd.concat([build_incidents(data, data_dir, spec["incidents"], stats),
                           build_recent_incidents(data, data_dir, spec["incidents"], stats, days)], ignore_index=True)
    return OverlayDemo(
        incidents=incidents,
        reports=build_reports(data, spec["insecurity_reports"])
        + build_recent_reports(data, spec["insecurity_reports"], days),
        survey=build_survey(data, spec["survey"], stats),
        statistics=stats,
        sample_fraction=spec["incidents"]["sample_fraction"],
        year=spec["incidents"]["year"],
        straf11_year=spec["incidents"]["straf11_year"],
        recent_days=tuple(days),
    )


@dataclass
class OverlayLoadReport:
    statistics_changed: int = 0
    incidents: tuple[int, int] = (0, 0)
    survey: tuple[int, int] = (0, 0)
    reports_added: int = 0

    def summary(self) -> str:
        return (f"statistics changed: {self.statistics_changed}, incidents added/changed: {self.incidents[0]}/"
                f"{self.incidents[1]}, survey responses added/changed: {self.survey[0]}/{self.survey[1]}, "
                f"insecurity reports added: {self.reports_added}")


async def load_overlays(conn: AsyncConnection, demo: OverlayDemo) -> OverlayLoadReport:
    report = OverlayLoadReport()
    stat_rows = [(r.kommune_code, r.quarter, None if pd.isna(r.reported_offences) else int(r.reported_offences),
                  None if pd.isna(r.population) else int(r.population)) for r in demo.statistics.itertuples()]
    async with conn.transaction():
        await set_audit_context(conn, DEMO_ACTOR, "demo.load.overlays", "demo data load")
        report.statistics_changed = await store.upsert_statistics(conn, stat_rows)
        report.incidents = await store.copy_and_upsert(
            conn, "incidents", csv_chunks(demo.incidents, store.stage_columns("incidents")), source=DEMO_SOURCE,
            import_id=None)
        report.survey = await store.copy_and_upsert(
            conn, "survey_responses", csv_chunks(demo.survey, store.stage_columns("survey_responses")),
            source=DEMO_SOURCE, import_id=None)
        for item in demo.reports:
            if await store.report_key_exists(conn, item["external_key"]):
                continue
            place = await store.place_point(conn, item["lon"], item["lat"])
            assert place is not None
            await store.insert_report(conn, {**item, "kommune_code": place["kommune_code"],
                                             "politikreds_code": place["politikreds_code"],
                                             "created_by": DEMO_ACTOR.name})
            report.reports_added += 1
    return report
