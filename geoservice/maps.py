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
from branca.element import Element, MacroElement
from jinja2 import Template
from shapely.geometry import shape

from geoservice import csp, timeutil
from geoservice.access import Principal, zone_filter
from geoservice.db import Database
from geoservice.errors import NotFound
from geoservice.layers import Layers, credits, get_layers
from geoservice.settings import get_settings
from geoservice.store import reference
from geoservice.store.zones import ZoneQuery, select_features
from geoservice.zones import check_kinds

_JS_MARK, _CSS_MARK = "GEOSERVICE_LEAFLET_JS", "GEOSERVICE_LEAFLET_CSS"

# How the legend names the state of the one zone a map annex shows (zone_status_at / version_status_at).
_STATUS_DA = {
    "in_force": "i kraft",
    "expiring": "i kraft, udløber snart",
    "expired": "udløbet, ikke længere i kraft",
    "scheduled": "endnu ikke trådt i kraft",
    "revoked": "ophævet",
    "draft": "udkast, ikke offentliggjort",
    "superseded": "afløst af en ændret afgrænsning",
}


class _MetricScale(MacroElement):
    """Leaflet's scale bar in metres only (folium's control_scale adds miles as well)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        L.control.scale({metric: true, imperial: false}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)


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


def _instant(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _version_end(props: dict[str, Any]) -> dt.datetime | None:
    """Where this version (the one whose decision reference is shown) ends as it stands: its own end, cut short
    by an amendment or a revocation."""
    end = _instant(props.get("ended_at")) or _instant(props.get("valid_to"))
    chain_end = _instant(props.get("designation_end"))
    if chain_end is not None and (end is None or chain_end < end):
        end = chain_end  # a revocation the version itself does not record
    return end


def _period_text(props: dict[str, Any]) -> str:
    """The period of the version shown, the one its decision reference belongs to (not the whole chain)."""
    return timeutil.format_danish_period(_instant(props["valid_from"]), _version_end(props))  # type: ignore[arg-type]


def _continuation_text(props: dict[str, Any]) -> str | None:
    """A separate line when the designation goes on past this version (extended by a later decision, or with an
    amended boundary) or was revoked before its end. None when the version's period is the whole story."""
    end = _version_end(props)
    if end is None:
        return None
    if props.get("ended_reason") == "revoked":
        return f"Ophævet før tid (afgørelsen gjaldt til {timeutil.format_danish(_instant(props.get('valid_to')))})"
    chain_end = _instant(props.get("designation_end"))
    if chain_end is None:
        # no chain end while the zone is in force: a later decision continues it with no end
        if props.get("status") not in ("in_force", "expiring"):
            return None
    elif chain_end <= end:
        return None
    until = timeutil.format_danish(chain_end)
    if props.get("ended_reason") == "amended":
        return f"Ændret afgrænsning fra {timeutil.format_danish(end)}, gælder til {until}"
    return f"Forlænget til {until}" if chain_end else "Forlænget uden udløb"


def zone_map(
    features: list[dict[str, Any]],
    layers: Layers,
    *,
    title: str,
    at: dt.datetime,
    outlines: dict[str, Any] | None = None,
    focus: dict[str, Any] | None = None,
    one_zone: bool = False,
) -> str:
    """An HTML document with the zones (one layer per kind, popups with the Danish period), the reference
    outlines as the base map, a legend, the moment the map shows and the data credits."""
    m = folium.Map(location=[56.0, 11.0], zoom_start=7, tiles=None)
    m.add_child(_MetricScale())
    m.default_js = [("leaflet", _JS_MARK)]
    m.default_css = [("leaflet_css", _CSS_MARK)]
    if outlines:
        folium.GeoJson(outlines, name="Kommuner", control=False,
                       style_function=lambda _: {"color": "#8a96a3", "weight": 0.8, "fill": False,
                                                 "interactive": False, "className": "gs-outline"}).add_to(m)
    if focus:
        # Leaflet's layer control writes layer names as HTML
        folium.GeoJson(focus, name=html.escape(str(focus["properties"].get("name", "Område"))),
                       style_function=lambda _: {"color": "#1d3557", "weight": 3, "fill": False,
                                                 "dashArray": "6 4", "className": "gs-focus"}).add_to(m)
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for feature in features:
        props = dict(feature["properties"])
        # folium's popup writes the values as HTML: escape them, and give the continuation a line of its own
        for key in ("name", "kind_name", "legal_basis", "decision_ref"):
            if isinstance(props.get(key), str):
                props[key] = html.escape(props[key])
        continuation = _continuation_text(props)
        props["periode"] = html.escape(_period_text(props)) + (
            f"<br><b>{html.escape(continuation)}</b>" if continuation else "")
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
                # the decision next to the period it covers
                fields=["name", "kind_name", "decision_ref", "periode", "legal_basis", "afgraensning"],
                aliases=["Navn", "Type", "Afgørelse", "Periode", "Retsgrundlag", ""],
                labels=True,
            ),
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
        ).add_to(m)
    if by_kind:
        folium.LayerControl(collapsed=False).add_to(m)
    bounds = _bounds([*features, *([focus] if focus else [])])
    if bounds:
        m.fit_bounds(bounds, padding=(20, 20))
    m.get_root().html.add_child(Element(_legend(by_kind, layers, title, _shown_text(features, at, one_zone))))
    # The file carries its own Content-Security-Policy: only its own inline scripts (by hash) run, also when the
    # saved file is opened from disk.
    return csp.with_meta_policy(_inline_assets(m.get_root().render()))


def _bounds(features: list[dict[str, Any]]) -> list[list[float]] | None:
    geoms = [shape(f["geometry"]) for f in features if f.get("geometry")]
    if not geoms:
        return None
    x0, y0, x1, y1 = shapely.total_bounds(geoms)
    return [[y0, x0], [y1, x1]]


def _shown_text(features: list[dict[str, Any]], at: dt.datetime, one_zone: bool) -> str:
    """What the map shows. A map annex of one zone may show it expired, scheduled or as a draft: say so,
    rather than calling it a zone in force."""
    when = timeutil.format_danish(at)
    if one_zone and features:
        props = features[0]["properties"]
        state = "draft" if props.get("version_status") == "draft" else props.get("status")
        return (f"Zonen {when}: {_STATUS_DA.get(state, state or 'ukendt')} "
                f"(version {props.get('version')})")
    return f"Zoner i kraft {when}: {len(features)}"


def _legend(by_kind: dict[str, list[dict[str, Any]]], layers: Layers, title: str, shown: str) -> str:
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
    return (
        '<div id="gs-legend" style="position:fixed;z-index:1000;top:10px;left:50px;max-width:320px;'
        'background:#fff;padding:8px 12px;border-radius:6px;box-shadow:0 1px 4px rgba(0,0,0,.3);'
        'font:13px system-ui,sans-serif">'
        f"<div style='font-weight:bold;font-size:15px'>{html.escape(title)}</div>"
        f"<div id='gs-shown'>{html.escape(shown)}</div>"
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
    kinds = check_kinds(kinds)  # an unknown kind is refused (422 / CLI error), not an empty map
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
                "restricted_kreds": access.restricted_politikreds, "in_force_only": True})
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
                                   focus=focus, one_zone=zone_id is not None)
