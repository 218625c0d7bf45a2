"""Links shared by the feeds: the public map permalink of a zone, its GeoJSON, tag: URIs (RFC 4151)."""

from __future__ import annotations

import datetime as dt
import math
from urllib.parse import quote, urlencode

from geoservice import timeutil


def map_time(moment: dt.datetime) -> str:
    """A moment as the public map's `t` takes it: local wall-clock minutes and the offset
    ("2025-09-01T16:00+02:00"). Seconds are rounded up to the next minute, so the map shows the moment itself
    and not the minute before it (an amendment taking effect at 12:03:27 is on the map at 12:04)."""
    local = timeutil.to_local(moment)
    if local.second or local.microsecond:
        local = timeutil.to_local(moment + dt.timedelta(minutes=1)).replace(second=0, microsecond=0)
    offset = local.isoformat()[-6:]
    return f"{local:%Y-%m-%dT%H:%M}{offset}"


def map_zoom(bounds: tuple[float, float, float, float], lat: float) -> int:
    """A zoom level at which the bounds fit a map about 600 pixels across (Web Mercator, 256-pixel tiles)."""
    xmin, ymin, xmax, ymax = bounds
    span = max(xmax - xmin, (ymax - ymin) / max(math.cos(math.radians(lat)), 0.1), 1e-6)
    return max(8, min(17, math.floor(math.log2(600 * 360 / 256 / span))))


def map_permalink(base_url: str, *, lon: float, lat: float, zoom: int, at: dt.datetime | None) -> str:
    """The public map at the zone, in the fragment format web/public/js/public-map.js reads (z, c, t)."""
    fragment = f"z={zoom}&c={lat:.5f},{lon:.5f}"
    if at is not None:
        fragment += "&t=" + quote(map_time(at), safe=":")
    return f"{base_url}/#{fragment}"


def zone_geojson(base_url: str, zone_id: int, at: dt.datetime | None) -> str:
    href = f"{base_url}/api/v1/zones/{zone_id}"
    if at is None:
        return href
    return href + "?" + urlencode({"at": timeutil.isoformat_local(at)})


def tag_uri(authority: str, specific: str) -> str:
    """tag:AUTHORITY,DATE:SPECIFIC (RFC 4151); stable as long as the configured authority is."""
    return f"tag:{authority}:{specific}"
