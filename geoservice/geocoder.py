"""Street and address search through a configured upstream geocoder, proxied and cached like the tiles.

The upstream is a Dataforsyningen-style search API (gsearch): `GET {url}/{resource}?q=…&limit=…&token=…` answers a
JSON list whose items have a display text `visningstekst` and a GeoJSON geometry `geometri` (EPSG:25832, or
EPSG:4326 when asked with `srid=4326`; both are understood). Streets (`navngivenvej`) and addresses (`adresse`)
are asked for. Answers are kept on disk (`GEOSERVICE_GEOCODER_CACHE_DAYS`), so the same search twice asks the
upstream once; when the upstream fails, the search falls back to the offline index and says so.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

import httpx
import shapely
from shapely.geometry import shape

from geoservice.geometry import in_denmark_bbox, reproject
from geoservice.settings import Settings
from geoservice.upstream import DiskCache, client

log = logging.getLogger("geoservice.geocoder")

# resource -> (type, Danish detail, English detail), in the order the results are listed
RESOURCES: dict[str, tuple[str, str, str]] = {
    "navngivenvej": ("street", "Vej", "Street"),
    "adresse": ("address", "Adresse", "Address"),
}
MAX_ANSWER_BYTES = 1_000_000


@dataclass
class GeocoderAnswer:
    results: list[dict[str, Any]]
    status: str  # "ok", or "unavailable" when the upstream failed and nothing was cached


class Geocoder:
    def __init__(self, settings: Settings) -> None:
        if not settings.geocoder_url:
            raise ValueError("no geocoder configured")
        self.base = settings.geocoder_url.rstrip("/")
        self.token = settings.geocoder_token
        self.cache = DiskCache(settings.geocoder_cache_dir, settings.geocoder_cache_days * 86400)
        self.http = client(settings.upstream_timeout_s, settings.upstream_user_agent)

    async def close(self) -> None:
        await self.http.aclose()

    async def search(self, q: str, limit: int) -> GeocoderAnswer:
        answers = await asyncio.gather(*(self._resource(resource, q, limit) for resource in RESOURCES))
        results: list[dict[str, Any]] = []
        failed = False
        for resource, items in zip(RESOURCES, answers, strict=True):
            if items is None:
                failed = True
                continue
            results.extend(_result(resource, item) for item in items)
        found = [r for r in results if r is not None]
        return GeocoderAnswer(found[:limit], "unavailable" if failed and not found else "ok")

    async def _resource(self, resource: str, q: str, limit: int) -> list[dict[str, Any]] | None:
        key = f"{self.base}|{resource}|{q.strip().lower()}|{limit}"
        cached = self.cache.get(key)
        if cached and cached.fresh:
            return json.loads(cached.content)
        params: dict[str, str | int] = {"q": q, "limit": limit, "srid": 4326}
        if self.token:
            params["token"] = self.token
        try:
            response = await self.http.get(f"{self.base}/{resource}", params=params)
            if response.status_code != 200 or len(response.content) > MAX_ANSWER_BYTES:
                raise ValueError(f"answered {response.status_code}")
            items = response.json()
            if not isinstance(items, list):
                raise ValueError("not a list")
        except (httpx.HTTPError, ValueError) as error:
            log.warning("geocoder %s %r failed: %s", resource, q, error)
            return json.loads(cached.content) if cached else None
        self.cache.put(key, json.dumps(items).encode(), "application/json")
        return items


def _result(resource: str, item: Any) -> dict[str, Any] | None:
    """One upstream item as a search result of ours (EPSG:4326, a point and, for a street, its extent)."""
    if not isinstance(item, dict) or not item.get("visningstekst") or not isinstance(item.get("geometri"), dict):
        return None
    try:
        geom = shape(item["geometri"])
    except (ValueError, TypeError, AttributeError, KeyError):
        return None
    if geom.is_empty:
        return None
    x0, y0, _, _ = geom.bounds
    if not in_denmark_bbox(x0, y0):  # metres: EPSG:25832, the register's own
        geom = reproject(geom, 25832, 4326)
    point = geom.representative_point() if geom.geom_type != "MultiLineString" else shapely.line_interpolate_point(
        max(geom.geoms, key=lambda g: g.length), 0.5, normalized=True)
    if not in_denmark_bbox(point.x, point.y):
        return None
    kind, detail, detail_en = RESOURCES[resource]
    lon0, lat0, lon1, lat1 = geom.bounds
    bbox = [lon0, lat0, lon1, lat1] if kind == "street" and (lon1 - lon0 > 1e-5 or lat1 - lat0 > 1e-5) else None
    return {"type": kind, "ref": str(item.get("id", "")), "name": str(item["visningstekst"]), "detail": detail,
            "detail_en": detail_en, "lon": round(point.x, 6), "lat": round(point.y, 6),
            "bbox": [round(v, 6) for v in bbox] if bbox else None}
