"""Geometry input: GeoJSON parsing, CRS, Denmark bounds, validity and repair.

Input is GeoJSON in EPSG:4326 longitude/latitude (RFC 7946) unless a CRS is declared (the legacy `crs`
member, or the `Content-Crs` header of OGC API Features Part 4). Zones are stored in EPSG:25832.
Every refusal names the field, the reason and, where there is one, the coordinate.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

from geoservice.errors import FieldError, InvalidGeometry, InvalidInput, OutsideDenmark, UnsupportedCrs

STORAGE_SRID = 25832
WGS84_SRID = 4326

# Denmark with Bornholm and Christiansø, and a margin for territorial water. The finer check (distance to the
# police districts) is done in the database once the reference areas are loaded.
DENMARK_BBOX = (7.8, 54.45, 15.4, 57.9)  # lon_min, lat_min, lon_max, lat_max

MAX_VERTICES = 200_000

# How far from Denmark's police districts a boundary or point may lie: harbours and coastal water are left out
# by the 1:500,000 district outlines.
MAX_DISTANCE_FROM_DENMARK_M = 3000.0

SUPPORTED_CRS = {
    4326: "EPSG:4326 (longitude, latitude as in RFC 7946; the default)",
    25832: "EPSG:25832 (ETRS89 / UTM zone 32N)",
    25833: "EPSG:25833 (ETRS89 / UTM zone 33N, Bornholm)",
}

_CRS_PATTERNS = [
    (re.compile(r"^(?:urn:ogc:def:crs:OGC:1\.3:CRS84|https?://www\.opengis\.net/def/crs/OGC/1\.3/CRS84"
                r"|OGC:CRS84|CRS84)$", re.I), 4326),
    (re.compile(r"^EPSG:(\d+)$", re.I), None),
    (re.compile(r"^urn:ogc:def:crs:EPSG:[\d.]*:(\d+)$", re.I), None),
    (re.compile(r"^https?://www\.opengis\.net/def/crs/EPSG/0/(\d+)$", re.I), None),
]


def crs_name_pattern() -> str:
    """The CRS names `resolve_crs` accepts, as a JSON Schema pattern for the OpenAPI document (the service also
    ignores case and surrounding blanks)."""
    codes = "|".join(str(code) for code in SUPPORTED_CRS)
    return (rf"^$|^<?(EPSG:({codes})|urn:ogc:def:crs:EPSG:[0-9.]*:({codes})|https?://www\.opengis\.net/def/crs/EPSG/"
            rf"0/({codes})|urn:ogc:def:crs:OGC:1\.3:CRS84|https?://www\.opengis\.net/def/crs/OGC/1\.3/CRS84"
            rf"|OGC:CRS84|CRS84)>?$")


def resolve_crs(value: str | None, field: str = "crs") -> int:
    """An SRID from a CRS name or URI; 4326 when none is given."""
    if value is None or value == "":
        return WGS84_SRID
    text = value.strip().strip("<>").strip()
    for pattern, fixed in _CRS_PATTERNS:
        match = pattern.match(text)
        if match:
            srid = fixed if fixed is not None else int(match.group(1))
            if srid in SUPPORTED_CRS:
                return srid
            raise UnsupportedCrs(
                f"{field}: EPSG:{srid} is not supported here",
                errors=[FieldError(field, f"EPSG:{srid} is not supported; use one of: "
                                   + ", ".join(SUPPORTED_CRS.values()))],
            )
    raise UnsupportedCrs(
        f"{field}: unknown CRS {value!r}",
        errors=[FieldError(field, f"unknown CRS {value!r}; use e.g. EPSG:4326 or http://www.opengis.net/def/crs/EPSG/0/25832")],
    )


def crs_from_geojson_member(obj: dict[str, Any], field: str = "crs") -> int | None:
    """The legacy GeoJSON 2008 `crs` member ({"type": "name", "properties": {"name": ...}}), if present."""
    member = obj.get("crs")
    if member is None:
        return None
    if isinstance(member, dict) and member.get("type") != "name":
        # a "link" names a URL: the service never fetches a CRS a request points at
        raise UnsupportedCrs(
            f"{field}: only a named CRS is accepted, not a crs member of type {member.get('type')!r}",
            errors=[FieldError(field, 'only {"type": "name", "properties": {"name": "EPSG:25832"}}; a CRS is never '
                                      "fetched from a link")],
        )
    try:
        name = member["properties"]["name"]
    except (TypeError, KeyError):
        raise UnsupportedCrs(
            f"{field}: malformed crs member",
            errors=[FieldError(field, 'expected {"type": "name", "properties": {"name": "EPSG:25832"}}')],
        ) from None
    return resolve_crs(name, field)


@lru_cache(maxsize=16)
def transformer(src: int, dst: int) -> Transformer:
    return Transformer.from_crs(CRS.from_epsg(src), CRS.from_epsg(dst), always_xy=True)


def reproject(geom: BaseGeometry, src: int, dst: int) -> BaseGeometry:
    if src == dst:
        return geom
    tr = transformer(src, dst)
    return shapely.transform(geom, lambda xy: _stack(tr.transform(xy[:, 0], xy[:, 1])))


def _stack(xy: tuple) -> Any:
    return np.column_stack(xy)


def _fmt_lonlat(lon: float, lat: float) -> str:
    return f"lon {lon:.6f}, lat {lat:.6f}"


def check_point_in_denmark(lon: float, lat: float, *, lon_field: str = "lon", lat_field: str = "lat") -> None:
    """Refuse a WGS84 point outside Denmark, saying so when swapping lat and lon would fix it."""
    for name, value in ((lon_field, lon), (lat_field, lat)):
        if not math.isfinite(value):
            raise InvalidInput(f"{name} must be a finite number", errors=[FieldError(name, "not a finite number")])
    if in_denmark_bbox(lon, lat):
        return
    reason = f"{_fmt_lonlat(lon, lat)} is outside Denmark"
    if in_denmark_bbox(lat, lon):
        reason += f"; latitude and longitude look swapped (did you mean {lat_field}={lon}, {lon_field}={lat}?)"
    raise OutsideDenmark(reason, errors=[FieldError(f"{lat_field},{lon_field}", reason)])


def check_point_distance(lon: float, lat: float, distance_m: float | None, *, lon_field: str = "lon",
                         lat_field: str = "lat") -> None:
    """Refuse a point lying more than MAX_DISTANCE_FROM_DENMARK_M from every Danish police district
    (`distance_m` as the database measured it; None when a district holds the point)."""
    if distance_m is None or distance_m <= MAX_DISTANCE_FROM_DENMARK_M:
        return
    reason = (f"{_fmt_lonlat(lon, lat)} is {distance_m / 1000:.1f} km from the nearest Danish police district "
              f"(at most {MAX_DISTANCE_FROM_DENMARK_M / 1000:.0f} km is accepted)")
    raise OutsideDenmark(f"the point is outside Denmark: {reason}",
                         errors=[FieldError(f"{lat_field},{lon_field}", reason, {"distance_m": round(distance_m)})])


def in_denmark_bbox(lon: float, lat: float) -> bool:
    x0, y0, x1, y1 = DENMARK_BBOX
    return x0 <= lon <= x1 and y0 <= lat <= y1


@dataclass
class Repair:
    reason: str
    area_before_m2: float
    area_after_m2: float

    @property
    def area_change_m2(self) -> float:
        return self.area_after_m2 - self.area_before_m2

    def as_dict(self) -> dict[str, Any]:
        change_pct = (
            100.0 * self.area_change_m2 / self.area_before_m2 if self.area_before_m2 else None
        )
        return {
            "reason": self.reason,
            # a crossing outline has no signed area; this is what it encloses as drawn (see even_odd_area)
            "area_before_rule": "even-odd",
            "area_before_m2": round(self.area_before_m2, 1),
            "area_after_m2": round(self.area_after_m2, 1),
            "area_change_m2": round(self.area_change_m2, 1),
            "area_change_percent": None if change_pct is None else round(change_pct, 3),
        }


@dataclass
class ZoneGeometry:
    """A validated zone boundary in EPSG:25832, with the repair report when one was made."""

    geom: MultiPolygon
    source_srid: int
    repair: Repair | None = None

    @property
    def wkb(self) -> bytes:
        return shapely.to_wkb(self.geom, include_srid=False)


def parse_zone_geometry(
    geometry: Any, *, srid: int = WGS84_SRID, repair: bool = False, field: str = "geometry"
) -> ZoneGeometry:
    """Validate a GeoJSON geometry for a zone boundary and return it in EPSG:25832."""
    geom = _shape(geometry, field)
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise InvalidGeometry(
            f"{field}: a zone boundary must be a Polygon or MultiPolygon, got {geom.geom_type}",
            errors=[FieldError(f"{field}.type", f"must be Polygon or MultiPolygon, got {geom.geom_type}")],
        )
    if geom.is_empty:
        raise InvalidGeometry(f"{field} is empty", errors=[FieldError(field, "empty geometry")])
    coords = shapely.get_coordinates(geom)
    if len(coords) > MAX_VERTICES:
        raise InvalidGeometry(
            f"{field} has {len(coords)} vertices; at most {MAX_VERTICES} are accepted",
            errors=[FieldError(field, f"too many vertices ({len(coords)} > {MAX_VERTICES})")],
        )
    if not all(math.isfinite(v) for v in coords.ravel()):
        raise InvalidGeometry(f"{field} has a coordinate that is not a finite number",
                              errors=[FieldError(f"{field}.coordinates", "non-finite coordinate")])
    _check_bounds(geom, srid, field)

    projected = reproject(geom, srid, STORAGE_SRID)
    repaired: Repair | None = None
    reason = shapely.is_valid_reason(projected)
    if reason != "Valid Geometry":
        where = _reason_location(reason, STORAGE_SRID)
        if not repair:
            raise InvalidGeometry(
                f"{field} is not valid: {where}. Fix it, or send repair=true to repair it with make_valid "
                "(the response reports the area change)",
                errors=[FieldError(field, where, _location_extra(reason))],
            )
        fixed = _polygonal(shapely.make_valid(projected))
        if fixed.is_empty or fixed.area <= 0:
            raise InvalidGeometry(
                f"{field} cannot be repaired: nothing polygonal is left ({where})",
                errors=[FieldError(field, f"repair leaves no area ({where})")],
            )
        repaired = Repair(reason=where, area_before_m2=even_odd_area(projected), area_after_m2=fixed.area)
        projected = fixed
    multi = projected if isinstance(projected, MultiPolygon) else MultiPolygon([projected])
    if multi.area < 1.0:
        raise InvalidGeometry(f"{field} has no area", errors=[FieldError(field, "area below 1 m²")])
    return ZoneGeometry(geom=multi, source_srid=srid, repair=repaired)


def parse_zone_geometries(geometries: list[BaseGeometry], *, repair: bool = False, field: str = "geometry"
                          ) -> list[ZoneGeometry | InvalidInput]:
    """parse_zone_geometry for many shapely geometries already in EPSG:25832 (a file import's boundaries): the
    same checks, each answer that of parse_zone_geometry. The checks run on all of them at once; only a geometry
    that one of them would refuse or repair is passed to parse_zone_geometry itself, for its exact answer."""
    geoms = np.asarray(geometries, dtype=object)
    answers: list[ZoneGeometry | InvalidInput] = [None] * len(geoms)  # type: ignore[list-item]
    if not len(geoms):
        return answers
    types = shapely.get_type_id(geoms)
    counts = shapely.get_num_coordinates(geoms)
    fine = np.isin(types, (3, 6)) & ~shapely.is_empty(geoms) & (counts <= MAX_VERTICES)
    fine &= shapely.is_valid(geoms) & (shapely.area(geoms) >= 1.0)
    if fine.any():
        coords, index = shapely.get_coordinates(geoms[fine], return_index=True)
        lon, lat = transformer(STORAGE_SRID, WGS84_SRID).transform(coords[:, 0], coords[:, 1])
        x0, y0, x1, y1 = DENMARK_BBOX
        outside = ~(np.isfinite(lon) & (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1))
        bad = np.zeros(int(fine.sum()), dtype=bool)
        np.logical_or.at(bad, index, outside)
        fine[np.flatnonzero(fine)[bad]] = False
    for i, geom in enumerate(geoms):
        if fine[i]:
            multi = geom if isinstance(geom, MultiPolygon) else MultiPolygon([geom])
            answers[i] = ZoneGeometry(geom=multi, source_srid=STORAGE_SRID)
            continue
        try:
            answers[i] = parse_zone_geometry(shapely.geometry.mapping(geom), srid=STORAGE_SRID, repair=repair,
                                             field=field)
        except InvalidInput as exc:
            answers[i] = exc
    return answers


def _shape(geometry: Any, field: str) -> BaseGeometry:
    if not isinstance(geometry, dict):
        raise InvalidGeometry(f"{field} must be a GeoJSON geometry object",
                              errors=[FieldError(field, "expected a GeoJSON geometry object")])
    gtype = geometry.get("type")
    if gtype not in ("Polygon", "MultiPolygon"):
        got = gtype if isinstance(gtype, str) else repr(gtype)
        raise InvalidGeometry(
            f"{field}: a zone boundary must be a Polygon or MultiPolygon, got {got}",
            errors=[FieldError(f"{field}.type", f"must be Polygon or MultiPolygon, got {got}")],
        )
    if "coordinates" not in geometry:
        raise InvalidGeometry(f"{field} has no coordinates",
                              errors=[FieldError(f"{field}.coordinates", "missing")])
    _check_numbers(geometry["coordinates"], f"{field}.coordinates")
    try:
        geom = shape(geometry)
    except Exception as exc:  # shapely raises several types for malformed coordinate arrays
        raise InvalidGeometry(
            f"{field} is not a well-formed GeoJSON {gtype}: {exc}",
            errors=[FieldError(f"{field}.coordinates", f"malformed {gtype} coordinates: {exc}")],
        ) from None
    return geom


def _check_numbers(value: Any, path: str) -> None:
    """Every coordinate a finite number (JSON as Python reads it allows NaN and Infinity), named by its path;
    otherwise shapely reports a NaN as a ring that is not closed."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_numbers(item, f"{path}[{index}]")
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        return  # not a number array at all: shapely's message for malformed coordinates says more
    if not math.isfinite(value):
        raise InvalidGeometry(f"{path} is {value}, not a finite number",
                              errors=[FieldError(path, f"not a finite number ({value})")])


def _check_bounds(geom: BaseGeometry, srid: int, field: str) -> None:
    coords = shapely.get_coordinates(geom)
    if srid == WGS84_SRID:
        lonlat = coords
        if _looks_projected(coords):
            raise UnsupportedCrs(
                f"{field}: coordinates such as {coords[0][0]:.1f}, {coords[0][1]:.1f} look like metres in a "
                "projected CRS, but no CRS was declared (GeoJSON defaults to EPSG:4326 longitude/latitude)",
                errors=[FieldError("crs", "missing: declare it, e.g. crs EPSG:25832 or the Content-Crs header")],
            )
    else:
        lonlat = shapely.get_coordinates(reproject(geom, srid, WGS84_SRID))
    for index, (lon, lat) in enumerate(lonlat):
        if not in_denmark_bbox(lon, lat):
            reason = f"vertex {index} at {_fmt_lonlat(lon, lat)} is outside Denmark"
            if srid == WGS84_SRID and in_denmark_bbox(lat, lon):
                reason += "; latitude and longitude look swapped (GeoJSON is [longitude, latitude])"
            elif srid != WGS84_SRID:
                reason += f" (coordinates read as EPSG:{srid}; is that the right CRS?)"
            raise OutsideDenmark(f"{field}: {reason}", errors=[FieldError(f"{field}.coordinates", reason)])


def _looks_projected(coords: Any) -> bool:
    return bool(len(coords)) and float(abs(coords).max()) > 1000


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    polys: list[Polygon] = []
    for part in parts:
        polys.extend(part.geoms if isinstance(part, MultiPolygon) else [part])
    return MultiPolygon(polys) if polys else MultiPolygon()


def even_odd_area(geom: BaseGeometry) -> float:
    """The area the drawn outline encloses under the even-odd rule (as a map renders it): a point is inside when
    a ray from it crosses the polygon's rings an odd number of times. Unlike the signed (shoelace) area, it does
    not cancel out when a ring crosses itself: a bow-tie encloses its two triangles."""
    polys = geom.geoms if isinstance(geom, MultiPolygon) else [geom]
    total = 0.0
    for poly in polys:
        rings = [np.asarray(r.coords) for r in (poly.exterior, *poly.interiors) if len(r.coords) >= 4]
        if not rings:
            continue
        # the faces the rings cut the plane into; each lies wholly inside or wholly outside
        faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(shapely.node(shapely.MultiLineString(rings)))))
        if not len(faces):
            continue
        probes = shapely.get_coordinates(shapely.point_on_surface(faces))
        inside = _even_odd_inside(probes, rings)
        total += float(shapely.area(faces[inside]).sum())
    return total


