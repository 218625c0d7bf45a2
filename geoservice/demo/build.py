"""Build the demo data set from ../shared/data, deterministically (same input, same output, byte for byte).

Real: politikredse and kommuner (DAGI), Copenhagen's bydele. Illustrative (labelled so): the Din Betjent
organisation of Københavns Politi and every zone boundary (see layers/demo/*.yaml for the recipes).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import yaml
from shapely.geometry import MultiPolygon, Point
from shapely.geometry.base import BaseGeometry

from geoservice.errors import GeoserviceError
from geoservice.geometry import STORAGE_SRID, reproject


@dataclass
class ReferenceArea:
    area_type: str
    code: str
    name: str
    parent_code: str | None
    source: str
    geom: MultiPolygon


@dataclass
class Station:
    code: str
    name: str
    address: str
    point: Point
    phone: str | None = None
    email: str | None = None
    politikreds: str | None = None  # None: the Copenhagen organisation's politikreds


@dataclass
class Sector:
    code: str
    name: str
    station_code: str
    kommune_code: str
    geom: MultiPolygon
    officers: list[dict[str, str]] = field(default_factory=list)
    politikreds: str | None = None


@dataclass
class DemoVersion:
    change: str
    valid_from: str
    valid_to: str | None
    decision_ref: str | None
    published_at: str | None = None
    reason: str | None = None


@dataclass
class DemoZone:
    key: str
    kind: str
    name: str
    kommune: str
    geom: MultiPolygon
    versions: list[DemoVersion]
    visibility: str | None = None
    description: str | None = None
    list_edition: str | None = None
    draft: bool = False
    revoked: dict[str, Any] | None = None
    recipe: str = ""


@dataclass
class Places:
    """Named OpenStreetMap points (EPSG:25832) for the offline place search."""

    ids: np.ndarray
    names: list[str]
    categories: list[str]
    x: np.ndarray
    y: np.ndarray
    source: str = "OpenStreetMap 2019 (© OpenStreetMap contributors, ODbL)"


@dataclass
class DemoData:
    reference: list[ReferenceArea]
    politikreds: str
    stations: list[Station]
    sectors: list[Sector]
    zones: list[DemoZone]
    places: Places


def _multi(geom: BaseGeometry) -> MultiPolygon:
    # No snapping to a grid: snapping neighbours one by one would open slivers between sectors.
    geom = shapely.make_valid(geom)
    if geom.geom_type == "Polygon":
        return MultiPolygon([geom])
    if geom.geom_type == "MultiPolygon":
        return geom
    polys = [g for g in getattr(geom, "geoms", []) if g.geom_type == "Polygon"]
    for g in getattr(geom, "geoms", []):
        if g.geom_type == "MultiPolygon":
            polys.extend(g.geoms)
    return MultiPolygon(polys)


def _read(path: Path) -> gpd.GeoDataFrame:
    if not path.exists():
        raise GeoserviceError(f"demo source {path} is missing; is ../shared/data beside the checkout?")
    frame = gpd.read_file(path)
    frame["geometry"] = shapely.force_2d(frame.geometry.values)
    return frame.to_crs(epsg=STORAGE_SRID)


def build_reference(data_dir: Path, layers_dir: Path) -> list[ReferenceArea]:
    spec = yaml.safe_load((layers_dir / "reference.yaml").read_text(encoding="utf-8"))
    areas: list[ReferenceArea] = []

    kreds_spec = spec["politikreds"]
    kredse = _read(data_dir / kreds_spec["file"])
    codes = kredse[kreds_spec["code"]].astype("string")
    missing = kreds_spec.get("missing_codes", {})
    kredse["code"] = [
        c if isinstance(c, str) and c else missing[n] for c, n in zip(codes, kredse[kreds_spec["name"]], strict=True)
    ]
    for code, group in sorted(kredse.groupby("code"), key=lambda item: int(item[0])):
        areas.append(ReferenceArea("politikreds", code, group[kreds_spec["name"]].iloc[0], None,
                                   kreds_spec["source"], _multi(shapely.union_all(group.geometry.values))))

    kom_spec = spec["kommune"]
    kommuner = _read(data_dir / kom_spec["file"])
    mapping = pd.read_csv(data_dir / kom_spec["parent_file"], dtype=str)
    parent = dict(zip(mapping["komkode"], mapping["polkr_nr"], strict=True))
    for code, group in sorted(kommuner.groupby(kom_spec["code"]), key=lambda item: item[0]):
        areas.append(ReferenceArea("kommune", code, group[kom_spec["name"]].iloc[0], parent.get(code),
                                   kom_spec["source"], _multi(shapely.union_all(group.geometry.values))))

    by_spec = spec["bydel"]
    bydele = _read(data_dir / by_spec["file"])
    for _, row in bydele.sort_values(by_spec["code"]).iterrows():
        areas.append(ReferenceArea("bydel", str(int(row[by_spec["code"]])), row[by_spec["name"]],
                                   by_spec["parent"], by_spec["source"], _multi(row.geometry)))
    return areas


def _strips(geom: BaseGeometry, count: int) -> list[tuple[str, BaseGeometry]]:
    """Cut an area into `count` equal-area strips across its longer side; name each by compass position."""
    if count <= 1:
        return [("", geom)]
    x0, y0, x1, y1 = geom.bounds
    along_x = (x1 - x0) >= (y1 - y0)
    lo, hi = (x0, x1) if along_x else (y0, y1)
    total = geom.area

    def part(a: float, b: float) -> BaseGeometry:
        box = shapely.box(a, y0 - 1, b, y1 + 1) if along_x else shapely.box(x0 - 1, a, x1 + 1, b)
        return geom.intersection(box)

    cuts = [lo]
    for i in range(1, count):
        target = total * i / count
        a, b = cuts[-1], hi
        for _ in range(40):  # bisection: deterministic and exact to well below a millimetre
            mid = (a + b) / 2
            if part(lo, mid).area < target:
                a = mid
            else:
                b = mid
        cuts.append((a + b) / 2)
    cuts.append(hi)
    names = {
        2: ["Vest", "Øst"] if along_x else ["Syd", "Nord"],
        3: ["Vest", "Midt", "Øst"] if along_x else ["Syd", "Midt", "Nord"],
        4: ["Vest", "Midt-Vest", "Midt-Øst", "Øst"] if along_x else ["Syd", "Midt-Syd", "Midt-Nord", "Nord"],
    }[count]
    return [(names[i], part(cuts[i], cuts[i + 1])) for i in range(count)]


def build_sectors(reference: list[ReferenceArea], layers_dir: Path, data_dir: Path | None = None
                  ) -> tuple[str, list[Station], list[Sector]]:
    spec = yaml.safe_load((layers_dir / "demo" / "sectors.yaml").read_text(encoding="utf-8"))
    bydele = {a.code: a for a in reference if a.area_type == "bydel"}
    kommuner = {a.code: a for a in reference if a.area_type == "kommune"}
    bydele_union = shapely.union_all([a.geom for a in bydele.values()])
    stations: list[Station] = []
    sectors: list[Sector] = []
    firsts, lasts = spec["first_names"], spec["last_names"]
    n_officer = 0

    def next_officers() -> list[dict[str, str]]:
        nonlocal n_officer
        officers = []
        for _ in range(spec["officers_per_sector"]):
            first = firsts[n_officer % len(firsts)]
            last = lasts[(n_officer // len(firsts) + n_officer) % len(lasts)]
            n_officer += 1
            officers.append({
                "name": f"{first} {last}",
                "phone": f"+45 00 00 {n_officer // 100:02d} {n_officer % 100:02d}",
                "email": f"{first.lower()}.{last.lower()}@demo.invalid".replace("ø", "oe"),
            })
        return officers

    for st in spec["stations"]:
        point = reproject(Point(*st["lonlat"]), 4326, STORAGE_SRID)
        stations.append(Station(st["code"], st["name"], st["address"], point, st.get("phone"), st.get("email")))
        for area in st["areas"]:
            if "bydel" in area:
                base = bydele[area["bydel"]]
                geom, label, kommune = base.geom, base.name, "0101"
            else:
                base = kommuner[area["kommune"]]
                # DAGI outlines are coarser than the bydele: keep the sectors from overlapping.
                geom, label, kommune = base.geom.difference(bydele_union), base.name, base.code
            for suffix, piece in _strips(geom, area["strips"]):
                code = f"{st['code']}-{len(sectors) + 1:02d}"
                name = f"{label} {suffix}".strip()
                sectors.append(Sector(code, f"Din Betjent {name}", st["code"], kommune, _multi(piece), next_officers()))
    if data_dir is not None and spec.get("national"):
        from geoservice.demo.national_sectors import build_national

        more_stations, more_sectors = build_national(
            reference, data_dir, spec["national"], make_station=Station, make_sector=Sector, strips=_strips,
            officers=next_officers, multi=_multi)
        stations += more_stations
        sectors += more_sectors
    return str(spec["politikreds"]), stations, sectors


def _osm_points(data_dir: Path, center: tuple[float, float], radius_m: float, values: list[str]) -> np.ndarray:
    lon, lat = center
    dlat, dlon = radius_m / 111_000 * 1.5, radius_m / (111_000 * np.cos(np.radians(lat))) * 1.5
    with sqlite3.connect(data_dir / "osm" / "denmark_pois_2019.sqlite") as conn:
        rows = conn.execute(
            f"SELECT LON, LAT FROM NODE WHERE TAG = 'amenity' AND VALUE IN ({','.join('?' * len(values))})"
            " AND LAT BETWEEN ? AND ? AND LON BETWEEN ? AND ? ORDER BY ID",
            (*values, lat - dlat, lat + dlat, lon - dlon, lon + dlon),
        ).fetchall()
    if not rows:
        return np.empty((0, 2))
    pts = shapely.points(np.array(rows, dtype=float))
    projected = shapely.get_coordinates(reproject(shapely.multipoints(pts), 4326, STORAGE_SRID))
    c = shapely.get_coordinates(reproject(Point(lon, lat), 4326, STORAGE_SRID))[0]
    keep = np.hypot(projected[:, 0] - c[0], projected[:, 1] - c[1]) <= radius_m
    return projected[keep]


def _zone_geometry(recipe: dict[str, Any], data_dir: Path, udsatte: gpd.GeoDataFrame) -> tuple[BaseGeometry, str]:
    if "osm_cluster" in recipe:
        r = recipe["osm_cluster"]
        pts = _osm_points(data_dir, tuple(r["center"]), r["radius_m"], r.get("values", ["bar", "pub", "nightclub"]))
        if len(pts) < 3:
            raise GeoserviceError(f"too few OpenStreetMap bars near {r['center']} to derive a zone")
        cloud = shapely.multipoints(pts)
        hull = shapely.concave_hull(cloud, ratio=0.35)
        geom = hull.buffer(r["buffer_m"], quad_segs=8).union(cloud.buffer(r["buffer_m"], quad_segs=8))
        return geom, f"OpenStreetMap 2019: {len(pts)} barer/pubber/natklubber, buffer {r['buffer_m']} m"
    if "udsatte" in recipe:
        names = recipe["udsatte"]["delomraade"]
        rows = udsatte[udsatte["delomraade"].isin(names)].sort_values("ogc_fid")
        if rows.empty:
            raise GeoserviceError(f"no udsatte byområder named {names}")
        return shapely.union_all(rows.geometry.values), "Københavns Kommune, udsatte byområder: " + ", ".join(names)
    if "circle" in recipe:
        r = recipe["circle"]
        center = reproject(Point(*r["center"]), 4326, STORAGE_SRID)
        return center.buffer(r["radius_m"], quad_segs=16), f"cirkel, radius {r['radius_m']} m"
    raise GeoserviceError(f"unknown geometry recipe {recipe}")


def build_zones(reference: list[ReferenceArea], data_dir: Path, layers_dir: Path) -> list[DemoZone]:
    spec = yaml.safe_load((layers_dir / "demo" / "zones.yaml").read_text(encoding="utf-8"))
    kommuner = {a.code: a.geom for a in reference if a.area_type == "kommune"}
    bydele = [a.geom for a in reference if a.area_type == "bydel"]
    copenhagen_land = shapely.union_all(bydele)
    udsatte = _read(data_dir / "copenhagen" / "udsatte_byomraader.geojson")
    udsatte["ogc_fid"] = udsatte["ogc_fid"].astype(int)
    zones: list[DemoZone] = []
    taken: dict[str, BaseGeometry] = {}  # recipe type -> union of earlier boundaries, to keep neighbours apart
    for z in spec["zones"]:
        raw, recipe_text = _zone_geometry(z["geometry"], data_dir, udsatte)
        # Copenhagen's bydele follow the coast far better than the 1:500,000 DAGI outline.
        land = copenhagen_land if z["kommune"] == "0101" else kommuner[z["kommune"]]
        geom = raw.intersection(land)
        recipe_type = next(iter(z["geometry"]))
        if recipe_type == "osm_cluster":
            earlier = taken.get(recipe_type)
            if earlier is not None:
                geom = geom.difference(earlier)
            taken[recipe_type] = geom if earlier is None else earlier.union(geom)
        geom = _multi(geom)
        if geom.is_empty:
            raise GeoserviceError(f"demo zone {z['key']} has an empty boundary")
        zones.append(
            DemoZone(
                key=z["key"], kind=z["kind"], name=z["name"], kommune=z["kommune"], geom=geom,
                versions=[DemoVersion(**v) for v in z["versions"]],
                visibility=z.get("visibility"), description=z.get("description"),
                list_edition=z.get("list_edition"), draft=z.get("draft", False), revoked=z.get("revoked"),
                recipe=recipe_text,
            )
        )
    return zones


# Named points that help people find a place; technical features (power, emergency phones ...) are left out.
PLACE_TAGS = ("place", "amenity", "shop", "leisure", "tourism", "railway", "public_transport", "historic")


def build_places(data_dir: Path) -> Places:
    with sqlite3.connect(data_dir / "osm" / "denmark_pois_2019.sqlite") as conn:
        rows = conn.execute(
            f"SELECT ID, NAME, TAG || '=' || VALUE, LON, LAT FROM NODE WHERE NAME IS NOT NULL AND NAME <> ''"
            f" AND TAG IN ({','.join('?' * len(PLACE_TAGS))}) ORDER BY ID",
            PLACE_TAGS,
        ).fetchall()
    lon = np.array([r[3] for r in rows], dtype=float)
    lat = np.array([r[4] for r in rows], dtype=float)
    from geoservice.geometry import transformer

    x, y = transformer(4326, STORAGE_SRID).transform(lon, lat)
    return Places(np.array([r[0] for r in rows], dtype=np.int64), [r[1].strip() for r in rows],
                  [r[2] for r in rows], np.asarray(x), np.asarray(y))


def build(data_dir: Path, layers_dir: Path) -> DemoData:
    reference = build_reference(data_dir, layers_dir)
    politikreds, stations, sectors = build_sectors(reference, layers_dir, data_dir)
    zones = build_zones(reference, data_dir, layers_dir)
    return DemoData(reference, politikreds, stations, sectors, zones, build_places(data_dir))

