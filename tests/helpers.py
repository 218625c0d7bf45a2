"""Builders for test input: real coordinates in Denmark, GeoJSON as clients send it."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from pyproj import Transformer

TO_UTM = Transformer.from_crs(4326, 25832, always_xy=True)
TO_WGS = Transformer.from_crs(25832, 4326, always_xy=True)

# Places used across the tests.
GOTHERSGADE = (12.5795, 55.6815)        # inside the demo nightlife zone Gothersgade
AALBORG_MIDTBY = (9.9200, 57.0480)      # inside the demo visitation zone Aalborg Midtby
SYDHAVNEN_INTERNAL = (12.5400, 55.6480)  # inside the internal-only demo zone
EXCLUSION_CENTRE = (12.5650, 55.6620)    # inside the restricted § 6 g demo circle
AMAGER_FAELLED = (12.5830, 55.6570)     # Copenhagen, no demo zone here


def square(lon: float, lat: float, size_m: float = 200.0) -> dict[str, Any]:
    """A square Polygon of about size_m metres around a point, in EPSG:4326."""
    x, y = TO_UTM.transform(lon, lat)
    h = size_m / 2
    ring = [TO_WGS.transform(x + dx, y + dy) for dx, dy in ((-h, -h), (h, -h), (h, h), (-h, h), (-h, -h))]
    return {"type": "Polygon", "coordinates": [[[round(a, 7), round(b, 7)] for a, b in ring]]}


def square_utm(lon: float, lat: float, size_m: float = 200.0) -> dict[str, Any]:
    x, y = TO_UTM.transform(lon, lat)
    h = size_m / 2
    ring = [(x - h, y - h), (x + h, y - h), (x + h, y + h), (x - h, y + h), (x - h, y - h)]
    return {"type": "Polygon", "coordinates": [[[round(a, 3), round(b, 3)] for a, b in ring]]}


def bowtie(lon: float, lat: float, size_m: float = 200.0) -> dict[str, Any]:
    """A self-intersecting 'figure eight' polygon; it crosses itself at (lon, lat)."""
    x, y = TO_UTM.transform(lon, lat)
    h = size_m / 2
    ring = [TO_WGS.transform(x + dx, y + dy) for dx, dy in ((-h, -h), (h, h), (h, -h), (-h, h), (-h, -h))]
    return {"type": "Polygon", "coordinates": [[[a, b] for a, b in ring]]}


def offset(lon: float, lat: float, dx_m: float, dy_m: float) -> tuple[float, float]:
    x, y = TO_UTM.transform(lon, lat)
    return TO_WGS.transform(x + dx_m, y + dy_m)


def zone_feature(geometry: dict[str, Any] | None = None, **props: Any) -> dict[str, Any]:
    properties = {
        "kind": "nattelivszone",
        "name": "Testzone",
        "valid_from": "2026-01-01T00:00:00+01:00",
        "valid_to": "2027-01-01T00:00:00+01:00",
        "decision_ref": "TEST-001",
        "decided_by": "Testpolitiet",
        "publish": True,
    }
    properties.update(props)
    if properties.get("publish") and "override_reason" not in props and _in_the_past(properties["valid_from"]):
        # A zone published with a start in the past records a decision made then (no_retroactive_effect): only an
        # admin may, with a reason. Tests that build history say so; tests of the rule pass override_reason=None.
        properties["override_reason"] = PAPER_DECISION
    properties = {k: v for k, v in properties.items() if v is not None or k not in ("override_reason",)}
    return {"type": "Feature", "geometry": geometry or square(*AMAGER_FAELLED), "properties": properties}


PAPER_DECISION = "Testdata: afgørelse truffet dengang, indført efterfølgende"


def _in_the_past(valid_from: str) -> bool:
    from geoservice import timeutil

    try:
        return timeutil.parse_instant(valid_from, "valid_from") < timeutil.now() - dt.timedelta(minutes=5)
    except Exception:  # a test of bad input: let the service say what is wrong
        return False


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    ax, ay = TO_UTM.transform(*a)
    bx, by = TO_UTM.transform(*b)
    return math.hypot(ax - bx, ay - by)
