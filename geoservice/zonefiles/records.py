"""Checking a zone file feature by feature: the mapped fields, the times, the CRS and the geometry. Every problem
is a rejection naming the feature number, the field and the reason; every repair and every local time decided by
the DST rule is a note in the report."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry

from geoservice import timeutil
from geoservice.errors import FieldError, InvalidInput, InvalidTime, UnsupportedCrs
from geoservice.geometry import STORAGE_SRID, WGS84_SRID
from geoservice.layers import get_layers
from geoservice.overlays.importer import Rejected
from geoservice.zonefiles.options import DEFAULT_COLUMNS, TARGETS, ZoneImportOptions
from geoservice.zonefiles.reading import FeatureFile

REQUIRED = ("name", "kind", "valid_from")
VISIBILITIES = ("public", "internal", "restricted")
MAX_TEXT = {"name": 200, "decision_ref": 200, "decided_by": 200, "legal_basis": 500, "reason": 20_000,
            "boundary_text": 20_000, "description": 4000, "list_edition": 40, "key": 300}


@dataclass
class RejectedFeature(Rejected):
    key: str | None = None

    def as_dict(self, unit: str) -> dict[str, Any]:
        return {unit: self.row, "key": self.key, "field": self.field, "reason": self.reason, "value": self.value}


@dataclass
class ZoneRecord:
    """One feature, checked: a boundary (EPSG:25832) for a period of a zone."""

    feature: int
    key: str | None
    name: str
    kind: str
    start: dt.datetime
    end: dt.datetime | None
    geometry: BaseGeometry
    values: dict[str, str | None]        # decision_ref, decided_by, legal_basis, boundary_text, reason, ...
    politikreds: str | None = None       # resolved from the authority
    link_value: str | None = None


@dataclass
class Checked:
    records: list[ZoneRecord]
    rejected: list[RejectedFeature]
    notes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # local_times, repairs, authorities
    columns: dict[str, str] = field(default_factory=dict)                  # target: the column used


# --- authorities --------------------------------------------------------------------------------------------


def _normal(name: str) -> str:
    """A district name compared loosely: case, spaces, hyphens, æøå, the word "politi(kreds)" and a genitive s
    do not matter ("Københavns Politi", "Politikreds København" and "KØBENHAVN" are one)."""
    text = name.lower().replace("æ", "ae").replace("ø", "oe").replace("å", "aa")
    text = unicodedata.normalize("NFKD", text)
    text = re.sub(r"\bpoliti(?:kreds|et)?\b", " ", text)
    text = re.sub(r"[^a-z]+", "", text)
    return text[:-1] if text.endswith("s") else text


@dataclass
class Authorities:
    """The politikredse by name (reference areas), for resolving a file's `authority`."""

    by_name: dict[str, tuple[str, str]]   # normalised name: (code, official name)

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]]) -> Authorities:
        return cls({_normal(r["name"]): (str(r["code"]), str(r["name"])) for r in rows})

    def resolve(self, name: str) -> tuple[str, str] | None:
        return self.by_name.get(_normal(name))

    def known(self) -> str:
        return ", ".join(sorted(n for _, n in self.by_name.values()))


# --- times --------------------------------------------------------------------------------------------------

_ONE_DIGIT_MINUTE = re.compile(r"^(\d{4}-\d{2}-\d{2}[T ]\d{1,2}:)(\d)$")
_ONE_DIGIT_HOUR = re.compile(r"^(\d{4}-\d{2}-\d{2}[T ])(\d)(:\d{2}(?::\d{2})?)$")


def parse_time(text: str, field_name: str, *, end: bool, resolve_local: bool, repair: bool
               ) -> tuple[dt.datetime, list[tuple[str, dict[str, Any]]]]:
    """An instant from a file's time (ISO 8601; without an offset it is Copenhagen local time; a date alone as an
    end means til og med that day). A local time that summer time makes missing or ambiguous is refused, or with
    `resolve_local` decided by the rule of timeutil.resolve_wall_clock (a skipped time moves forward by the gap;
    a repeated time is the first, summer-time one) and noted. With `repair`, one-digit minutes (14:0) are read as
    tens (14:00) and noted."""
    notes: list[tuple[str, dict[str, Any]]] = []
    value = text.strip()
    hour = _ONE_DIGIT_HOUR.match(value)
    if hour:  # 9:00 is plainly 09:00
        value = f"{hour.group(1)}0{hour.group(2)}{hour.group(3)}"
    minute = _ONE_DIGIT_MINUTE.match(value)
    if minute:
        fixed = f"{minute.group(1)}{minute.group(2)}0"
        if not repair:
            raise InvalidTime(f"{field_name}: {text!r} has one-digit minutes",
                              errors=[FieldError(field_name, f"{text!r} has a one-digit minute; write e.g. "
                                                             f"{fixed!r} (or import with repair, which reads it so)")])
        notes.append(("repairs", {"field": field_name, "repair": "one-digit minutes read as tens",
                                  "value": text, "read_as": fixed}))
        value = fixed
    try:
        return timeutil.parse_instant(value, field_name, date_means="end_inclusive" if end else "start"), notes
    except InvalidTime as exc:
        naive = _naive(value)
        if naive is None or not resolve_local:
            if naive is not None:
                exc.errors[0].reason += " (or import with resolve_local_times to apply the documented DST rule)"
            raise
        first = naive.replace(tzinfo=timeutil.LOCAL_TZ, fold=0)
        missing = first.astimezone(dt.UTC).astimezone(timeutil.LOCAL_TZ).replace(tzinfo=None) != naive
        resolved = timeutil.resolve_wall_clock(naive)
        notes.append(("local_times", {
            "field": field_name, "value": text, "problem": "missing" if missing else "ambiguous",
            "resolved": timeutil.isoformat_local(resolved),
            "rule": "skipped hour (summer time starts): moved forward by the gap" if missing
            else "repeated hour (summer time ends): the first occurrence, summer time (+02:00)"}))
        return resolved, notes


