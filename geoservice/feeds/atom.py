"""The public Atom feed (RFC 4287) of designations, extensions, amendments and revocations of public zones.

Built with xml.etree, so text from the data is always escaped text. Entries are immutable announcements: a
version is one entry (id from the version), a revocation one more (id from the zone); `updated` is when the
register recorded it. Pages are keyset pages, newest first (`before` the last entry of the page before), so a
page once served keeps its entries when new ones arrive (RFC 5005 paging links: first, next).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from geoservice import __version__, timeutil
from geoservice.db import Database, finite
from geoservice.errors import BadRequest, FieldError
from geoservice.feeds.links import map_permalink, map_zoom, tag_uri, zone_geojson
from geoservice.store import feeds as store
from geoservice.zones import check_kinds

ATOM = "http://www.w3.org/2005/Atom"
GEORSS = "http://www.georss.org/georss"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
MEDIA_TYPE = "application/atom+xml"
PATH = "/api/v1/feeds/zones.atom"
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
EMPTY_FEED_UPDATED = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# Atom as the default namespace of what we write (xml.etree has no per-document choice that allows unprefixed
# attributes such as rel and href).
ET.register_namespace("", ATOM)
ET.register_namespace("georss", GEORSS)

# What each kind of entry is called (Danish; the feed is for Danish readers).
EVENT_LABELS = {
    "designation": ("Ny zone", "Udpegning"),
    "extension": ("Forlænget", "Forlængelse"),
    "amendment": ("Ny afgrænsning", "Ændret afgrænsning"),
    "revocation": ("Ophævet", "Ophævelse"),
}


@dataclass(frozen=True)
class FeedPage:
    body: bytes
    etag: str
    last_modified: dt.datetime | None


def encode_cursor(updated: dt.datetime, key: str) -> str:
    text = f"{updated.astimezone(dt.UTC).isoformat()}~{key}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(value: str) -> tuple[dt.datetime, str]:
    """The position a `before` cursor names; a cursor not made by this feed is a 400 naming `before`."""
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        moment, key = text.split("~", 1)
        updated = dt.datetime.fromisoformat(moment)
        if updated.tzinfo is None or key[:1] not in ("v", "r") or not key[1:].isdigit():
            raise ValueError(text)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise BadRequest("before is not a cursor of this feed",
                         errors=[FieldError("before", "use the href of the feed's rel=\"next\" link")]) from None
    return updated, key


def _sentence(text: str | None) -> str:
    return text.strip().rstrip(".").strip() + "." if text and text.strip() else ""


def _window(row: dict[str, Any]) -> str:
    if row["daily_window_start"] is None:
        return ""
    return (f"Forbuddet gælder dagligt kl. {row['daily_window_start']:%H.%M}–"
            f"{row['daily_window_end']:%H.%M}.")


def summary(row: dict[str, Any]) -> str:
    """What happened, in Danish: the period, legal basis, decision and reason."""
    valid_to = finite(row["valid_to"])
    match row["event"]:
        case "designation":
            what = f"Udpeget for perioden {timeutil.format_danish_period(row['valid_from'], valid_to)}."
        case "extension":
            what = f"Forlænget for perioden {timeutil.format_danish_period(row['valid_from'], valid_to)}."
        case "amendment":
            what = (f"Ny afgrænsning fra {timeutil.format_danish(row['valid_from'])}; "
                    f"gælder til {timeutil.format_danish(valid_to)}.")
        case _:
            what = f"Ophævet fra {timeutil.format_danish(row['revoked_at'])}."
            if row["revoke_reason"]:
                what += " Begrundelse for ophævelsen: " + _sentence(row["revoke_reason"])
            if row["revoke_decision_ref"]:
                what += " Afgørelse om ophævelse: " + _sentence(row["revoke_decision_ref"])
    parts = [f"{row['name']} ({row['kind_name']}).", what]
    if row["legal_basis"]:
        parts.append("Hjemmel: " + _sentence(row["legal_basis"]))
    if row["decision_ref"]:
        by = f" ({row['decided_by']})" if row["decided_by"] else ""
        parts.append(f"Afgørelse: {row['decision_ref']}{by}.")
    if row["reason"] and row["event"] != "revocation":
        parts.append("Begrundelse: " + _sentence(row["reason"]))
    parts.append(_window(row))
    if row["illustrative"]:
        parts.append("Afgrænsningen er illustrativ.")
    return " ".join(p for p in parts if p)


def title(row: dict[str, Any]) -> str:
    verb = EVENT_LABELS[row["event"]][0]
    name = row["name"]
    if row["kind_name"].lower() not in name.lower():
        name = f"{name} ({row['kind_name']})"
    return f"{verb}: {name}"


def entry_specific(row: dict[str, Any]) -> str:
    if row["event"] == "revocation":
        return f"zone/{row['zone_id']}/revocation"
    return f"zone/{row['zone_id']}/version/{row['key'][1:]}"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def _entry(feed: ET.Element, row: dict[str, Any], base_url: str, authority: str) -> None:
    entry = _sub(feed, "entry")
    _sub(entry, "id", tag_uri(authority, entry_specific(row)))
    _sub(entry, "title", title(row), type="text")
    updated = timeutil.isoformat_local(row["updated"]) or ""
    _sub(entry, "updated", updated)
    _sub(entry, "published", updated)
    author = _sub(entry, "author")
    _sub(author, "name", row["decided_by"] or "Politiet")
    event_label = EVENT_LABELS[row["event"]][1]
    _sub(entry, "category", term=row["event"], scheme=tag_uri(authority, "feed-event"), label=event_label)
    _sub(entry, "category", term=row["kind"], scheme=f"{base_url}/api/v1/kinds", label=row["kind_name"])
    zoom = map_zoom((row["xmin"], row["ymin"], row["xmax"], row["ymax"]), row["lat"])
    _sub(entry, "link", rel="alternate", type="text/html", hreflang="da", title="Se zonen på kortet",
         href=map_permalink(base_url, lon=row["lon"], lat=row["lat"], zoom=zoom, at=row["shown_at"]))
    if row["shown_at"] is not None:
        _sub(entry, "link", rel="alternate", type="application/geo+json", title="Zonen som GeoJSON",
             href=zone_geojson(base_url, row["zone_id"], row["shown_at"]))
    _sub(entry, "summary", summary(row), type="text")
    point = ET.SubElement(entry, f"{{{GEORSS}}}point")
    point.text = f"{row['lat']:.6f} {row['lon']:.6f}"


def _page_href(base_url: str, *, kinds: list[str] | None, limit: int, before: str | None) -> str:
    params: dict[str, Any] = {}
    if kinds:
        params["kind"] = ",".join(kinds)
    if limit != DEFAULT_LIMIT:
        params["limit"] = limit
    if before:
        params["before"] = before
    return base_url + PATH + ("?" + urlencode(params) if params else "")


async def zone_feed(
    db: Database, *, base_url: str, authority: str, kinds: list[str] | None, before: str | None, limit: int
) -> FeedPage:
    kinds = sorted(set(check_kinds(kinds) or [])) or None
    position = decode_cursor(before) if before else None
    async with db.connection() as conn:
        rows = await store.atom_entries(conn, kinds=kinds, before=position, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]

    feed = ET.Element(f"{{{ATOM}}}feed", {XML_LANG: "da"})
    _sub(feed, "id", tag_uri(authority, "feeds/zones" + (f"?kind={','.join(kinds)}" if kinds else "")))
    _sub(feed, "title", "Politiets zoner: udpegninger, forlængelser og ophævelser", type="text")
    _sub(feed, "subtitle", "Offentlige zoner (nattelivszoner, visitationszoner, skærpede strafzoner m.fl.): nye "
         "udpegninger, forlængelser, ændrede afgrænsninger og ophævelser, nyeste først.", type="text")
    last_modified = rows[0]["updated"] if rows else None
    _sub(feed, "updated", timeutil.isoformat_local(last_modified or EMPTY_FEED_UPDATED))
    author = _sub(feed, "author")
    _sub(author, "name", "Politiet")
    _sub(feed, "link", rel="self", type=MEDIA_TYPE,
         href=_page_href(base_url, kinds=kinds, limit=limit, before=before))
    _sub(feed, "link", rel="alternate", type="text/html", hreflang="da", href=f"{base_url}/")
    _sub(feed, "link", rel="first", type=MEDIA_TYPE, href=_page_href(base_url, kinds=kinds, limit=limit, before=None))
    if more:
        cursor = encode_cursor(rows[-1]["updated"], rows[-1]["key"])
        _sub(feed, "link", rel="next", type=MEDIA_TYPE,
             href=_page_href(base_url, kinds=kinds, limit=limit, before=cursor))
    _sub(feed, "generator", "geoservice", version=__version__)
    for row in rows:
        _entry(feed, row, base_url, authority)
    body = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return FeedPage(body=body, etag=etag, last_modified=last_modified)
