"""Does the public map at 10,000 zones need vector tiles? GeoJSON by viewport (what the map asks today: the
zones in force in the padded view, simplified for the zoom, every `next` page) against Mapbox Vector Tiles for
the same view from tipg (`ST_AsMVT`, OGC API - Tiles, the peer tool's tile endpoint on the same rows), and the
map itself in Chromium at each view: the time from opening the page to every zone drawn.

Run as part of `./dev bench ogc` (it needs that benchmark's 10,000-zone database and tipg); the figures land in
bench/results/ogc.json under "map".
"""

from __future__ import annotations

import gzip
import http.client
import math
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode, urlparse

# (name, zoom, centre lat, centre lon): the map at 1280 x 860 px, as a desktop browser opens it
VIEWS = [("denmark_z7", 7, 56.0, 11.0), ("funen_z10", 10, 55.35, 10.35), ("odense_z13", 13, 55.396, 10.388)]
WIDTH, HEIGHT = 1280, 860
PAD = 0.5  # the map asks for the view padded by half a screen each way (public-map.js)
REPEAT = 5
BROWSER_PARALLEL = 6  # what a browser opens to one host over HTTP/1.1
MAX_FEATURES = 10_000
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _lonlat_to_pixel(lon: float, lat: float, zoom: int) -> tuple[float, float]:
    scale = 256 * 2 ** zoom
    x = (lon + 180) / 360 * scale
    y = (1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * scale
    return x, y


def _pixel_to_lonlat(x: float, y: float, zoom: int) -> tuple[float, float]:
    scale = 256 * 2 ** zoom
    lon = x / scale * 360 - 180
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / scale))))
    return lon, lat


def padded_view(zoom: int, lat: float, lon: float) -> tuple[float, float, float, float, tuple[float, ...]]:
    """The padded view in pixels at the zoom (x0, y0, x1, y1) and as a lon/lat bbox."""
    cx, cy = _lonlat_to_pixel(lon, lat, zoom)
    half_w, half_h = WIDTH * (0.5 + PAD), HEIGHT * (0.5 + PAD)
    x0, y0, x1, y1 = cx - half_w, cy - half_h, cx + half_w, cy + half_h
    west, north = _pixel_to_lonlat(x0, y0, zoom)
    east, south = _pixel_to_lonlat(x1, y1, zoom)
    return x0, y0, x1, y1, (west, south, east, north)


