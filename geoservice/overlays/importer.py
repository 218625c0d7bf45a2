"""Overlay imports: incidents and survey responses from CSV, GeoJSON, GeoPackage or zipped Shapefile.

Reading and checking is vectorised (pandas, shapely, pyproj) and done before the database is touched; the rows
are then written with COPY into a staging table and upserted on (source, external_id) in one transaction, so
importing the same file twice changes nothing and a corrected row updates its incident in place.

Every bad row is named with its line (CSV; the header is line 1) or feature number, the field and the reason.
By default one bad row refuses the whole file (nothing is written); with `skip_invalid` the good rows are
imported and the report lists every rejected row.

Column names are matched case-insensitively against the aliases below.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from geoservice import csvsafe, timeutil
from geoservice.access import Principal, Role, overlay_access, require
from geoservice.errors import FieldError, Forbidden, ImportRejected, InvalidInput
from geoservice.geometry import DENMARK_BBOX, MAX_DISTANCE_FROM_DENMARK_M, STORAGE_SRID, WGS84_SRID, transformer
from geoservice.overlays.taxonomy import OverlayRules, get_overlay_rules
from geoservice.safe_files import read_vector
from geoservice.store import overlays as store
from geoservice.textcheck import CONTROL_PATTERN, control_character

# A point may lie in a harbour or just off the 1:500,000 coastline; farther than this from any kommune it is
# not in Denmark (the same tolerance as zone boundaries).
MAX_REJECTED_IN_PROBLEM = 10_000
# Incidents may be recorded a little ahead of the server clock; beyond this they are refused.
FUTURE_TOLERANCE = pd.Timedelta(days=1)

COLUMNS: dict[str, tuple[str, ...]] = {
    "external_id": ("external_id", "id", "incident_id", "sagsnummer", "journalnummer", "respondent_id"),
    "category": ("category", "kategori"),
    "occurred_at": ("occurred_at", "time", "tidspunkt", "datetime", "gerningstidspunkt", "timestamp"),
    "lat": ("lat", "latitude", "breddegrad"),
    "lon": ("lon", "lng", "long", "longitude", "laengdegrad"),
    "x": ("x", "easting", "east"),
    "y": ("y", "northing", "north"),
    "precision_m": ("precision_m", "location_precision_m", "precision", "praecision_m"),
    "year": ("year", "aar", "år"),
    "safety_score": ("safety_score", "score", "tryghed", "tryghedsscore"),
    "trust": ("trust", "tillid", "trust_police"),
    "weight": ("weight", "vaegt", "vægt"),
    "politikreds": ("politikreds", "politikreds_code", "polkr_nr"),
    "kommune": ("kommune", "kommune_code", "komkode"),
}

SUPPORTED_SUFFIXES = (".csv", ".txt", ".geojson", ".json", ".gpkg", ".zip")
SUPPORTED_TEXT = "expected .csv, .geojson, .gpkg or a zipped Shapefile (.zip)"

DBF_NAME_LIMIT = 10  # bytes of a .dbf field name


@dataclass
class Rejected:
    row: int
    field: str
    reason: str
    value: str | None = None

    def as_dict(self, unit: str) -> dict[str, Any]:
        return {unit: self.row, "field": self.field, "reason": self.reason, "value": self.value}


@dataclass
class KommuneIndex:
    """The kommuner (subdivided) for placing points: code and politikreds of each part, and a tree."""

    kommune: np.ndarray
    politikreds: np.ndarray
    tree: STRtree

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]]) -> KommuneIndex:
        if not rows:
            raise InvalidInput("no kommuner are loaded; run `geoservice demo load` (or load the reference areas)")
        geoms = shapely.from_wkb([bytes(r["wkb"]) for r in rows])
        return cls(np.array([r["code"] for r in rows], dtype=object),
                   np.array([r["parent_code"] for r in rows], dtype=object), STRtree(geoms))

    def place(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(kommune code or None, politikreds code or None, distance to land in m) for each point."""
        n = len(x)
        kommune = np.full(n, None, dtype=object)
        kreds = np.full(n, None, dtype=object)
        distance = np.full(n, np.inf)
        if n == 0:
            return kommune, kreds, distance
        points = shapely.points(x, y)
        hit_pt, hit_part = self.tree.query(points, predicate="intersects")
        first = np.unique(hit_pt, return_index=True)[1]
        kommune[hit_pt[first]] = self.kommune[hit_part[first]]
        kreds[hit_pt[first]] = self.politikreds[hit_part[first]]
        distance[hit_pt[first]] = 0.0
        left = np.flatnonzero(kommune == None)  # noqa: E711 (object array)
        if len(left):
            near_pt, near_part = self.tree.query_nearest(points[left], max_distance=MAX_DISTANCE_FROM_DENMARK_M,
                                                         all_matches=False)
            idx = left[near_pt]
            kommune[idx] = self.kommune[near_part]
            kreds[idx] = self.politikreds[near_part]
            distance[idx] = shapely.distance(points[idx], self.tree.geometries[near_part])
        return kommune, kreds, distance


