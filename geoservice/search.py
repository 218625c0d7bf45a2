"""Offline place search: zones, sectors, stations, reference areas, OpenStreetMap places and typed coordinates.
Nothing is sent to an outside geocoder."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from geoservice import timeutil
from geoservice.access import Principal, zone_filter
from geoservice.db import Database
from geoservice.geometry import in_denmark_bbox
from geoservice.store import reference as store

_NUMBER = r"[-+]?\d{1,3}(?:[.,]\d+)?"
_DECIMAL_PAIR = re.compile(rf"^\s*({_NUMBER})\s*[,; ]\s*({_NUMBER})\s*$")
_DMS = re.compile(
    r"(\d{1,3})\s*[°º]\s*(?:(\d{1,2}(?:[.,]\d+)?)\s*['′]\s*)?(?:(\d{1,2}(?:[.,]\d+)?)\s*[\"″]\s*)?([NSEWØV])",
    re.IGNORECASE,
)


def parse_coordinates(text: str) -> tuple[float, float] | None:
    """(lon, lat) from '55.6815, 12.5795', '12.5795 55.6815' or 55°40′53″N 12°34′46″E, when it lies in Denmark.
    The order is decided by Denmark's extent: latitudes 54–58 and longitudes 8–15 never overlap."""
    match = _DECIMAL_PAIR.match(text)
    if match:
        a, b = (float(g.replace(",", ".")) for g in match.groups())
        if in_denmark_bbox(b, a):
            return b, a
        if in_denmark_bbox(a, b):
            return a, b
        return None
    parts = _DMS.findall(text)
    if len(parts) == 2:
        values: dict[str, float] = {}
        for deg, minutes, seconds, hemi in parts:
            value = float(deg) + float((minutes or "0").replace(",", ".")) / 60 + \
                float((seconds or "0").replace(",", ".")) / 3600
            axis = "lat" if hemi.upper() in "NS" else "lon"
            values[axis] = -value if hemi.upper() in "SWV" else value
        if set(values) == {"lat", "lon"} and in_denmark_bbox(values["lon"], values["lat"]):
            return values["lon"], values["lat"]
    return None


async def search(db: Database, principal: Principal, q: str, at: dt.datetime | None, limit: int
                 ) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    coordinates = parse_coordinates(q)
    if coordinates:
        lon, lat = coordinates
        results.append({"type": "coordinates", "ref": f"{lat:.6f},{lon:.6f}", "name": f"{lat:.5f}, {lon:.5f}",
                        "detail": "Koordinater / coordinates", "lon": lon, "lat": lat, "bbox": None})
    text = q.strip().lower()
    if len(text) < 2 or coordinates:
        return results
    access = zone_filter(principal)
    params = {
        "q": text.replace("\\", "").replace("%", "").replace("_", ""),
        "t": at or timeutil.now(),
        "visibilities": list(access.visibilities),
        "restricted_kreds": access.restricted_politikreds,
        "in_force_only": access.only_in_force,
        "drafts": access.drafts,
        "limit": limit,
    }
    async with db.connection() as conn:
        rows = await store.search(conn, params)
    return results + [{**r, "bbox": list(r["bbox"]) if r["bbox"] else None} for r in rows]
