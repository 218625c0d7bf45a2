"""Reading a zone file: opened safely (one driver per suffix, content checked first), its features read with
GDAL (pyogrio) into text attributes and shapely geometries in the file's CRS.

Rings that are not closed (GeoJSON from hand-made registers often has them; GDAL reads them as they are) are
closed by repeating their first position, and every closing is reported per feature: it is a repair, not a
silent change.
"""

from __future__ import annotations

import re
import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geoservice.errors import FieldError, InvalidInput
from geoservice.overlays.importer import DBF_NAME_LIMIT, _sha256
from geoservice.safe_files import vector_source

ZONE_SUFFIXES = (".geojson", ".json", ".gpkg", ".zip", ".kml")
SUPPORTED_TEXT = "expected .geojson, .gpkg, a zipped Shapefile (.zip) or .kml"

# KML is XML: it is read only when its root element is <kml>, so no other XML driver (a VRT, GML with links)
# claims it, and never with a DOCTYPE (external entities) or a NetworkLink (GDAL would fetch the link).
_KML_ROOT = re.compile(rb"^\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*<(?:[A-Za-z_][\w.-]*:)?kml[\s>/]", re.S)
_KML_REFUSED = (b"<!DOCTYPE", b"<!ENTITY", b"NetworkLink")
# Fields GDAL's LIBKML driver adds to every placemark (display settings): never taken for a target by default
# (KML's `visibility` is a display flag, not a zone's visibility); `Name`, `description`, `begin` and `end` are.
KML_DISPLAY_FIELDS = ("altitudeMode", "tessellate", "extrude", "visibility", "drawOrder", "icon", "timestamp")


@contextmanager
def open_zone_file(path: Path, name: str) -> Iterator[tuple[str, str]]:
    """(what GDAL opens, the driver it must be) after checking that the content is the format its suffix names,
    for as long as the context lasts (a zipped Shapefile is extracted into a temporary directory). The one place
    the zone import decides what GDAL may read: the service's safe file opening (geoservice.safe_files: no
    network, no other files, zip limits) for GeoJSON, GeoPackage and zipped Shapefile, and the KML checks here."""
    suffix = Path(name).suffix.lower()
    if suffix not in ZONE_SUFFIXES:
        raise InvalidInput(f"{name}: unsupported file type {suffix or '(none)'}",
                           errors=[FieldError("file", SUPPORTED_TEXT)])
    if suffix != ".kml":
        with vector_source(path, name) as source:
            yield source
        return
    with path.open("rb") as fh:
        head = fh.read(1 << 16).lstrip(b"\xef\xbb\xbf")
        fh.seek(0)
        tail = b""
        for block in iter(lambda: fh.read(1 << 20), b""):
            window = tail + block
            for refused in _KML_REFUSED:
                if refused.lower() in window.lower():
                    what = refused.decode().strip("<!")
                    raise InvalidInput(f"{name}: KML with {what} is not accepted",
                                       errors=[FieldError("file", f"contains {what}: a KML file is read only with "
                                                                  "its own placemarks (no DTD, no network links)")])
            tail = block[-32:]
    if not _KML_ROOT.match(head):
        raise InvalidInput(f"{name}: not a KML file", errors=[FieldError("file", "the content is not KML (its root "
                                                                                 "element must be <kml>)")])
    yield str(path), "LIBKML"


@dataclass
class FeatureFile:
    """A file's features: attributes as text, geometries (shapely, the file's CRS), and the repairs made while
    reading, by feature number (1-based, in file order)."""

    file_name: str
    sha256: str
    driver: str
    crs: CRS | None
    attributes: pd.DataFrame
    geometries: np.ndarray
    ring_repairs: dict[int, str] = field(default_factory=dict)
    name_limit: int | None = None
    not_by_default: tuple[str, ...] = ()  # columns taken for a target only when mapped explicitly

    @property
    def numbers(self) -> np.ndarray:
        return np.arange(len(self.attributes)) + 1

    def column(self, wanted: tuple[str, ...]) -> str | None:
        """The column of the first of the names the file has (case-insensitive; a Shapefile's 10-byte names
        too)."""
        columns = {str(c).strip().lower(): str(c) for c in self.attributes.columns if c not in self.not_by_default}
        for name in wanted:
            for candidate in (name.lower(), name.lower().encode()[:self.name_limit or None].decode(errors="ignore")):
                if candidate in columns:
                    return columns[candidate]
        return None


