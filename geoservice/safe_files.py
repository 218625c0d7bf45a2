"""Opening an uploaded geo file without letting it reach the network or the file system.

An uploaded file is data, never a pointer: GDAL and PROJ follow references inside files (a GeoJSON `crs` link
is fetched over HTTP and applied, a VRT reads any local path, `/vsicurl/` reads any URL), so every file goes
through here, and this module is the only place that hands a path to GDAL:

* the geo stack's network access is off in this process (set when this module is imported): PROJ's network
  (grid downloads), and every HTTP request GDAL could make (`GDAL_HTTP_PROXY` points at a closed local port,
  so even a reference this module failed to spot cannot connect anywhere; `/vsicurl/` accepts no file);
* each suffix opens with exactly one driver, after the content is checked to be that format (a VRT or a GDALG
  file renamed `.geojson` is refused before GDAL opens it);
* GDAL is only ever given the uploaded file itself (or the members extracted from an uploaded zip into a fresh
  directory under fixed names), never a path or URL taken from the upload;
* a GeoJSON `crs` member must name an EPSG CRS (`EPSG:25832`, an OGC URN or http://www.opengis.net/def/crs/...
  URI, or {"type": "EPSG", ...}); a `link` (or anything else) is refused with the reason, wherever it is;
* a zip is checked before anything is extracted: no absolute member path, no `..`, no links, no encryption,
  at most MAX_ZIP_MEMBERS members and MAX_UNCOMPRESSED_BYTES in all, no member inflating more than
  MAX_COMPRESSION_RATIO times (zip bombs); extraction counts the bytes it writes, whatever the headers claim.

The CRS of a file therefore comes only from EPSG codes or from WKT/PROJJSON inside the file (.prj,
gpkg_spatial_ref_sys). Used by the overlay importer; meant for any other import of files (zones).
"""

from __future__ import annotations

import json
import mmap
import os
import re
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

import pyogrio
import pyproj.network

from geoservice.errors import FieldError, InvalidInput

# --- the process: no network for GDAL or PROJ ----------------------------------------------------------------

GDAL_OPTIONS = {
    # Every HTTP(S)/FTP request of GDAL's HTTP client goes through this proxy; port 0 refuses at once, locally.
    "GDAL_HTTP_PROXY": "http://127.0.0.1:0",
    "GDAL_HTTPS_PROXY": "http://127.0.0.1:0",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_HTTP_CONNECTTIMEOUT": "1",
    "GDAL_HTTP_TIMEOUT": "1",
    # /vsicurl/ and the cloud file systems built on it open only files with this (impossible) extension.
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".geoservice-no-network",
    "PROJ_NETWORK": "OFF",
    # A GeoPackage's views and triggers may not call GDAL's SQL functions (which open other files).
    "ALLOW_OGR_SQL_FUNCTIONS_FROM_TRIGGER_AND_VIEW": "NO",
    "ALLOW_VIRTUAL_OGR_FROM_TRIGGER_AND_VIEW": "NO",
    "GDAL_ALLOW_REMOTE_RESOURCE_TO_ACCESS_LOCAL_FILE": "NO",
    # Do not list the directory around the file (it holds only the upload anyway).
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
}


def disable_network() -> None:
    os.environ["PROJ_NETWORK"] = "OFF"  # PROJ contexts created later (GDAL's own) read it
    pyproj.network.set_network_enabled(False)
    pyogrio.set_gdal_config_options(GDAL_OPTIONS)


disable_network()

# --- formats -------------------------------------------------------------------------------------------------

SUFFIX_DRIVERS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG", ".zip": "ESRI Shapefile"}
DRIVER_PREFIX = {"GeoJSON": "GeoJSON:", "GPKG": "GPKG:"}
SQLITE_MAGIC = b"SQLite format 3\x00"
SHP_MAGIC = b"\x00\x00\x27\x0a"  # file code 9994, big-endian
GEO_TEXT = "expected .csv, .geojson, .gpkg or a zipped Shapefile (.zip)"

MAX_ZIP_MEMBERS = 64
MAX_UNCOMPRESSED_BYTES = 2_000_000_000
MAX_COMPRESSION_RATIO = 200  # a .dbf of repeated values compresses about 20-50 times; bombs by thousands
RATIO_CHECKED_ABOVE_BYTES = 1_000_000
# The parts of a Shapefile taken from a zip (everything else in it is ignored).
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")