@dataclass
class Table:
    """A file read into strings, with the number each row is known by (line or feature)."""

    frame: pd.DataFrame
    row_numbers: np.ndarray
    unit: str  # "line" or "feature"
    file_name: str
    sha256: str
    x: np.ndarray | None = None  # EPSG:25832 from the file's geometry, when it has one
    y: np.ndarray | None = None
    geometry_problem: np.ndarray | None = None  # reason per row, or None
    # A Shapefile's .dbf keeps field names to 10 bytes (occurred_at arrives as occurred_a): match the aliases
    # cut to that length too.
    name_limit: int | None = None

    def column(self, name: str) -> pd.Series | None:
        wanted = {a.lower() for a in COLUMNS[name]}
        if self.name_limit:
            wanted |= {a.lower().encode()[:self.name_limit].decode(errors="ignore") for a in COLUMNS[name]}
        for col in self.frame.columns:
            if str(col).strip().lower() in wanted:
                return self.frame[col]
        return None


@dataclass
class Checked:
    """Rows that passed, as columns ready for COPY, and every rejected row."""

    table: Table
    columns: dict[str, np.ndarray]
    keep: np.ndarray  # boolean mask over the file's rows
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return len(self.keep)

    def frame(self) -> pd.DataFrame:
        out = pd.DataFrame({k: v[self.keep] for k, v in self.columns.items()})
        if "occurred_at" in out:
            out["occurred_us"] = epoch_us(out["occurred_at"])
            out["x_cm"] = np.round(out["x"].to_numpy() * 100).astype(np.int64)
            out["y_cm"] = np.round(out["y"].to_numpy() * 100).astype(np.int64)
        return out


@dataclass
class ImportReport:
    kind: str
    source: str
    file_name: str
    rows_read: int
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    unit: str = "line"
    skip_invalid: bool = False
    import_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "import_id": self.import_id,
            "kind": self.kind,
            "source": self.source,
            "file": self.file_name,
            "rows_read": self.rows_read,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected_count": len(self.rejected),
            "skip_invalid": self.skip_invalid,
            "rejected": [r.as_dict(self.unit) for r in self.rejected],
        }

    def summary(self) -> str:
        return (f"{self.file_name}: {self.rows_read} rows read, {self.inserted} inserted, {self.updated} updated, "
                f"{self.unchanged} unchanged, {len(self.rejected)} rejected")


# --- reading -------------------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_table(path: Path, file_name: str | None = None, layer: str | None = None) -> Table:
    """Read a CSV, GeoJSON, GeoPackage or (zipped) Shapefile; every attribute as text."""
    name = file_name or path.name
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise InvalidInput(f"{name}: unsupported file type {suffix or '(none)'}",
                           errors=[FieldError("file", SUPPORTED_TEXT)])
    sha = _sha256(path)
    if suffix in (".csv", ".txt"):
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True,
                                encoding="utf-8-sig", sep=None if suffix == ".txt" else ",", engine="c"
                                if suffix == ".csv" else "python")
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            raise InvalidInput(f"{name}: not a readable CSV file: {exc}",
                               errors=[FieldError("file", f"not a readable UTF-8 CSV file: {exc}")]) from None
        return Table(frame, np.arange(len(frame)) + 2, "line", name, sha)
    return _read_geo(path, name, sha, layer)


