"""The standard query parameters of OGC API – Features: datetime, bbox with bbox-crs, crs, f."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from geoservice import timeutil
from geoservice.errors import BadRequest, FieldError
from geoservice.geometry import STORAGE_SRID

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"

# The CRSs a client may ask for. EPSG:4326 is latitude before longitude (its axis order, OGC API Part 2);
# internally that is SRID -4326, which store/zones.py writes with the axes flipped.
SUPPORTED_CRS: dict[str, int] = {
    CRS84: 4326,
    EPSG + "4326": -4326,
    EPSG + "25832": 25832,
    EPSG + "25833": 25833,
}
STORAGE_CRS = EPSG + str(STORAGE_SRID)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_OPEN = ("", "..")


def crs_uri(srid: int) -> str:
    return next(uri for uri, s in SUPPORTED_CRS.items() if s == srid)


def parse_crs(value: str | None, name: str = "crs") -> int:
    """A supported CRS URI (also `EPSG:25832` and `[EPSG:25832]` as a convenience) → its internal SRID."""
    if value is None or value == "":
        return 4326
    text = value.strip().strip("<>[]").strip()
    short = re.fullmatch(r"(?i)EPSG:(\d+)", text)
    if short:
        text = EPSG + short.group(1)
    if text.upper() in ("OGC:CRS84", "CRS84"):
        text = CRS84
    if text not in SUPPORTED_CRS:
        raise BadRequest(f"{name}: unsupported CRS {value!r}",
                         errors=[FieldError(name, "supported: " + ", ".join(SUPPORTED_CRS))])
    return SUPPORTED_CRS[text]


@dataclass(frozen=True)
class Datetime:
    """An instant, or an interval whose open ends are None."""

    instant: dt.datetime | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None

    @property
    def is_instant(self) -> bool:
        return self.instant is not None


def _moment(text: str, name: str, *, end: bool) -> dt.datetime:
    # A date alone as an end means the whole day (til og med); the interval is closed, so stop just before
    # the next local midnight.
    if _DATE.match(text) and end:
        return timeutil.parse_instant(text, name, date_means="end_inclusive") - dt.timedelta(microseconds=1)
    return timeutil.parse_instant(text.replace(" ", "+"), name)


def parse_datetime(value: str | None, name: str = "datetime") -> Datetime | None:
    """RFC 3339 instant or interval (`a/b`, `../b`, `a/..`, `/b`, `a/`), matched against the validity period.
    A date alone is the whole local day. A time without an offset is Copenhagen local time."""
    if value is None or value.strip() == "":
        return None
    text = value.strip()
    if "/" not in text:
        if _DATE.match(text):
            return Datetime(start=_moment(text, name, end=False), end=_moment(text, name, end=True))
        return Datetime(instant=_moment(text, name, end=False))
    left, _, right = text.partition("/")
    if left in _OPEN and right in _OPEN:
        raise BadRequest(f"{name}: an interval needs at least one end",
                         errors=[FieldError(name, "both ends are open; give a start, an end or both")])
    start = None if left in _OPEN else _moment(left, name, end=False)
    stop = None if right in _OPEN else _moment(right, name, end=True)
    if start and stop and start > stop:
        raise BadRequest(f"{name}: the interval ends before it starts",
                         errors=[FieldError(name, "start must not be after end")])
    return Datetime(start=start, end=stop)


def parse_bbox(value: str | None, crs: str | None) -> tuple[tuple[float, float, float, float], int] | None:
    """bbox (4 numbers; 6 with heights, which are ignored) in bbox-crs (default CRS84) → (lon/lat or x/y box,
    SRID). EPSG:4326 boxes come latitude first and are turned round here."""
    if value is None or value == "":
        if crs:
            raise BadRequest("bbox-crs without bbox", errors=[FieldError("bbox-crs", "given without bbox")])
        return None
    try:
        nums = [float(p) for p in value.split(",")]
    except ValueError:
        nums = []
    if len(nums) == 6:
        nums = [nums[0], nums[1], nums[3], nums[4]]
    if len(nums) != 4:
        raise BadRequest("bbox must be four numbers", errors=[FieldError("bbox", "expected minx,miny,maxx,maxy")])
    srid = parse_crs(crs, "bbox-crs")
    if srid == -4326:
        nums = [nums[1], nums[0], nums[3], nums[2]]
        srid = 4326
    x0, y0, x1, y1 = nums
    if srid == 4326 and not (-180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= 90 and -90 <= y1 <= 90):
        raise BadRequest("bbox is not in longitude/latitude",
                         errors=[FieldError("bbox", "outside -180..180, -90..90; give bbox-crs for metres")])
    if y0 > y1 or (x0 > x1 and srid != 4326):
        raise BadRequest("bbox corners are in the wrong order",
                         errors=[FieldError("bbox", "expected the lower corner first")])
    if x0 > x1:
        raise BadRequest("bbox crosses the antimeridian",
                         errors=[FieldError("bbox", "boxes across 180° are not supported (Denmark is far from it)")])
    return (x0, y0, x1, y1), srid


def parse_datetimes(values: list[str] | None, name: str = "datetime") -> Datetime | None:
    """Several datetime parameters mean their intersection (GDAL sends `../T` and `T/..` for a filter on the
    validity start and end, which together are the instant T)."""
    parsed = [d for d in (parse_datetime(v, name) for v in values or []) if d is not None]
    if len(parsed) <= 1:
        return parsed[0] if parsed else None
    starts = [d.instant or d.start for d in parsed if (d.instant or d.start) is not None]
    ends = [d.instant or d.end for d in parsed if (d.instant or d.end) is not None]
    start, end = (max(starts) if starts else None), (min(ends) if ends else None)
    if start is not None and end is not None and start > end:
        raise BadRequest(f"{name}: the values do not overlap",
                         errors=[FieldError(name, "the intervals given have no moment in common")])
    if start is not None and start == end:
        return Datetime(instant=start)
    return Datetime(start=start, end=end)