def _naive(value: str) -> dt.datetime | None:
    """The local wall-clock time of a text without an offset (None when it has one or is not a time)."""
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is None and len(value) > 10 else None


# --- CRS ----------------------------------------------------------------------------------------------------


def source_crs(table: FeatureFile, declared: str | None) -> CRS:
    """The file's CRS: what it declares, or what the import declares (crs option); never guessed. A GeoJSON
    without a crs member is EPSG:4326 by RFC 7946, so a declared CRS wins over that default."""
    wanted = None
    if declared:
        try:
            wanted = CRS.from_user_input(declared)
        except Exception:
            raise UnsupportedCrs(f"crs: unknown CRS {declared!r}",
                                 errors=[FieldError("crs", f"unknown CRS {declared!r}; e.g. EPSG:25832")]) from None
    found = table.crs
    if found is None and wanted is None:
        raise InvalidInput(
            f"{table.file_name}: the file declares no CRS, and none was given",
            errors=[FieldError("crs", "missing: the file has no CRS (e.g. a Shapefile without its .prj); declare "
                                      "it, e.g. --crs EPSG:25832 (API: crs=EPSG:25832). It is never guessed")])
    geojson_default = table.driver == "GeoJSON" and found is not None and found.to_epsg() == WGS84_SRID
    if wanted is not None and found is not None and not geojson_default and not found.equals(wanted):
        raise InvalidInput(
            f"{table.file_name}: the file's CRS is {_crs_name(found)}, but {_crs_name(wanted)} was declared",
            errors=[FieldError("crs", f"the file declares {_crs_name(found)}; leave crs out or give the same")])
    crs = wanted or found
    assert crs is not None
    if crs.to_epsg() == WGS84_SRID and _looks_projected(table.geometries):
        raise InvalidInput(
            f"{table.file_name}: the coordinates look like metres in a projected CRS, but the file is read as "
            "EPSG:4326 (longitude, latitude)",
            errors=[FieldError("crs", "missing: a GeoJSON without a crs member is EPSG:4326; declare the CRS, "
                                      "e.g. --crs EPSG:25832 (API: crs=EPSG:25832)")])
    return crs


def _crs_name(crs: CRS) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.name


def _looks_projected(geometries: np.ndarray) -> bool:
    present = geometries[~shapely.is_missing(geometries)]
    if not len(present):
        return False
    bounds = shapely.total_bounds(present)
    return bool(np.nanmax(np.abs(bounds)) > 1000)


