"""The OGC API documents that describe the service: landing page, conformance, collections."""

from __future__ import annotations

import datetime as dt
from typing import Any

from geoservice import __version__
from geoservice.db import finite
from geoservice.ogc.collections import Collection
from geoservice.ogc.params import CRS84, STORAGE_CRS, SUPPORTED_CRS

GEOJSON = "application/geo+json"
JSONFG = "application/vnd.ogc.fg+json"
JSON = "application/json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/temporal-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/optimistic-locking-etags",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
    "http://www.opengis.net/spec/json-fg-1/0.2/conf/core",
]


def link(href: str, rel: str, type_: str, title: str | None = None) -> dict[str, str]:
    item = {"href": href, "rel": rel, "type": type_}
    if title:
        item["title"] = title
    return item


def landing(base: str) -> dict[str, Any]:
    return {
        "title": "geoservice — politiets zoner / Danish police zones",
        "description": "Nattelivszoner, visitationszoner, SUB-områder, Din Betjent-områder and the other zones "
                       "the Danish police designate, with their legal validity periods (virkning) and the time "
                       "the register recorded them (registrering). OGC API – Features Parts 1–4 and JSON-FG.",
        "version": __version__,
        "links": [
            link(base, "self", JSON, "This document"),
            link("/openapi.json", "service-desc", OPENAPI, "The API definition (OpenAPI 3)"),
            link("/docs", "service-doc", "text/html", "The API documentation"),
            link(f"{base}/conformance", "conformance", JSON, "Conformance classes"),
            link(f"{base}/collections", "data", JSON, "The collections"),
        ],
    }


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _extent(c: Collection, extents: dict[str | None, dict[str, Any]], denmark: tuple[float, ...]) -> dict[str, Any]:
    row = extents.get(c.kind) if c.source == "zones" else None
    bbox = [row["x0"], row["y0"], row["x1"], row["y1"]] if row and row["x0"] is not None else list(denmark)
    extent: dict[str, Any] = {"spatial": {"bbox": [[round(b, 6) for b in bbox]], "crs": CRS84}}
    if c.source == "zones" and row and row["t0"] is not None:
        end = finite(row["t1"])
        extent["temporal"] = {
            "interval": [[_utc(row["t0"]), _utc(end) if end else None]],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        }
    return extent


def collection_doc(base: str, c: Collection, extents: dict[str | None, dict[str, Any]],
                   denmark: tuple[float, ...]) -> dict[str, Any]:
    href = f"{base}/collections/{c.id}"
    return {
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "itemType": "feature",
        "links": [
            link(href, "self", JSON, "This collection"),
            link(f"{href}/items", "items", GEOJSON, "Features as GeoJSON"),
            link(f"{href}/items?f=jsonfg", "items", JSONFG, "Features as JSON-FG"),
            link(f"{href}/schema", "describedby", "application/schema+json", "Schema of the features"),
            link(f"{href}/schema", "http://www.opengis.net/def/rel/ogc/1.0/schema", "application/schema+json",
                 "Schema of the features"),
            link(f"{href}/queryables", "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                 "application/schema+json", "Queryables (for filter)"),
        ],
        "extent": _extent(c, extents, denmark),
        "crs": list(SUPPORTED_CRS),
        "storageCrs": STORAGE_CRS,
    }


def collections_doc(base: str, docs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "links": [link(f"{base}/collections", "self", JSON, "The collections")],
        "crs": list(SUPPORTED_CRS),
        "collections": docs,
    }