def read_zone_file(path: Path, file_name: str | None = None, layer: str | None = None) -> FeatureFile:
    import pyogrio

    name = file_name or path.name
    sha = _sha256(path)
    with open_zone_file(path, name) as (target, driver):
        try:
            layers = [str(n) for n in pyogrio.list_layers(target)[:, 0]]
            if layer is None and len(layers) > 1:
                raise InvalidInput(f"{name} has {len(layers)} layers; choose one",
                                   errors=[FieldError("layer", "the file has several layers: " + ", ".join(layers))])
            with warnings.catch_warnings():  # "Non closed ring detected": closed and reported below
                warnings.simplefilter("ignore", RuntimeWarning)
                meta, _, wkb, field_data = pyogrio.raw.read(target, layer=layer, datetime_as_string=True,
                                                            force_2d=True)
        except InvalidInput:
            raise
        except Exception as exc:  # pyogrio raises DataSourceError, DataLayerError, ...
            reason = str(exc).replace(target, name).replace(str(path), name)
            raise InvalidInput(f"{name}: could not be read: {reason}",
                               errors=[FieldError("file", f"could not be read as {driver}: {reason}")]) from None
    crs = CRS.from_user_input(meta["crs"]) if meta.get("crs") else None
    attributes = pd.DataFrame({str(col): _text(values) for col, values in zip(meta["fields"], field_data,
                                                                              strict=True)})
    if wkb is None:
        wkb = np.full(len(attributes), None, dtype=object)
    geometries, ring_repairs = _geometries(wkb)
    return FeatureFile(name, sha, driver, crs, attributes, geometries, ring_repairs,
                       DBF_NAME_LIMIT if driver == "ESRI Shapefile" else None,
                       KML_DISPLAY_FIELDS if driver == "LIBKML" else ())


def _text(values: np.ndarray) -> np.ndarray:
    """A field's values as text ('' for missing), as a user would type them."""
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            out[i] = ""
        elif isinstance(value, float | np.floating) and float(value).is_integer():
            out[i] = str(int(value))
        else:
            out[i] = str(value).strip()
    return out


def _geometries(wkb: np.ndarray) -> tuple[np.ndarray, dict[int, str]]:
    geoms = shapely.from_wkb(wkb, on_invalid="ignore")
    repairs: dict[int, str] = {}
    failed = np.flatnonzero(pd.isna(geoms) & ~pd.isna(wkb))
    for i in failed:
        unclosed = unclosed_rings(bytes(wkb[i]))
        geoms[i] = shapely.from_wkb(wkb[i], on_invalid="fix")
        if unclosed and geoms[i] is not None:
            repairs[int(i) + 1] = (f"{len(unclosed)} ring(s) not closed ({', '.join(unclosed)}); closed by "
                                   "repeating the first position")
    return geoms, repairs


def unclosed_rings(wkb: bytes) -> list[str]:
    """The rings of a 2D (Multi)Polygon WKB whose last position differs from the first, named 'ring 1' or
    'part 2 ring 1' (outer ring first)."""
    found: list[str] = []

    def polygon(offset: int, part: int | None) -> int:
        order = "<" if wkb[offset] == 1 else ">"
        n_rings = struct.unpack_from(order + "I", wkb, offset + 5)[0]
        offset += 9
        for r in range(n_rings):
            n = struct.unpack_from(order + "I", wkb, offset)[0]
            offset += 4
            if n:
                first = wkb[offset:offset + 16]
                last = wkb[offset + 16 * (n - 1):offset + 16 * n]
                if first != last:
                    found.append(f"part {part} ring {r + 1}" if part else f"ring {r + 1}")
            offset += 16 * n
        return offset

    order = "<" if wkb[0] == 1 else ">"
    kind = struct.unpack_from(order + "I", wkb, 1)[0]
    if kind == 3:
        polygon(0, None)
    elif kind == 6:
        count = struct.unpack_from(order + "I", wkb, 5)[0]
        offset = 9
        for p in range(count):
            offset = polygon(offset, p + 1)
    return found