def to_storage(geometries: np.ndarray, crs: CRS) -> np.ndarray:
    if crs.to_epsg() == STORAGE_SRID:
        return geometries
    tr = Transformer.from_crs(crs, CRS.from_epsg(STORAGE_SRID), always_xy=True)
    return shapely.transform(geometries, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


# --- features -----------------------------------------------------------------------------------------------


def target_columns(table: FeatureFile, options: ZoneImportOptions) -> dict[str, str]:
    """target: column, from the mapping (each mapped column must exist) or the default names."""
    columns: dict[str, str] = {}
    for target, column in options.fields.items():
        found = table.column((column,))
        if found is None:
            raise InvalidInput(
                f"{table.file_name}: no column {column!r} (mapped to {target})",
                errors=[FieldError(f"fields.{target}", f"column {column!r} is not in the file; its columns are: "
                                                       + ", ".join(map(str, table.attributes.columns)))])
        columns[target] = found
    for target in TARGETS:
        if target not in columns and target not in options.set:
            found = table.column(DEFAULT_COLUMNS[target])
            if found is not None:
                columns[target] = found
    missing = [t for t in REQUIRED if t not in columns and t not in options.set]
    if missing:
        raise InvalidInput(
            f"{table.file_name}: nothing gives the zones' {', '.join(missing)}",
            errors=[FieldError(f"fields.{t}", f"map a column (--field {t}=COLUMN) or give one value for all "
                                              f"(--set {t}=VALUE); the file's columns are: "
                               + ", ".join(map(str, table.attributes.columns))) for t in missing])
    return columns


def _collector(problems: list[tuple[str, str, str | None]]) -> Any:
    def reject(field_name: str, reason: str, value: str | None = None) -> None:
        problems.append((field_name, reason, value))
    return reject


def check_features(table: FeatureFile, options: ZoneImportOptions, authorities: Authorities) -> Checked:
    columns = target_columns(table, options)
    crs = source_crs(table, options.crs)
    geometries = to_storage(table.geometries, crs)
    layers = get_layers()
    checked = Checked([], [], {"local_times": [], "repairs": [], "authorities": []}, columns)
    for feature, text in table.ring_repairs.items():
        checked.notes["repairs"].append({"feature": feature, "field": "geometry", "repair": "ring closed",
                                         "detail": text})
    seen_authorities: dict[str, dict[str, Any]] = {}
    attrs = {t: table.attributes[c].to_numpy() for t, c in columns.items()}
    for i in range(len(table.attributes)):
        number = i + 1
        values = {t: (str(attrs[t][i]).strip() if t in attrs else options.set.get(t, "")) for t in TARGETS}
        values = {t: (v or None) for t, v in values.items()}
        key = values.pop("key")
        problems: list[tuple[str, str, str | None]] = []   # field, reason, value
        reject = _collector(problems)

        for target, limit in MAX_TEXT.items():
            text = key if target == "key" else values.get(target)
            if text is not None and len(text) > limit:
                reject(target, f"longer than {limit} characters ({len(text)})", text[:80] + "…")
        if not values["name"]:
            reject("name", "missing")
        kind = values["kind"]
        if not kind:
            reject("kind", "missing")
        elif layers.kind(kind) is None:
            reject("kind", f"unknown kind; known kinds: {', '.join(sorted(layers.kinds))}", kind)
        if values["visibility"] and values["visibility"] not in VISIBILITIES:
            reject("visibility", "expected public, internal or restricted", values["visibility"])
        start = end = None
        for target in ("valid_from", "valid_to"):
            text = values[target]
            if not text:
                if target == "valid_from":
                    reject(target, "missing")
                continue
            try:
                moment, notes = parse_time(text, target, end=target == "valid_to",
                                           resolve_local=options.resolve_local_times, repair=options.repair)
            except InvalidTime as exc:
                reject(target, exc.errors[0].reason if exc.errors else exc.detail, text)
                continue
            for section, note in notes:
                checked.notes[section].append({"feature": number, **note})
            if target == "valid_from":
                start = moment
            else:
                end = moment
        if start is not None and end is not None and end <= start:
            reject("valid_to", f"the end {timeutil.isoformat_local(end)} is not after the start "
                               f"{timeutil.isoformat_local(start)}", values["valid_to"])
        politikreds = None
        if values["authority"]:
            found = authorities.resolve(values["authority"])
            if found is None:
                reject("authority", f"unknown police district; known: {authorities.known()}", values["authority"])
            else:
                politikreds = found[0]
                if "decided_by" not in columns and not options.set.get("decided_by"):
                    values["decided_by"] = found[1]
                entry = seen_authorities.setdefault(values["authority"], {
                    "authority": values["authority"], "politikreds": found[0], "name": found[1],
                    "exact": values["authority"] == found[1], "features": 0})
                entry["features"] += 1
        geometry = geometries[i]
        if geometry is None or shapely.is_empty(geometry):
            reject("geometry", "missing geometry")
        elif geometry.geom_type not in ("Polygon", "MultiPolygon"):
            reject("geometry", f"a zone boundary must be a Polygon or MultiPolygon, got {geometry.geom_type}")
        elif not np.isfinite(shapely.get_coordinates(geometry)).all():
            reject("geometry", "a coordinate is not a finite number")
        if problems:
            checked.rejected += [RejectedFeature(number, f, r, v, key=key) for f, r, v in problems]
            continue
        assert start is not None and kind is not None and values["name"] is not None
        link_by = options.link_consecutive.by if options.link_consecutive else None
        link_value = (politikreds if link_by == "authority" else values.get(link_by)) if link_by else None
        checked.records.append(ZoneRecord(number, key, values["name"], kind, start, end, geometry, values,
                                          politikreds, link_value))
    checked.notes["authorities"] = sorted(seen_authorities.values(), key=lambda a: a["authority"])
    return checked