# A `crs` member's key, however the JSON writes it (GDAL matches member names case-insensitively and json-c
# reads \u escapes and single-quoted strings): "crs", "CRS", "\u0063rs", 'crs' ...
_CRS_KEY = re.compile(rb"""["'](?:c|\\u00[46]3)(?:r|\\u00[57]2)(?:s|\\u00[57]3)["']""", re.I)
_EPSG_NAME = re.compile(r"^(?:EPSG:(\d+)|urn:ogc:def:crs:EPSG:[\d.]*:(\d+)|https?://www\.opengis\.net/def/crs/EPSG/0/"
                        r"(\d+)|urn:ogc:def:crs:OGC:1\.3:CRS84|https?://www\.opengis\.net/def/crs/OGC/1\.3/CRS84"
                        r"|OGC:CRS84|CRS84)$", re.I)
MAX_CRS_MEMBER_CHARS = 10_000


def refused(name: str, reason: str, field: str = "file") -> InvalidInput:
    return InvalidInput(f"{name}: {reason}", errors=[FieldError(field, reason)])


@contextmanager
def vector_source(path: Path, name: str) -> Iterator[tuple[str, str]]:
    """(what to give GDAL, the driver it must use) for an uploaded geo file, after checking that the content is
    of the format its suffix names and references nothing outside itself. A zip is extracted into a temporary
    directory that lives as long as the context."""
    suffix = Path(name).suffix.lower()
    driver = SUFFIX_DRIVERS.get(suffix)
    if driver is None:
        raise refused(name, f"unsupported file type {suffix or '(none)'}; {GEO_TEXT}")
    local = _local_file(path, name)
    if driver == "GeoJSON":
        if not _head(local, 64).lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
            raise _not_format(name, "GeoJSON")
        check_geojson_crs(local, name)
        yield DRIVER_PREFIX[driver] + str(local), driver
    elif driver == "GPKG":
        if _head(local, 16) != SQLITE_MAGIC:
            raise _not_format(name, "GeoPackage")
        if ":" in str(local):
            # GDAL reads "GPKG:file:table"; a colon in the file's own path would be taken for the table.
            raise refused(name, "the path contains a colon; rename or move the file")
        yield DRIVER_PREFIX[driver] + str(local), driver
    else:
        with tempfile.TemporaryDirectory(prefix="geoservice-zip-") as tmp:
            yield str(extract_shapefile(local, name, Path(tmp))), driver


def read_vector(path: Path, name: str, layer: str | None = None, **read_options: Any) -> tuple[Any, str]:
    """The file as a GeoDataFrame (pyogrio), and the driver that read it."""
    with vector_source(path, name) as (target, driver):
        try:
            frame = pyogrio.read_dataframe(target, layer=layer, **read_options)
        except Exception as exc:  # pyogrio raises DataSourceError, DataLayerError, ...
            # GDAL's message names the path it was given (a temporary file): name the upload instead.
            reason = str(exc).replace(target, name).replace(str(path), name)
            raise refused(name, f"could not be read as {driver}: {reason}") from None
    return frame, driver


def _local_file(path: Path, name: str) -> Path:
    """The upload as a plain local file: GDAL gets no /vsi... prefix, URL or device from here."""
    text = str(path)
    if text.startswith("/vsi") or "://" in text or not path.is_file():
        raise refused(name, "not a local file")
    return path.resolve()


def _head(path: Path, n: int) -> bytes:
    with path.open("rb") as fh:
        return fh.read(n)


def _not_format(name: str, what: str) -> InvalidInput:
    return InvalidInput(f"{name}: not a {what} file",
                        errors=[FieldError("file", f"the content is not {what}; {GEO_TEXT}")])


# --- GeoJSON -------------------------------------------------------------------------------------------------


def check_geojson_crs(path: Path, name: str) -> None:
    """Refuse a GeoJSON whose `crs` members (anywhere: the collection, a feature, a geometry) are not plain EPSG
    names. The file is scanned, not parsed: only each member's value is decoded."""
    if path.stat().st_size == 0:
        return
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        for match in _CRS_KEY.finditer(data):  # type: ignore[arg-type]
            rest = data[match.end():match.end() + MAX_CRS_MEMBER_CHARS]
            after = rest.lstrip()
            if after[:1] != b":":
                if after[:1] == b"/":  # a comment between key and value: nothing a GeoJSON writer makes
                    raise refused(name, "a crs member could not be checked", "crs")
                continue  # the text "crs" as a value, not a key
            _check_crs_value(_decode_member(after[1:], name), name)


def _decode_member(raw: bytes, name: str) -> Any:
    try:
        text = raw.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        text = raw[:-4].decode("utf-8", errors="ignore")  # the window may cut a character; the member is shorter
    try:
        value, _ = json.JSONDecoder().raw_decode(text.lstrip())
    except ValueError:
        raise refused(name, f"a crs member is not plain JSON or longer than {MAX_CRS_MEMBER_CHARS:,} characters",
                      "crs") from None
    return value