def _read_geo(path: Path, name: str, sha: str, layer: str | None) -> Table:
    # safe_files opens the file with one driver, and nothing it names (CRS links, other files, URLs)
    frame, driver = read_vector(path, name, layer, datetime_as_string=True)
    geoms = frame.geometry.values
    if frame.crs is None:
        raise InvalidInput(f"{name}: the file declares no CRS",
                           errors=[FieldError("crs", "missing; a .prj (Shapefile) or a CRS in the file is required")])
    epsg = frame.crs.to_epsg() or 0
    problem = np.full(len(frame), None, dtype=object)
    types = shapely.get_type_id(geoms)
    problem[shapely.is_missing(geoms) | shapely.is_empty(geoms)] = "missing geometry"
    problem[(types != 0) & (problem == None)] = "geometry must be a Point"  # noqa: E711
    xy = np.full((len(frame), 2), np.nan)
    ok = problem == None  # noqa: E711
    if ok.any():
        coords = shapely.get_coordinates(geoms[ok])
        if epsg != STORAGE_SRID:
            try:
                tr = transformer(epsg, STORAGE_SRID) if epsg else None
            except Exception:
                tr = None
            if tr is None:
                from pyproj import Transformer
                tr = Transformer.from_crs(frame.crs, f"EPSG:{STORAGE_SRID}", always_xy=True)
            coords = np.column_stack(tr.transform(coords[:, 0], coords[:, 1]))
        xy[ok] = coords
    attrs = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    attrs = attrs.astype(object).where(attrs.notna(), "").astype(str)
    table = Table(attrs, np.arange(len(frame)) + 1, "feature", name, sha, x=xy[:, 0], y=xy[:, 1],
                  geometry_problem=problem, name_limit=DBF_NAME_LIMIT if driver == "ESRI Shapefile" else None)
    return table


# --- checking ------------------------------------------------------------------------------------------------