def _even_odd_inside(points: np.ndarray, rings: list[np.ndarray], chunk_cells: int = 4_000_000) -> np.ndarray:
    """Ray casting (+x direction) against every edge of every ring; odd crossings = inside."""
    inside = np.zeros(len(points), dtype=bool)
    edges = np.concatenate([np.stack([r[:-1], r[1:]], axis=1) for r in rings])  # (n, 2, 2)
    ax, ay, bx, by = edges[:, 0, 0], edges[:, 0, 1], edges[:, 1, 0], edges[:, 1, 1]
    step = max(1, chunk_cells // max(1, len(edges)))
    for start in range(0, len(points), step):
        px = points[start:start + step, 0:1]
        py = points[start:start + step, 1:2]
        straddle = (ay > py) != (by > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_cross = ax + (py - ay) * (bx - ax) / (by - ay)
        inside[start:start + step] = (straddle & (px < x_cross)).sum(axis=1) % 2 == 1
    return inside


_LOCATION = re.compile(r"^(?P<what>[^\[]+)\[(?P<x>-?[\d.eE+-]+) (?P<y>-?[\d.eE+-]+)\]$")


def _reason_location(reason: str, srid: int) -> str:
    """GEOS says 'Self-intersection[721000 6177000]'; say it in words, at a longitude/latitude."""
    match = _LOCATION.match(reason)
    if not match:
        return reason.lower()
    x, y = float(match["x"]), float(match["y"])
    lon, lat = transformer(srid, WGS84_SRID).transform(x, y)
    return f"{match['what'].strip().lower()} at {_fmt_lonlat(lon, lat)}"


def _location_extra(reason: str) -> dict[str, Any]:
    match = _LOCATION.match(reason)
    if not match:
        return {}
    lon, lat = transformer(STORAGE_SRID, WGS84_SRID).transform(float(match["x"]), float(match["y"]))
    return {"location": [round(lon, 7), round(lat, 7)]}