def _check_crs_value(value: Any, name: str) -> None:
    if not isinstance(value, dict):
        return  # GDAL reads only an object as a CRS (a property called crs holds a string or a number)
    kind = str(value.get("type", "")).lower()
    props = value.get("properties")
    if kind in ("link", "url"):
        raise refused(name, "a crs link is not accepted: the service never fetches a CRS named by a file; declare "
                            "the CRS by EPSG code, e.g. {\"type\": \"name\", \"properties\": {\"name\": "
                            "\"urn:ogc:def:crs:EPSG::25832\"}}", "crs")
    if kind == "name" and isinstance(props, dict) and isinstance(props.get("name"), str) \
            and _EPSG_NAME.match(props["name"].strip()):
        return
    if kind == "epsg" and isinstance(props, dict) and isinstance(props.get("code"), int):
        return
    raise refused(name, "the crs member must name an EPSG CRS, e.g. {\"type\": \"name\", \"properties\": {\"name\": "
                        "\"urn:ogc:def:crs:EPSG::25832\"}}; RFC 7946 GeoJSON has none (EPSG:4326)", "crs")


# --- zipped Shapefiles ---------------------------------------------------------------------------------------


def extract_shapefile(path: Path, name: str, into: Path) -> Path:
    """Check the zip, then extract one Shapefile's parts into `into` under fixed names (upload.shp, ...); the
    path of the .shp. Member names are checked, never used as paths."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise _not_format(name, "zip") from None
    with archive:
        members = archive.infolist()
        check_zip_members(members, name)
        shapefiles = [m for m in members if m.filename.lower().endswith(".shp") and not _ignored(m.filename)]
        if not shapefiles:
            raise refused(name, "the zip holds no .shp file; a zipped Shapefile must contain a .shp with its .dbf, "
                                ".shx and .prj")
        stem = shapefiles[0].filename[:-4].lower()
        budget = MAX_UNCOMPRESSED_BYTES
        for member in members:
            base, dot, ext = member.filename.rpartition(".")
            if base.lower() != stem or not dot or f".{ext.lower()}" not in SHAPEFILE_PARTS:
                continue
            budget -= _extract(archive, member, into / f"upload.{ext.lower()}", budget, name)
    target = into / "upload.shp"
    if _head(target, 4) != SHP_MAGIC:
        raise _not_format(name, "Shapefile (.shp)")
    return target


def check_zip_members(members: list[zipfile.ZipInfo], name: str) -> None:
    if len(members) > MAX_ZIP_MEMBERS:
        raise refused(name, f"the zip holds {len(members)} entries; at most {MAX_ZIP_MEMBERS} are accepted")
    total = 0
    for member in members:
        member_name = member.filename
        parts = PurePosixPath(member_name.replace("\\", "/")).parts
        if (member_name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", member_name) or ".." in parts
                or "\\" in member_name or any(ord(c) < 32 or ord(c) == 127 for c in member_name)):
            raise refused(name, f"the zip member {member_name!r} has an absolute path, '..' or a control character")
        if stat.S_ISLNK(member.external_attr >> 16):
            raise refused(name, f"the zip member {member_name!r} is a symbolic link")
        if member.flag_bits & 0x1:
            raise refused(name, f"the zip member {member_name!r} is encrypted")
        total += member.file_size
        if member.file_size > RATIO_CHECKED_ABOVE_BYTES and \
                member.file_size > MAX_COMPRESSION_RATIO * max(member.compress_size, 1):
            raise refused(name, f"the zip member {member_name!r} inflates {member.file_size:,} bytes from "
                                f"{member.compress_size:,} (more than {MAX_COMPRESSION_RATIO} times)")
    if total > MAX_UNCOMPRESSED_BYTES:
        raise refused(name, f"the zip inflates to {total:,} bytes; at most {MAX_UNCOMPRESSED_BYTES:,} are accepted")


def _ignored(member_name: str) -> bool:
    """macOS resource forks that Finder adds to zips."""
    return member_name.startswith("__MACOSX/") or PurePosixPath(member_name).name.startswith("._")


def _extract(archive: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path, budget: int, name: str) -> int:
    """Copy one member to `target`, at most `budget` bytes whatever its header says; the bytes written."""
    written = 0
    try:
        with archive.open(member) as source, target.open("wb") as out:
            while chunk := source.read(1 << 20):
                written += len(chunk)
                if written > budget:
                    raise refused(name, f"the zip inflates to more than {MAX_UNCOMPRESSED_BYTES:,} bytes")
                out.write(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
        raise refused(name, f"the zip member {member.filename!r} cannot be extracted: {exc}") from None
    return written
