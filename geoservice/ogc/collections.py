"""The collections: one per zone kind (from layers/kinds.yaml), one with every zone, the reference areas
(politikredse, kommuner, bydele) and the Din Betjent sectors; and the properties a filter may name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from psycopg import sql as S

from geoservice.access import Principal
from geoservice.errors import NotFound
from geoservice.layers import get_layers
from geoservice.ogc.cql import Queryable

ALL_ZONES = "zones"
SECTORS = "sectors"
REFERENCE = {"politikredse": "politikreds", "kommuner": "kommune", "bydele": "bydel"}


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    source: Literal["zones", "reference", "sectors"]
    kind: str | None = None        # zone collections of one kind
    area_type: str | None = None   # reference collections
    temporal: bool = True          # features have a validity period (datetime applies)
    writable: bool = False         # Part 4: zones are created and changed here (admin)


def _zone_collections() -> list[Collection]:
    kinds = get_layers().kinds.values()
    return [
        Collection(ALL_ZONES, "Alle zoner / All zones",
                   "Every zone kind in one layer: nattelivszoner, visitationszoner, SUB-områder …",
                   "zones", writable=True),
        *(Collection(r.code, f"{r.name.da} / {r.name.en}", f"{r.meaning.da} — {r.meaning.en}", "zones",
                     kind=r.code, writable=True) for r in kinds),
    ]


def collections(principal: Principal) -> list[Collection]:
    """What the caller may list: kinds that are never public (§ 6 g) are not shown to the public."""
    hidden = {r.code for r in get_layers().kinds.values() if r.never_public} if principal.is_public else set()
    return [
        *(c for c in _zone_collections() if c.kind not in hidden),
        *(Collection(cid, title, f"{title} (DAGI / Københavns Kommune), the reference areas of the register",
                     "reference", area_type=area, temporal=False)
          for cid, area, title in (("politikredse", "politikreds", "Politikredse"),
                                   ("kommuner", "kommune", "Kommuner"), ("bydele", "bydel", "Bydele (København)"))),
        Collection(SECTORS, "Din Betjent-områder / Din Betjent sectors",
                   "Patrol sectors of the nærpolitistationer, each with its Din Betjent officers (illustrative)",
                   "sectors"),
    ]


def collection(principal: Principal, cid: str) -> Collection:
    for c in collections(principal):
        if c.id == cid:
            return c
    raise NotFound(f"no collection {cid!r}; see /ogc/collections")


def _q(sql: str, kind: Any, title: str, **schema: Any) -> Queryable:
    return Queryable(S.SQL(sql), kind, title, schema=schema)


GEOMETRY_SCHEMA = {"format": "geometry-multipolygon", "x-ogc-role": "primary-geometry"}

ZONE_QUERYABLES: dict[str, Queryable] = {
    "geometry": Queryable(S.SQL("v.geom_wgs84"), "geometry", "Boundary", S.SQL("v.geom"), GEOMETRY_SCHEMA),
    "id": _q("z.id", "integer", "Zone id", **{"x-ogc-role": "id"}),
    "kind": _q("z.kind", "string", "Zone kind (layers/kinds.yaml)", **{"x-ogc-role": "type"}),
    "name": _q("z.name", "string", "Name"),
    "description": _q("z.description", "string", "Description"),
    "visibility": _q("z.visibility", "string", "Visibility", enum=["public", "internal", "restricted"]),
    "illustrative": _q("z.illustrative", "boolean", "Illustrative boundary"),
    "politikreds": _q("z.politikreds_code", "string", "Politikreds code"),
    "list_edition": _q("z.list_edition", "string", "List edition"),
    "status": _q("zone_status_at(z.id, %(t)s)", "string", "Status now",
                 enum=["draft", "scheduled", "in_force", "expiring", "expired", "revoked"]),
    "version": _q("v.version_no", "integer", "Version number"),
    "change": _q("v.change", "string", "Kind of decision", enum=["designation", "extension", "amendment"]),
    "decision_ref": _q("v.decision_ref", "string", "Decision reference"),
    "decided_by": _q("v.decided_by", "string", "Decided by"),
    "legal_basis": _q("v.legal_basis", "string", "Legal basis"),
    "reason": _q("v.reason", "string", "Reason"),
    "area_m2": _q("ST_Area(v.geom)", "number", "Area, m²"),
    "valid_from": _q("lower(v.valid)", "datetime", "Decided start", format="date-time"),
    "valid_to": _q("nullif(upper(v.valid), 'infinity')", "datetime", "Decided end (exclusive)",
                   format="date-time"),
    "validity": _q("v.effective", "interval", "Validity period in force (virkning)", format="interval"),
    "virkningFra": _q("lower(v.effective)", "datetime", "Virkning fra (legal validity start)",
                      format="date-time", **{"x-ogc-role": "primary-interval-start"}),
    "virkningTil": _q("nullif(upper(v.effective), 'infinity')", "datetime", "Virkning til (exclusive)",
                      format="date-time", **{"x-ogc-role": "primary-interval-end"}),
    "registreringFra": _q("v.published_at", "datetime", "Registrering fra (recorded in the register)",
                          format="date-time"),
    "registreringTil": _q("v.ended_recorded_at", "datetime", "Registrering til (an early end was recorded)",
                          format="date-time"),
    "published_at": _q("v.published_at", "datetime", "Published at", format="date-time"),
}

# Reference areas and sectors alike: the boundary, stored in EPSG:25832 (`a.geom`).
AREA_GEOMETRY = Queryable(S.SQL("ST_Transform(a.geom, 4326)"), "geometry", "Boundary", S.SQL("a.geom"),
                          GEOMETRY_SCHEMA)

AREA_QUERYABLES: dict[str, Queryable] = {
    "geometry": AREA_GEOMETRY,
    "code": _q("a.code", "string", "Code", **{"x-ogc-role": "id"}),
    "name": _q("a.name", "string", "Name"),
    "parent_code": _q("a.parent_code", "string", "Code of the area it lies in"),
    "area_km2": _q("a.area_km2", "number", "Area, km²"),
}

SECTOR_QUERYABLES: dict[str, Queryable] = {
    "geometry": AREA_GEOMETRY,
    "code": _q("a.code", "string", "Sector code", **{"x-ogc-role": "id"}),
    "name": _q("a.name", "string", "Name"),
    "station": _q("st.name", "string", "Nærpolitistation"),
    "politikreds": _q("a.politikreds_code", "string", "Politikreds code"),
    "validity": _q("a.valid", "interval", "Validity period", format="interval"),
}


def queryables(c: Collection) -> dict[str, Queryable]:
    return {"zones": ZONE_QUERYABLES, "reference": AREA_QUERYABLES, "sectors": SECTOR_QUERYABLES}[c.source]


def queryables_schema(c: Collection, base_url: str) -> dict[str, Any]:
    """JSON Schema of the queryables (Part 3)."""
    types = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean",
             "datetime": "string", "interval": "array"}
    props: dict[str, Any] = {}
    for name, q in queryables(c).items():
        if q.kind == "geometry":
            props[name] = {"title": q.title, **q.schema}
        elif q.kind == "interval":
            props[name] = {"title": q.title, "type": "array", "minItems": 2, "maxItems": 2,
                           "items": {"type": "string", "format": "date-time"}, "format": "interval"}
        else:
            props[name] = {"title": q.title, "type": types[q.kind], **q.schema}
    return {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": f"{base_url}/collections/{c.id}/queryables",
        "type": "object",
        "title": c.title,
        "properties": props,
        "additionalProperties": False,
    }


_S, _I, _N, _B, _T, _O = ({"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"},
                          {"type": "string", "format": "date-time"}, {"type": "object"})

# The properties a zone Feature carries (geoservice/sql/zone_feature.sql and the time axes of store/ogc.py).
ZONE_PROPERTIES: dict[str, dict[str, Any]] = {
    "id": _I, "kind": _S, "kind_name": _S, "kind_name_en": _S, "name": _S, "status": _S, "version": _I,
    "version_status": _S, "change": _S, "valid_from": _T, "valid_to": _T, "ended_at": _T, "ended_reason": _S,
    "designation_end": _T, "decision_ref": _S, "decided_by": _S, "legal_basis": _S, "reason": _S,
    "daily_window": _O, "visibility": _S, "illustrative": _B, "description": _S, "politikreds": _S,
    "list_edition": _S, "published_at": _T, "revoked_at": _T, "revoke_reason": _S, "override": _O,
    "area_m2": _N, "virkningFra": {**_T, "x-ogc-role": "primary-interval-start"},
    "virkningTil": {**_T, "x-ogc-role": "primary-interval-end"}, "registreringFra": _T, "registreringTil": _T,
}
AREA_PROPERTIES = {"type": _S, "code": _S, "name": _S, "parent_code": _S, "area_km2": _N}
SECTOR_PROPERTIES = {"code": _S, "name": _S, "station": _S, "politikreds": _S, "illustrative": _B,
                     "virkningFra": _T, "virkningTil": _T}


def feature_schema(c: Collection, base_url: str) -> dict[str, Any]:
    """JSON Schema of the features' properties (rel describedby), so that clients such as GDAL know every field
    even when the first page is empty (a kind with nothing in force today)."""
    props = {"zones": ZONE_PROPERTIES, "reference": AREA_PROPERTIES, "sectors": SECTOR_PROPERTIES}[c.source]
    return {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": f"{base_url}/collections/{c.id}/schema",
        "type": "object",
        "title": c.title,
        "properties": {**props, "geometry": {"format": "geometry-multipolygon", "x-ogc-role": "primary-geometry"}},
    }