def tiles_for(zoom: int, lat: float, lon: float) -> list[tuple[int, int, int]]:
    x0, y0, x1, y1, _ = padded_view(zoom, lat, lon)
    return [(zoom, x, y) for x in range(int(x0 // 256), int(x1 // 256) + 1)
            for y in range(int(y0 // 256), int(y1 // 256) + 1)]


def simplify_for_zoom(zoom: int, lat: float) -> float:
    """GS.simplifyForZoom in web/public/js/common.js."""
    metres_per_pixel = 156543.03 * math.cos(math.radians(lat)) / 2 ** zoom
    return min(200, max(0.5, round(metres_per_pixel * 5) / 10))


def _fetch(base: str, path: str) -> tuple[int, bytes, int]:
    """(status, decoded body, bytes on the wire) with gzip asked for, as a browser does."""
    url = urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    try:
        conn.request("GET", path, headers={"Accept-Encoding": "gzip"})
        response = conn.getresponse()
        raw = response.read()
        body = gzip.decompress(raw) if response.getheader("Content-Encoding") == "gzip" else raw
        return response.status, body, len(raw)
    finally:
        conn.close()


def geojson_by_view(base: str, zoom: int, lat: float, lon: float, at: str) -> dict:
    import json

    *_, bbox = padded_view(zoom, lat, lon)
    params = {"limit": 1000, "simplify": simplify_for_zoom(zoom, lat), "at": at,
              "bbox": ",".join(f"{v:.5f}" for v in bbox)}
    path = "/api/v1/zones?" + urlencode(params)
    start = time.perf_counter()
    features = wire = pages = 0
    while path and features < MAX_FEATURES:
        status, body, size = _fetch(base, path)
        assert status == 200, (status, body[:300])
        page = json.loads(body)
        features += len(page["features"])
        wire += size
        pages += 1
        following = [link["href"] for link in page.get("links", []) if link["rel"] == "next"]
        path = (lambda u: f"{u.path}?{u.query}")(urlparse(following[0])) if following else None
    return {"s": time.perf_counter() - start, "features": features, "bytes": wire, "requests": pages}


def tipg_tiles(tipg_base: str, collection: str, zoom: int, lat: float, lon: float) -> dict:
    tiles = tiles_for(zoom, lat, lon)

    def one(tile: tuple[int, int, int]) -> tuple[int, int]:
        z, x, y = tile
        status, body, size = _fetch(tipg_base, f"/collections/{collection}/tiles/WebMercatorQuad/{z}/{x}/{y}")
        assert status in (200, 204), (status, body[:300])
        # tipg does not compress tiles; a tile server behind nginx would: count them gzipped
        return size, len(gzip.compress(body)) if body else 0

    start = time.perf_counter()
    with ThreadPoolExecutor(BROWSER_PARALLEL) as pool:
        sizes = list(pool.map(one, tiles))
    return {"s": time.perf_counter() - start, "requests": len(tiles), "bytes": sum(s for s, _ in sizes),
            "bytes_gzip": sum(g for _, g in sizes)}


def _median(runs: list[dict]) -> dict:
    out = {k: statistics.median(r[k] for r in runs) for k in runs[0] if k != "s"}
    return {"ms": round(statistics.median(r["s"] for r in runs) * 1000, 1), **out}


def map_in_chromium(base: str, zoom: int, lat: float, lon: float, at: str) -> dict:
    """The public map opened at the view: the time until every zone of the view is drawn (data-ready), cold."""
    from playwright.sync_api import sync_playwright

    times, drawn = [], 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for i in range(REPEAT + 1):  # the first load warms the server; not counted
            context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
            page = context.new_page()
            start = time.perf_counter()
            page.goto(f"{base}/#z={zoom}&c={lat:.5f},{lon:.5f}&t={at[:16]}")
            page.wait_for_selector("body[data-ready=true]", timeout=120_000)
            elapsed = time.perf_counter() - start
            if i:
                times.append(elapsed)
            drawn = page.evaluate("document.querySelectorAll('path.leaflet-interactive').length")
            context.close()
        browser.close()
    return {"ms": round(statistics.median(times) * 1000, 1), "max_ms": round(max(times) * 1000, 1),
            "paths_drawn": drawn}


def _seconds_later(at: str, seconds: int) -> str:
    import datetime as dt

    return (dt.datetime.fromisoformat(at) + dt.timedelta(seconds=seconds)).isoformat()


def measure(base: str, tipg_base: str, tipg_collection: str, at: str) -> dict:
    """Our answers cold (a moment one second apart each time: the same zones, never answered before) and warm
    (the same question again: the public answer cache); tipg has no cache, so every tile is computed."""
    out = {}
    for n, (name, zoom, lat, lon) in enumerate(VIEWS):
        cold = [geojson_by_view(base, zoom, lat, lon, _seconds_later(at, 100 * n + i)) for i in range(REPEAT)]
        geojson = [geojson_by_view(base, zoom, lat, lon, at) for _ in range(REPEAT + 1)][1:]
        tiles = [tipg_tiles(tipg_base, tipg_collection, zoom, lat, lon) for _ in range(REPEAT + 1)][1:]
        out[name] = {
            "geojson_by_view_cold": _median(cold),
            "geojson_by_view": _median(geojson),
            "tipg_mvt_tiles": _median(tiles),
            "public_map_in_chromium": map_in_chromium(base, zoom, lat, lon, at),
        }
    return out


def report(result: dict) -> list[str]:
    lines = ["  the public map at 10,000 zones: GeoJSON by view (ours) vs MVT tiles (tipg), medians"]
    for name, r in result.items():
        g, t, c = r["geojson_by_view"], r["tipg_mvt_tiles"], r["public_map_in_chromium"]
        lines.append(f"    {name:11s} GeoJSON cold {r['geojson_by_view_cold']['ms']:7.1f} ms, warm {g['ms']:7.1f} ms, "
                     f"{g['features']:>6,} features, "
                     f"{g['requests']} requests, "
                     f"{g['bytes'] / 1024:7.0f} KB | MVT {t['ms']:7.1f} ms, {t['requests']} tiles, "
                     f"{t['bytes_gzip'] / 1024:7.0f} KB gzipped | map drawn in Chromium {c['ms']:.0f} ms "
                     f"({c['paths_drawn']} paths)")
    return lines