class Checker:
    """Collects rejections per row; a row is kept only if nothing rejected it (first reason per field wins)."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.n = len(table.frame)
        self.bad = np.zeros(self.n, dtype=bool)
        self.rejected: list[Rejected] = []

    def reject(self, mask: np.ndarray, field_name: str, reason: str | Callable[[int], str],
               values: Any = None) -> None:
        """Reject the rows of `mask`; `values` (or a function giving them) shows each rejected value."""
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        if callable(values):  # built only when a row is rejected: it costs on a million rows
            values = values()
        for i in np.flatnonzero(mask):
            text = reason(int(i)) if callable(reason) else reason
            value = None if values is None else str(values[i])[:200]
            self.rejected.append(Rejected(int(self.table.row_numbers[i]), field_name, text, value))
        self.bad |= mask

    def required(self, name: str) -> pd.Series:
        col = self.table.column(name)
        if col is None:
            names = ", ".join(COLUMNS[name])
            raise InvalidInput(f"{self.table.file_name}: no {name} column",
                               errors=[FieldError(name, f"column missing; expected one of: {names}")])
        return col.astype(str).str.strip()

    def checked(self, columns: dict[str, np.ndarray]) -> Checked:
        order = {r.row: i for i, r in enumerate(self.rejected)}
        self.rejected.sort(key=lambda r: (r.row, order[r.row]))
        return Checked(self.table, columns, ~self.bad, self.rejected)


_OFFSET = r"(?:[+-]\d{2}:?\d{2}|[zZ])$"
_DATE_ONLY = r"^\d{4}-\d{2}-\d{2}$"


def parse_times(values: pd.Series, check: Checker, field_name: str = "occurred_at") -> np.ndarray:
    """ISO 8601 instants to naive UTC datetime64; local times are Europe/Copenhagen (see timeutil)."""
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
    empty = (values == "").to_numpy()
    check.reject(empty, field_name, "missing time")
    date_only = values.str.match(_DATE_ONLY).to_numpy() & ~empty
    check.reject(date_only, field_name, "a date without a time of day; give the time (ISO 8601, e.g. "
                                        "2025-09-01T23:40:00+02:00)", values.to_numpy())
    has_offset = values.str.contains(_OFFSET, regex=True).to_numpy()
    todo = ~empty & ~date_only
    aware_mask = todo & has_offset
    naive_mask = todo & ~has_offset
    if aware_mask.any():
        out[aware_mask] = pd.to_datetime(values[aware_mask], utc=True, format="ISO8601", errors="coerce")
    if naive_mask.any():
        naive = pd.to_datetime(values[naive_mask], format="ISO8601", errors="coerce")
        local = naive.dt.tz_localize(timeutil.LOCAL_TZ, ambiguous="NaT", nonexistent="NaT")
        dst = naive.notna() & local.isna()
        check.reject(_expand(naive_mask, dst.to_numpy()), field_name,
                     "this local time does not exist or happens twice in Europe/Copenhagen (summer time); "
                     "give it with an offset", values.to_numpy())
        out[naive_mask] = local.dt.tz_convert("UTC")
    unparsed = todo & out.isna().to_numpy() & ~check.bad
    check.reject(unparsed, field_name, "not an ISO 8601 date-time, e.g. 2025-09-01T23:40:00+02:00",
                 values.to_numpy())
    future = (out > pd.Timestamp(timeutil.now()) + FUTURE_TOLERANCE).to_numpy()
    check.reject(future & ~check.bad, field_name, "in the future", values.to_numpy())
    return out.dt.tz_convert(None).to_numpy()  # naive UTC (written with +00 for COPY)


def _expand(mask: np.ndarray, sub: np.ndarray) -> np.ndarray:
    full = np.zeros(len(mask), dtype=bool)
    full[np.flatnonzero(mask)[sub]] = True
    return full


def _numbers(values: pd.Series) -> np.ndarray:
    """Numbers from text; a decimal comma is accepted (tried only where the plain reading fails)."""
    out = np.array(pd.to_numeric(values, errors="coerce"), dtype=float)  # a writable copy
    retry = np.isnan(out) & (values != "").to_numpy()
    if retry.any():
        out[retry] = pd.to_numeric(values[retry].str.replace(",", ".", regex=False), errors="coerce")
    return out


def locate(check: Checker, kommuner: KommuneIndex) -> dict[str, np.ndarray]:
    """EPSG:25832 x, y and the kommune and politikreds of every row, from lat/lon or x/y columns or the file's
    geometry; rows without a usable point in Denmark are rejected."""
    t = check.table
    n = check.n
    to_wgs = transformer(STORAGE_SRID, WGS84_SRID)
    to_utm = transformer(WGS84_SRID, STORAGE_SRID)
    lat_col, lon_col, x_col, y_col = (t.column(c) for c in ("lat", "lon", "x", "y"))
    geo_field = "lat,lon"
    if t.x is not None:
        x, y = t.x.copy(), t.y.copy()
        geo_field = "geometry"
        check.reject(t.geometry_problem != None, "geometry", lambda i: t.geometry_problem[i])  # noqa: E711
        lon, lat = to_wgs.transform(x, y)
    elif lat_col is not None and lon_col is not None:
        lat_text, lon_text = lat_col.astype(str).str.strip(), lon_col.astype(str).str.strip()
        lat, lon = _numbers(lat_text), _numbers(lon_text)
        missing = np.isnan(lat) | np.isnan(lon)
        blank = (lat_text == "").to_numpy() | (lon_text == "").to_numpy()
        check.reject(missing & blank, geo_field, "missing coordinates")
        check.reject(missing & ~blank, geo_field, "latitude and longitude must be numbers",
                     lambda: (lat_text + "," + lon_text).to_numpy())
        x, y = to_utm.transform(lon, lat)
        x, y = np.asarray(x), np.asarray(y)
    elif x_col is not None and y_col is not None:
        geo_field = "x,y"
        x_text, y_text = x_col.astype(str).str.strip(), y_col.astype(str).str.strip()
        x, y = _numbers(x_text), _numbers(y_text)
        check.reject(np.isnan(x) | np.isnan(y), geo_field, "missing or non-numeric x/y (EPSG:25832 metres)",
                     lambda: (x_text + "," + y_text).to_numpy())
        lon, lat = to_wgs.transform(x, y)
    else:
        raise InvalidInput(f"{t.file_name}: no coordinates",
                           errors=[FieldError("lat,lon", "expected lat and lon columns (EPSG:4326), x and y columns "
                                                         "(EPSG:25832), or a point geometry")])
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    x0, y0, x1, y1 = DENMARK_BBOX
    finite = np.isfinite(lon) & np.isfinite(lat)
    inside = finite & (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
    swapped = finite & (lat >= x0) & (lat <= x1) & (lon >= y0) & (lon <= y1)
    hint = np.full(n, None, dtype=object)
    if geo_field == "lat,lon":
        hint[swapped] = "latitude and longitude look swapped"
    else:
        # Metres (EPSG:25832) expected: say so when the numbers are plainly something else.
        xm, ym = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        with np.errstate(invalid="ignore"):
            degrees = (((xm >= x0) & (xm <= x1) & (ym >= y0) & (ym <= y1))
                       | ((ym >= x0) & (ym <= x1) & (xm >= y0) & (xm <= y1)))
            back_lon, back_lat = (np.asarray(v, dtype=float) for v in to_wgs.transform(ym, xm))
            xy_swapped = ((back_lon >= x0) & (back_lon <= x1) & (back_lat >= y0) & (back_lat <= y1)) & ~degrees
        where = "columns" if geo_field == "x,y" else "file"
        hint[degrees] = (f"these look like degrees (lon/lat), not EPSG:{STORAGE_SRID} metres: use lat and lon "
                         f"columns, or declare EPSG:{WGS84_SRID}" if where == "columns" else
                         f"these look like degrees (lon/lat), not metres of the file's CRS: declare EPSG:{WGS84_SRID}")
        hint[xy_swapped] = "x and y look swapped (x is the easting, about 440,000-900,000 in Denmark)"

    def outside_reason(i: int) -> str:
        text = f"lon {lon[i]:.6f}, lat {lat[i]:.6f} is outside Denmark"
        if hint[i] is not None:
            text += f"; {hint[i]}"
        return text

    check.reject(finite & ~inside & ~check.bad, geo_field, outside_reason)
    kommune = np.full(n, None, dtype=object)
    kreds = np.full(n, None, dtype=object)
    cand = np.flatnonzero(inside & ~check.bad)
    k, p, _distance = kommuner.place(np.asarray(x)[cand], np.asarray(y)[cand])
    kommune[cand], kreds[cand] = k, p
    far = np.zeros(n, dtype=bool)
    far[cand[k == None]] = True  # noqa: E711
    check.reject(far, geo_field, lambda i: f"lon {lon[i]:.6f}, lat {lat[i]:.6f} is outside Denmark (more than "
                                           f"{MAX_DISTANCE_FROM_DENMARK_M / 1000:.0f} km from any Danish kommune)")
    return {"x": np.asarray(x, dtype=float), "y": np.asarray(y, dtype=float), "kommune_code": kommune,
            "politikreds_code": kreds}


def external_ids(check: Checker, columns: list[np.ndarray]) -> np.ndarray:
    """The id column; without one, a hash of the row's content and its occurrence number, so re-importing the
    same file finds the same rows (give an id column to be able to correct rows later)."""
    col = check.table.column("external_id")
    if col is not None:
        text = col.astype(str).str.strip()
        ids = text.to_numpy(dtype=object)
        check.reject(ids == "", "external_id", "missing id")
        check.reject(text.str.contains(CONTROL_PATTERN, regex=True).to_numpy(), "external_id",
                     "contains a control character", lambda: text.map(repr).to_numpy())
    else:
        joined = pd.Series(["|".join(map(str, parts)) for parts in zip(*columns, strict=True)], dtype=object)
        digest = joined.map(lambda s: hashlib.sha1(s.encode()).hexdigest()[:24])
        occurrence = digest.groupby(digest).cumcount()
        ids = (digest + "-" + occurrence.astype(str)).to_numpy(dtype=object)
    dup = pd.Series(ids).duplicated(keep="first").to_numpy() & (ids != "")
    if dup.any():
        first_row = pd.Series(check.table.row_numbers).groupby(pd.Series(ids)).transform("first").to_numpy()
        check.reject(dup, "external_id",
                     lambda i: f"duplicate id, first on {check.table.unit} {first_row[i]}", ids)
    return ids


def check_incidents(table: Table, rules: OverlayRules, kommuner: KommuneIndex) -> Checked:
    check = Checker(table)
    raw_category = check.required("category")
    uniques = raw_category.unique()
    mapping = {v: rules.resolve(v) for v in uniques if v}
    category = raw_category.map(mapping).to_numpy(dtype=object)
    blank = (raw_category == "").to_numpy()
    check.reject(blank, "category", "missing category")
    check.reject(~blank & pd.isna(category), "category",
                 lambda i: f"unknown category {raw_category.iat[i]!r}; see GET /api/v1/overlays for the taxonomy",
                 raw_category.to_numpy())
    times = parse_times(check.required("occurred_at"), check)
    place = locate(check, kommuner)
    precision_col = table.column("precision_m")
    precision = np.full(check.n, np.nan)
    if precision_col is not None:
        text = precision_col.astype(str).str.strip()
        precision = _numbers(text)
        check.reject((text != "").to_numpy() & ~(precision >= 0), "precision_m",
                     "must be a number of metres, 0 or more", text.to_numpy())
    ids = external_ids(check, [category, np.datetime_as_string(times), np.round(place["x"], 2),
                               np.round(place["y"], 2)])
    return check.checked({"external_id": ids, "category": category, "occurred_at": times, **place,
                          "precision_m": precision})


def check_survey(table: Table, rules: OverlayRules, kommuner: KommuneIndex,
                 known_areas: dict[str, dict[str, str | None]]) -> Checked:
    """`known_areas`: {'politikreds': {code: None}, 'kommune': {code: politikreds}}."""
    check = Checker(table)
    s = rules.survey
    year_text = check.required("year")
    year = _numbers(year_text)
    this_year = timeutil.now().year
    check.reject(~((year >= 2000) & (year <= this_year) & (year == np.round(year))), "year",
                 f"must be a whole year between 2000 and {this_year}", year_text.to_numpy())
    score_text = check.required("safety_score")
    score = _numbers(score_text)
    check.reject(~((score >= s.score_min) & (score <= s.score_max) & (score == np.round(score))), "safety_score",
                 f"must be a whole number from {s.score_min} to {s.score_max} (7 = tryg)", score_text.to_numpy())
    trust_col = table.column("trust")
    trust = np.full(check.n, None, dtype=object)
    if trust_col is not None:
        text = trust_col.astype(str).str.strip()
        mapping = {v: rules.trust_code(v) for v in text.unique() if v}
        trust = text.map(mapping).to_numpy(dtype=object)
        check.reject((text != "").to_numpy() & pd.isna(trust), "trust",
                     "expected yes, no or dont_know (ja, nej, ved ikke)", text.to_numpy())
        trust = np.where(pd.isna(trust), None, trust)
    weight_col = table.column("weight")
    weight = np.ones(check.n)
    if weight_col is not None:
        text = weight_col.astype(str).str.strip()
        weight = np.where(text == "", 1.0, _numbers(text))
        check.reject(~(weight > 0) | ~np.isfinite(weight), "weight", "must be a positive number", text.to_numpy())
    # A point, or else an area code.
    has_point = _has_point(table)
    area_type = np.full(check.n, None, dtype=object)
    area_code = np.full(check.n, None, dtype=object)
    kommune = np.full(check.n, None, dtype=object)
    kreds = np.full(check.n, None, dtype=object)
    x = np.full(check.n, np.nan)
    y = np.full(check.n, np.nan)
    if has_point is not None:
        sub_rows = has_point
        sub = Checker(Table(table.frame[sub_rows].reset_index(drop=True), table.row_numbers[sub_rows], table.unit,
                            table.file_name, table.sha256,
                            None if table.x is None else table.x[sub_rows],
                            None if table.y is None else table.y[sub_rows],
                            None if table.geometry_problem is None else table.geometry_problem[sub_rows],
                            name_limit=table.name_limit))
        place = locate(sub, kommuner)
        idx = np.flatnonzero(sub_rows)
        x[idx], y[idx] = place["x"], place["y"]
        kommune[idx], kreds[idx] = place["kommune_code"], place["politikreds_code"]
        check.rejected += sub.rejected
        check.bad[idx] |= sub.bad
    no_point = ~has_point if has_point is not None else np.ones(check.n, dtype=bool)
    if no_point.any():
        kcol, pcol = table.column("kommune"), table.column("politikreds")
        kom = kcol.astype(str).str.strip().str.zfill(4).to_numpy(dtype=object) if kcol is not None else None
        pol = pcol.astype(str).str.strip().str.lstrip("0").to_numpy(dtype=object) if pcol is not None else None
        for i in np.flatnonzero(no_point):
            if kom is not None and kom[i] not in ("", "0000"):
                if kom[i] in known_areas["kommune"]:
                    area_type[i], area_code[i] = "kommune", kom[i]
                    kommune[i], kreds[i] = kom[i], known_areas["kommune"][kom[i]]
                else:
                    check.reject(_one(check.n, i), "kommune", f"unknown kommune code {kom[i]!r}", kom)
            elif pol is not None and pol[i] != "":
                if pol[i] in known_areas["politikreds"]:
                    area_type[i], area_code[i], kreds[i] = "politikreds", pol[i], pol[i]
                else:
                    check.reject(_one(check.n, i), "politikreds", f"unknown politikreds {pol[i]!r} (1-12)", pol)
            else:
                check.reject(_one(check.n, i), "lat,lon", "missing: give a point (lat/lon, x/y) or a kommune or "
                                                          "politikreds code")
    ids = external_ids(check, [year, score, trust, weight, np.round(x, 2), np.round(y, 2), area_code])
    return check.checked({
        "external_id": ids, "year": np.nan_to_num(year).astype(int), "safety_score": np.nan_to_num(score).astype(int),
        "trust": trust, "weight": weight, "x": x, "y": y, "area_type": area_type, "area_code": area_code,
        "kommune_code": kommune, "politikreds_code": kreds,
    })


def _one(n: int, i: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[i] = True
    return mask


def _has_point(table: Table) -> np.ndarray | None:
    """Which rows carry a point (None when the file has no coordinate columns at all)."""
    if table.x is not None:
        return table.geometry_problem != "missing geometry"
    for a, b in (("lat", "lon"), ("x", "y")):
        ca, cb = table.column(a), table.column(b)
        if ca is not None and cb is not None:
            return ((ca.astype(str).str.strip() != "") | (cb.astype(str).str.strip() != "")).to_numpy()
    return None


class RowsRejected(ImportRejected):
    """A file refused because of bad rows; `report` lists every one of them (the problem document lists at most
    MAX_REJECTED_IN_PROBLEM), so the CLI can print them by line and write its --rejected-report."""

    def __init__(self, detail: str, *, report: ImportReport, **kw: Any) -> None:
        super().__init__(detail, **kw)
        self.report = report


def refuse_if_rejected(checked: Checked, skip_invalid: bool, report: ImportReport) -> None:
    """All or nothing unless `skip_invalid`: one bad row refuses the file, naming every bad row (`report`, with
    every rejected row, goes with the exception)."""
    if not checked.rejected or skip_invalid:
        return
    t = checked.table
    shown = checked.rejected[:MAX_REJECTED_IN_PROBLEM]
    first = shown[0]
    raise RowsRejected(
        f"{t.file_name}: {len(checked.rejected)} of {checked.rows_read} rows rejected, nothing was imported "
        f"(first: {t.unit} {first.row}, {first.field}: {first.reason}). Fix the rows, or import with "
        "skip_invalid to import the others and get a report of the rejected rows",
        errors=[FieldError(r.field, r.reason, {t.unit: r.row, "value": r.value, "file": t.file_name}) for r in shown],
        extra={"file": t.file_name, "rows_read": checked.rows_read, "rejected_count": len(checked.rejected),
               "rejected_listed": len(shown)},
        report=report,
    )


def epoch_us(times: pd.Series) -> np.ndarray:
    """Microseconds since 1970-01-01 UTC of naive-UTC or aware times (the COPY format of `occurred_us`)."""
    values = pd.to_datetime(times, utc=True)
    return values.dt.tz_convert(None).to_numpy().astype("datetime64[us]").astype(np.int64)


def csv_chunks(frame: pd.DataFrame, columns: list[str], chunk_rows: int = 100_000) -> Iterator[tuple[bytes, int]]:
    """The frame as CSV for COPY, in chunks (for a progress bar): (bytes, rows)."""
    for start in range(0, len(frame), chunk_rows):
        part = frame.iloc[start:start + chunk_rows][columns]
        buffer = io.StringIO()
        part.to_csv(buffer, header=False, index=False, na_rep="", date_format="%Y-%m-%d %H:%M:%S.%f+00")
        yield buffer.getvalue().encode(), len(part)


async def threaded(chunks: Iterator[tuple[bytes, int]]) -> AsyncIterator[tuple[bytes, int]]:
    """Each chunk formatted in a worker thread: formatting a million rows as CSV takes seconds, which would
    otherwise stop the event loop (and every other request) meanwhile."""
    while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
        yield chunk


def rejected_csv(report: Any) -> str:
    """The rejected rows (or features) of an import as CSV (CLI --rejected-report): the one writer for overlay
    and zone imports. The columns are those of a rejected row (`as_dict`), line or feature number first; the value
    column repeats what the file held, so it must not become a formula in a spreadsheet (csvsafe)."""
    rows = [r.as_dict(report.unit) for r in report.rejected]
    columns = list(rows[0]) if rows else [report.unit, "field", "reason", "value"]
    return csvsafe.write(rows, columns)


# --- running an import ---------------------------------------------------------------------------------------


def check_may_import(principal: Principal) -> None:
    """Who may import: asked before an upload is read or stored (the HTTP layer), and again by import_file."""
    require(principal, Role.analyst, Role.admin, action="Importing overlay data")
    # The roles above say who may try; the overlay rules of geoservice.access decide (and `assert` would vanish
    # under python -O).
    if not overlay_access(principal).imports:
        raise Forbidden(f"Importing overlay data is not allowed for the role {principal.role.value}",
                        extra={"role": principal.role.value})



async def import_file(
    db: Any, principal: Principal, kind: str, path: Path, *, file_name: str | None = None, source: str = "import",
    skip_invalid: bool = False, layer: str | None = None, progress: Callable[[str, int, int], None] | None = None,
    record: bool = True,
) -> ImportReport:
    """Read, check and (all or nothing, unless skip_invalid) write one file. `progress(stage, done, total)`."""
    check_may_import(principal)
    if kind not in store.STAGES:
        raise InvalidInput(f"unknown import kind {kind!r}")
    source = source.strip()
    if not source or len(source) > 100:
        raise InvalidInput("source must be 1-100 characters", errors=[FieldError("source", "1-100 characters")])
    for field_name, text in (("source", source), ("file", file_name or path.name)):
        if reason := control_character(text):
            raise InvalidInput(f"{field_name}: {reason}", errors=[FieldError(field_name, reason)])
    rules = get_overlay_rules()
    async with db.connection() as conn:
        parts = await store.kommune_parts(conn)
        areas = await store.known_areas(conn) if kind == "survey_responses" else {}
    if progress:
        progress("read", 0, 1)
    table = await asyncio.to_thread(read_table, path, file_name, layer)
    index = await asyncio.to_thread(KommuneIndex.from_rows, parts)
    if progress:
        progress("check", 0, len(table.frame))
    if kind == "incidents":
        checked = await asyncio.to_thread(check_incidents, table, rules, index)
    else:
        checked = await asyncio.to_thread(check_survey, table, rules, index, areas)
    report = ImportReport(kind, source, table.file_name, checked.rows_read, rejected=checked.rejected,
                          unit=table.unit, skip_invalid=skip_invalid)
    refuse_if_rejected(checked, skip_invalid, report)
    frame = await asyncio.to_thread(checked.frame)
    columns = store.stage_columns(kind)
    done = 0

    def step(rows: int) -> None:
        nonlocal done
        done += rows
        if progress:
            progress("copy", done, len(frame))

    async with db.transaction(principal.actor, f"overlay.import.{kind}", f"{table.file_name} ({source})") as conn:
        if record:
            report.import_id = await store.insert_import(conn, {
                "kind": kind, "source": source, "file_name": table.file_name, "sha256": table.sha256,
                "by": principal.actor.name, "rows_read": checked.rows_read, "rejected": len(checked.rejected),
                "skip_invalid": skip_invalid})
        report.inserted, report.updated = await store.copy_and_upsert(
            conn, kind, threaded(csv_chunks(frame, columns)), source=source, import_id=report.import_id,
            progress=step)
        report.unchanged = len(frame) - report.inserted - report.updated
        if record and report.import_id is not None:
            await store.finish_import(conn, report.import_id, report.inserted, report.updated, report.unchanged)
    return report
