"""Static HTML maps with folium: the map annex of a decision, a sector sheet, a published zone map.

The file is self-contained: Leaflet's JavaScript, CSS and images are inlined from the npm package the service
already serves, the base map is our own reference boundaries, and nothing is fetched from a CDN — it opens
correctly with no internet.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import html
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import folium
import orjson
import shapely
from branca.element import Element
from shapely.geometry import shape

from geoservice import timeutil
from geoservice.access import Principal, zone_filter
from geoservice.db import Database
from geoservice.errors import NotFound
from geoservice.layers import Layers, credits, get_layers
from geoservice.settings import get_settings
from geoservice.store import reference
from geoservice.store.zones import ZoneQuery, select_features

_JS_MARK, _CSS_MARK = "GEOSERVICE_LEAFLET_JS", "GEOSERVICE_LEAFLET_CSS"


@lru_cache(maxsize=1)
def _leaflet_assets() -> tuple[str, str]:
    dist = get_settings().web_dir / "node_modules" / "leaflet" / "dist"
    js = (dist / "leaflet.js").read_text(encoding="utf-8")
    css = (dist / "leaflet.css").read_text(encoding="utf-8")

    def inline_image(match: re.Match[str]) -> str:
        image = Path(dist / match.group(1))
        data = base64.b64encode(image.read_bytes()).decode("ascii")
        return f"url(data:image/{image.suffix.lstrip('.')};base64,{data})"

    css = re.sub(r"url\((images/[\w.-]+\.(?:png|svg))\)", inline_image, css)
    return js, css


def _period_text(props: dict[str, Any]) -> str:
    """The designation's period as it stands: cut short by a revocation or amendment, and continued by
    extensions already decided."""
    start = dt.datetime.fromisoformat(props["valid_from"])
    ends = [props.get("designation_end"), props.get("ended_at"), props.get("valid_to")]
    end = next((dt.datetime.fromisoformat(e) for e in ends if e), None)
    return timeutil.format_danish_period(start, end)


def zone_map(
    features: list[dict[str, Any]],
    layers: Layers,
    *,
    title: str,
    at: dt.datetime,
    outlines: dict[str, Any] | None = None,
    focus: dict[str, Any] | None = None,
) -> str:
    """An HTML document with the zones (one layer per kind, popups with the Danish period), the reference
    outlines as the base map, a legend, the moment the map shows and the data credits."""
    m = folium.Map(location=[56.0, 11.0], zoom_start=7, tiles=None, control_scale=True)
    m.default_js = [("leaflet", _JS_MARK)]
    m.default_css = [("leaflet_css", _CSS_MARK)]
    if outlines:
        folium.GeoJson(outlines, name="Kommuner", control=False,
                       style_function=lambda _: {"color": "#8a96a3", "weight": 0.8, "fill": False,
                                                 "interactive": False, "className": "gs-outline"}).add_to(m)
    if focus:
        folium.GeoJson(focus, name=focus["properties"].get("name", "Område"),
                       style_function=lambda _: {"color": "#1d3557", "weight": 3, "fill": False,
                                                 "dashArray": "6 4", "className": "gs-focus"}).add_to(m)
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for feature in features:
        props = dict(feature["properties"])
        props["periode"] = _period_text(props)
        props["afgraensning"] = "Illustrativ afgrænsning" if props.get("illustrative") else "Officiel afgrænsning"
        by_kind.setdefault(props["kind"], []).append({**feature, "properties": props})
    for kind, kind_features in by_kind.items():
        rules = layers.kind(kind)
        style = {**(rules.style if rules else {"color": "#333"}), "className": f"gs-zone gs-kind-{kind}"}
        label = rules.name.da if rules else kind
        folium.GeoJson(
            {"type": "FeatureCollection", "features": kind_features},
            name=label,
            style_function=lambda _, style=style: style,
            popup=folium.GeoJsonPopup(
                fields=["name", "kind_name", "periode", "legal_basis", "decision_ref", "afgraensning"],
                aliases=["Navn", "Type", "Periode", "Retsgrundlag", "Afgørelse", ""],
                labels=True,
            ),
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
        ).add_to(m)
    if by_kind:
        folium.LayerControl(collapsed=False).add_to(m)
    bounds = _bounds([*features, *([focus] if focus else [])])
    if bounds:
        m.fit_bounds(bounds, padding=(20, 20))
    m.get_root().html.add_child(Element(_legend(by_kind, layers, title, at)))
    return _inline_assets(m.get_root().render())


def _bounds(features: list[dict[str, Any]]) -> list[list[float]] | None:
    geoms = [shape(f["geometry"]) for f in features if f.get("geometry")]
    if not geoms:
        return None
    x0, y0, x1, y1 = shapely.total_bounds(geoms)
    return [[y0, x0], [y1, x1]]


def _legend(by_kind: dict[str, list[dict[str, Any]]], layers: Layers, title: str, at: dt.datetime) -> str:
    rows = []
    for kind, features in by_kind.items():
        rules = layers.kind(kind)
        if rules is None:
            continue
        colour = html.escape(str(rules.style.get("color", "#333")))
        fill = html.escape(str(rules.style.get("fillColor", rules.style.get("color", "#333"))))
        rows.append(
            f'<li><span style="display:inline-block;width:14px;height:10px;border:2px solid {colour};'
            f'background:{fill}55;margin-right:6px"></span><b>{html.escape(rules.name.da)}</b> ({len(features)})'
            f'<br><small>{html.escape(rules.meaning.da)}</small></li>'
        )
    count = sum(len(f) for f in by_kind.values())
    return (
        '<div id="gs-legend" style="position:fixed;z-index:1000;top:10px;left:50px;max-width:320px;'
        'background:#fff;padding:8px 12px;border-radius:6px;box-shadow:0 1px 4px rgba(0,0,0,.3);'
        'font:13px system-ui,sans-serif">'
        f"<div style='font-weight:bold;font-size:15px'>{html.escape(title)}</div>"
        f"<div>Zoner i kraft {html.escape(timeutil.format_danish(at))}: {count}</div>"
        f"<ul style='list-style:none;padding:0;margin:6px 0'>{''.join(rows)}</ul>"
        f"<div style='color:#666;font-size:11px'>{html.escape(' · '.join(credits()))}</div></div>"
    )


def _inline_assets(document: str) -> str:
    js, css = _leaflet_assets()
    document = document.replace(f'<script src="{_JS_MARK}"></script>', f"<script>{js}</script>")
    document = document.replace(f'<link rel="stylesheet" href="{_CSS_MARK}"/>', f"<style>{css}</style>")
    if _JS_MARK in document or _CSS_MARK in document:
        raise RuntimeError("folium changed how it writes asset tags; the map would not be self-contained")
    return document


async def export_map(
    db: Database, principal: Principal, *, kinds: list[str] | None, at: dt.datetime | None, sector: str | None,
    zone_id: int | None, title: str | None = None,
) -> str:
    """The zones the principal may see at `at` (default now), optionally of some kinds, touching a sector, or
    one zone (the map annex of a decision), as a self-contained HTML map."""
    t = at or timeutil.now()
    access = zone_filter(principal)
    zq = ZoneQuery(t=t, access=access, in_force_only=zone_id is None or access.only_in_force, kinds=kinds,
                   sector=sector, zone_ids=[zone_id] if zone_id else None, limit=1000)
    async with db.connection() as conn:
        features = orjson.loads((await select_features(conn, zq))[0])
        if zone_id and not features:
            raise NotFound(f"zone {zone_id} does not exist or is not visible to this role")
        focus = None
        if sector:
            body = await reference.sector_detail(conn, {
                "code": sector, "t": t, "days": 0, "visibilities": list(access.visibilities),
                "restricted_kreds": access.restricted_politikreds})
            if body is None:
                raise NotFound(f"no Din Betjent sector {sector!r} at that time")
            focus = orjson.loads(body)["sector"]
        extent = _bounds([*features, *([focus] if focus else [])])
        outlines = None
        if extent:
            (y0, x0), (y1, x1) = extent
            outlines = orjson.loads(await reference.outlines_near(conn, (x0, y0, x1, y1), 20))
    if title is None:
        title = (f"Zonekort – {features[0]['properties']['name']}" if zone_id and features
                 else f"Zonekort – {focus['properties']['name']}" if focus else "Politiets zoner")
    # folium rendering is CPU work: off the event loop, so lookups keep flowing meanwhile
    return await asyncio.to_thread(zone_map, features, get_layers(), title=title, at=t, outlines=outlines,
                                   focus=focus)
