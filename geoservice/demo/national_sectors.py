"""Illustrative Din Betjent sectors for every politikreds outside København (layers/demo/sectors.yaml, national):
derived from the kommuner, with stations at real police-station places from OpenStreetMap, so the officer view,
the lookup and the sector endpoints work everywhere. Deterministic: the same input gives the same sectors."""

from __future__ import annotations

import sqlite3
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from geoservice.geometry import STORAGE_SRID, transformer


def code_part(name: str) -> str:
    """'Lyngby-Taarbæk' -> 'LYNGBY-TAARBAEK': a sector code's letters (A–Z, 0–9, -)."""
    text = name.upper().replace("Æ", "AE").replace("Ø", "OE").replace("Å", "AA")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "-".join("".join(c if c.isalnum() else " " for c in text).split())


def _police_nodes(data_dir: Path) -> list[tuple[int, str | None, Point]]:
    with sqlite3.connect(data_dir / "osm" / "denmark_pois_2019.sqlite") as conn:
        rows = conn.execute("SELECT ID, NAME, LON, LAT FROM NODE WHERE TAG = 'amenity' AND VALUE = 'police'"
                            " ORDER BY ID").fetchall()
    lon = np.array([r[2] for r in rows], dtype=float)
    lat = np.array([r[3] for r in rows], dtype=float)
    x, y = transformer(4326, STORAGE_SRID).transform(lon, lat)
    return [(r[0], (r[1] or "").strip() or None, Point(px, py)) for r, px, py in zip(rows, x, y, strict=True)]


def _population(data_dir: Path, quarter: str) -> dict[str, int]:
    frame = pd.read_csv(data_dir / "statistics" / "folk1a_population_by_kommune_quarter.csv", dtype=str)
    frame = frame[(frame["quarter"] == quarter) & (frame["category"] == "Total")]
    return {row.kommune_code: int(row.population) for row in frame.itertuples()}


def build_national(reference: list[Any], data_dir: Path, spec: dict[str, Any], make_station: Callable[..., Any],
                   make_sector: Callable[..., Any], strips: Callable[[BaseGeometry, int], list],
                   officers: Callable[[], list[dict[str, str]]], multi: Callable[[BaseGeometry], Any],
                   ) -> tuple[list[Any], list[Any]]:
    """Stations and sectors for every politikreds not in `spec['skip_politikreds']`."""
    kredse = {a.code: a for a in reference if a.area_type == "politikreds"}
    kommuner = [a for a in reference if a.area_type == "kommune" and a.parent_code
                and a.parent_code not in spec["skip_politikreds"]]
    bydele = shapely.union_all([a.geom for a in reference if a.area_type == "bydel"])
    population = _population(data_dir, spec["population_quarter"])
    nodes = _police_nodes(data_dir)
    kommune_of = {}
    for node_id, _, point in nodes:
        hit = next((k for k in sorted(kommuner + [a for a in reference if a.area_type == "kommune"],
                                      key=lambda a: a.code) if k.geom.contains(point)), None)
        kommune_of[node_id] = hit
    stations: dict[int, Any] = {}
    codes: set[str] = set()
    sectors = []
    for kommune in sorted(kommuner, key=lambda a: a.code):
        kreds = kredse[kommune.parent_code]
        # the nearest police station inside the politikreds (the kommune's own where it has one)
        inside = [(node_id, name, point) for node_id, name, point in nodes if kreds.geom.contains(point)] or nodes
        centre = kommune.geom.representative_point()
        node_id, name, point = min(inside, key=lambda n: (not kommune.geom.contains(n[2]), n[2].distance(centre), n[0]))
        if node_id not in stations:
            place = kommune_of.get(node_id) or kommune
            base = code_part(f"NP {place.name}")
            code = base
            n = 2
            while code in codes:
                code, n = f"{base}-{n}", n + 1
            codes.add(code)
            number = len(stations) + 1
            stations[node_id] = make_station(
                code=code, name=name or f"Politiet i {place.name}",
                address=f"{place.name} (placering fra OpenStreetMap, node {node_id}; illustrativ)", point=point,
                phone=f"+45 00 00 3{number // 100} {number % 100:02d}", email=f"{code.lower()}@demo.invalid",
                politikreds=kommune.parent_code)
        station = stations[node_id]
        count = min(spec["max_strips"], 1 + population.get(kommune.code, 0) // spec["residents_per_extra_sector"])
        land = kommune.geom.difference(bydele)  # DAGI is coarser than the bydele: no overlap with København
        for i, (suffix, piece) in enumerate(strips(land, count), start=1):
            sectors.append(make_sector(
                code=f"{code_part(kommune.name)}-{i:02d}", name=f"Din Betjent {kommune.name} {suffix}".strip(),
                station_code=station.code, kommune_code=kommune.code, geom=multi(piece), officers=officers(),
                politikreds=kommune.parent_code))
    return list(stations.values()), sectors
