"""Answers to OGC API – Features requests, on the same domain code as /api/v1/zones: zone listings go through
`zones.zone_query` and `store.zones.build_zone_query`, writes through `zones.create_zone`, `replace_zone` and
`patch_zone`, and every role sees exactly what it sees there."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from psycopg import sql as S
from pydantic import ValidationError

from geoservice import timeutil, zones
from geoservice.access import Principal, Role, require, zone_filter
from geoservice.db import Database
from geoservice.errors import Conflict, FieldError, Gone, InvalidInput, NotFound, PreconditionFailed
from geoservice.ogc import cql
from geoservice.ogc.collections import Collection, queryables
from geoservice.ogc.params import Datetime
from geoservice.schemas import ZoneFeatureIn, ZoneFeatureReplace, ZonePatch
from geoservice.store import ogc as store
from geoservice.store import zones as zone_store
from geoservice.writes import Preconditions, WriteAnswer, if_match_holds, zone_etag


@dataclass
class ItemsRequest:
    """What /items was asked, parsed (geoservice.ogc.params)."""

    bbox: tuple[float, float, float, float] | None = None
    bbox_srid: int = 4326
    datetime: Datetime | None = None
    filter: dict[str, Any] | None = None   # CQL2-JSON
    filter_srid: int = 4326
    srid: int = 4326                       # output CRS (-4326: EPSG:4326 latitude first)
    jsonfg: bool = False
    limit: int = 100
    offset: int = 0
    where: tuple[S.Composable, dict[str, Any]] | None = field(default=None, repr=False)

    @property
    def geometry_srid(self) -> int:
        """JSON-FG keeps `geometry` in WGS 84 and puts the requested CRS in `place`."""
        return 4326 if self.jsonfg else self.srid

    @property
    def place_srid(self) -> int | None:
        return self.srid if self.jsonfg and self.srid != 4326 else None


def _where(c: Collection, req: ItemsRequest) -> tuple[S.Composable | None, dict[str, Any]]:
    if req.filter is None:
        return None, {}
    return cql.to_sql(req.filter, queryables(c), req.filter_srid)


def _during(d: Datetime | None) -> tuple[dt.datetime | None, dt.datetime | None] | None:
    return None if d is None or d.is_instant else (d.start, d.end)


def _zone_query(principal: Principal, c: Collection, req: ItemsRequest, zone_id: int | None = None
                ) -> zone_store.ZoneQuery:
    instant = req.datetime.instant if req.datetime and req.datetime.is_instant else None
    zq = zones.zone_query(principal, at=instant, kinds=[c.kind] if c.kind else None,
                          limit=req.limit, offset=req.offset)
    where, where_params = _where(c, req)
    return dataclasses.replace(
        zq, bbox=req.bbox, bbox_srid=req.bbox_srid, during=_during(req.datetime), srid=req.geometry_srid,
        where=where, where_params=where_params, zone_ids=[zone_id] if zone_id is not None else None,
        extras=store.zone_extras(jsonfg=req.jsonfg, place_srid=req.place_srid),
    )


async def items(db: Database, principal: Principal, c: Collection, req: ItemsRequest) -> tuple[str, int, int]:
    """(features as a JSON array text, number matched, number returned)."""
    if c.source == "zones":
        return await zones.list_zones(db, _zone_query(principal, c, req))
    where, where_params = _where(c, req)
    aq = store.AreaQuery(
        source=c.source, area_type=c.area_type, bbox=req.bbox, bbox_srid=req.bbox_srid,
        t=(req.datetime.instant if req.datetime and req.datetime.is_instant else None) or timeutil.now(),
        during=_during(req.datetime), srid=req.geometry_srid, jsonfg=req.jsonfg, place_srid=req.place_srid,
        where=where, where_params=where_params, limit=req.limit, offset=req.offset)
    async with db.connection() as conn:
        return await store.select_areas(conn, aq)


def zone_id_of(fid: str) -> int:
    """Zone feature ids are the zone's integer id; anything else names no zone."""
    if not fid.isdigit() or not 0 < int(fid) < 2**31:
        raise NotFound(f"no feature {fid!r}: zone ids are positive integers")
    return int(fid)


async def item(db: Database, principal: Principal, c: Collection, fid: str, req: ItemsRequest) -> str:
    """One feature (JSON text). A zone that the caller may see but that was not in force at `datetime` (or
    now) is 410 Gone, naming when it was; one the caller may not see at all is 404."""
    if c.source != "zones":
        async with db.connection() as conn:
            found, _, _ = await store.select_areas(conn, store.AreaQuery(
                source=c.source, area_type=c.area_type, code=fid, srid=req.geometry_srid, jsonfg=req.jsonfg,
                place_srid=req.place_srid, during=_during(req.datetime),
                t=(req.datetime.instant if req.datetime and req.datetime.is_instant else None) or timeutil.now(),
                limit=1))
        if found == "[]":
            raise NotFound(f"no feature {fid!r} in {c.id}")
        return found[1:-1]
    zone_id = zone_id_of(fid)
    features, matched, _ = await zones.list_zones(db, _zone_query(principal, c, dataclasses.replace(
        req, limit=1, offset=0, bbox=None, filter=None), zone_id))
    if matched:
        return features[1:-1]
    async with db.connection() as conn:
        presence = await store.zone_presence(conn, zone_id, zone_filter(principal))
    if presence is None or (c.kind and not await _is_kind(db, zone_id, c.kind)):
        raise NotFound(f"no zone {zone_id} in {c.id} (or not visible to this role)")
    first = timeutil.isoformat_local(presence["first_from"])
    last = timeutil.isoformat_local(presence["last_to"])
    raise Gone(
        f"zone {zone_id} exists but was not in force at the requested time; it was in force from {first}"
        + (f" to {last}" if last else "") + f"; see /ogc/collections/{c.id}/items/{zone_id}/versions",
        extra={"versions": f"/ogc/collections/{c.id}/items/{zone_id}/versions"},
    )


async def _is_kind(db: Database, zone_id: int, kind: str) -> bool:
    async with db.connection() as conn:
        row = await zone_store.zone_row(conn, zone_id)
    return bool(row and row["kind"] == kind)


async def versions(db: Database, principal: Principal, c: Collection, fid: str, req: ItemsRequest, base: str,
                   version_no: int | None = None) -> str:
    """Every designation of a zone the caller may see (or one), as a JSON array of Features."""
    if c.source != "zones":
        raise NotFound(f"{c.id} has no versions; zones have")
    zone_id = zone_id_of(fid)
    access = zone_filter(principal)
    async with db.connection() as conn:
        presence = await store.zone_presence(conn, zone_id, access)
        if presence is None or (c.kind and not await _is_kind(db, zone_id, c.kind)):
            raise NotFound(f"no zone {zone_id} in {c.id} (or not visible to this role)")
        features = await store.zone_versions(conn, {
            "zone_id": zone_id, "version_no": version_no, "t": timeutil.now(),
            "visibilities": list(access.visibilities), "restricted_kreds": access.restricted_politikreds,
            "drafts": access.drafts, "base": f"{base}/collections/{c.id}/items/{zone_id}",
            "collection": f"{base}/collections/{c.id}",
        }, jsonfg=req.jsonfg, srid=req.geometry_srid, place_srid=req.place_srid)
    if version_no is not None and features == "[]":
        raise NotFound(f"zone {zone_id} has no version {version_no} visible to this role")
    return features


# --- Part 4: create, replace, update, delete --------------------------------------------------------------------

async def etag(db: Database, principal: Principal, zone_id: int, body: str) -> str:
    """The same tag as GET /api/v1/zones/{id} gives (the zone's recorded state), with a digest of this
    representation: If-Match takes a tag from either API (geoservice.writes)."""
    async with db.connection() as conn:
        return await zone_etag(conn, principal, zone_id, body)


def _validated(model: type[Any], body: Any) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise InvalidInput(
            "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]),
            errors=[FieldError(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()],
        ) from None


def _with_kind(c: Collection, body: Any) -> Any:
    """In a kind's collection the kind is the collection's: filled in when left out, refused when different."""
    if not isinstance(body, dict) or not isinstance(body.get("properties"), dict) or c.kind is None:
        return body
    props = body["properties"]
    given = props.get("kind")
    if given is not None and given != c.kind:
        raise InvalidInput(f"properties.kind {given!r} is not this collection's kind",
                           errors=[FieldError("properties.kind", f"must be {c.kind!r} in /collections/{c.id}")])
    return {**body, "properties": {**props, "kind": c.kind}}


# What GET adds to a zone Feature beyond /api/v1 (read-only): a Feature sent back by PUT may carry them.
OGC_READ_ONLY = ("links", "conformsTo", "coordRefSys", "featureType", "time", "place")
TIME_AXES = ("virkningFra", "virkningTil", "registreringFra", "registreringTil")


def _without_read_only(body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    out = {k: v for k, v in body.items() if k not in OGC_READ_ONLY}
    if isinstance(out.get("properties"), dict):
        out["properties"] = {k: v for k, v in out["properties"].items() if k not in TIME_AXES}
    return out


def _writable(c: Collection) -> None:
    if not c.writable:
        raise NotFound(f"{c.id} is read-only here; zones are written in /ogc/collections/zones")


async def create(db: Database, principal: Principal, c: Collection, body: Any, content_crs: str | None,
                 repair: bool, pre: Preconditions) -> WriteAnswer:
    _writable(c)
    require(principal, Role.admin, action="Creating a zone")
    feature = _validated(ZoneFeatureIn, _with_kind(c, body))
    return await zones.create_zone(db, principal, feature, content_crs=content_crs, repair=repair, pre=pre)


async def replace(db: Database, principal: Principal, c: Collection, fid: str, body: Any,
                  content_crs: str | None, repair: bool, pre: Preconditions) -> WriteAnswer:
    _writable(c)
    require(principal, Role.admin, action="Replacing a zone")
    zone_id = zone_id_of(fid)
    await _in_collection(db, c, zone_id)
    feature = _validated(ZoneFeatureReplace, _with_kind(c, _without_read_only(body)))
    return await zones.replace_zone(db, principal, zone_id, feature, content_crs=content_crs, repair=repair,
                                    pre=pre)


def merge_patch(body: Any) -> dict[str, Any]:
    """A JSON merge patch of the Feature ({"properties": {...}, "geometry": ...}) as the fields of ZonePatch;
    a flat object of those fields is accepted too."""
    if not isinstance(body, dict):
        raise InvalidInput("the patch must be a JSON object", errors=[FieldError("body", "expected an object")])
    if "properties" not in body and "geometry" not in body:
        return body
    extra = sorted(set(body) - {"type", "id", "properties", "geometry", "crs"})
    if extra:
        raise InvalidInput(f"unknown member(s) {', '.join(extra)}",
                           errors=[FieldError(k, "unknown field") for k in extra])
    flat = dict(body.get("properties") or {})
    for key in ("geometry", "crs"):
        if key in body:
            flat[key] = body[key]
    return flat


async def update(db: Database, principal: Principal, c: Collection, fid: str, body: Any,
                 content_crs: str | None, repair: bool, pre: Preconditions) -> WriteAnswer:
    _writable(c)
    require(principal, Role.admin, action="Changing a zone")
    zone_id = zone_id_of(fid)
    await _in_collection(db, c, zone_id)
    flat = merge_patch(body)
    if "kind" in flat:
        raise Conflict("the kind of a zone cannot change; create a new zone",
                       errors=[FieldError("properties.kind", "cannot change")])
    patch = _validated(ZonePatch, flat)
    return await zones.patch_zone(db, principal, zone_id, patch, content_crs=content_crs, repair=repair,
                                  prefix="properties." if "properties" in body else "", pre=pre)


async def delete(db: Database, principal: Principal, c: Collection, fid: str, if_match: str | None) -> None:
    """Only a zone that was never published may be deleted: the register never deletes published history, so a
    published zone is refused with a pointer to revoke."""
    _writable(c)
    require(principal, Role.admin, action="Deleting a zone")
    zone_id = zone_id_of(fid)
    await _in_collection(db, c, zone_id)
    async with db.transaction(principal.actor, "zone.delete_draft") as conn:
        zone = await zone_store.zone_row(conn, zone_id, for_update=True)
        if zone is None:
            raise NotFound(f"zone {zone_id} does not exist")
        if if_match is not None and not if_match_holds(if_match, await zone_store.state_tag(conn, zone_id)):
            raise PreconditionFailed(f"zone {zone_id} has changed since that ETag; GET it again",
                                     errors=[FieldError("If-Match", "does not name the zone's current state")])
        if any(v["state"] == "published" for v in await zone_store.version_rows(conn, zone_id)):
            raise Conflict(
                f"zone {zone_id} has been published: published zones are never deleted, so that their history "
                f"stays; revoke it with POST /api/v1/zones/{zone_id}/revoke (reason, and when it takes effect)",
                extra={"revoke": f"/api/v1/zones/{zone_id}/revoke"},
            )
        await store.delete_draft_zone(conn, zone_id)


async def _in_collection(db: Database, c: Collection, zone_id: int) -> None:
    async with db.connection() as conn:
        row = await zone_store.zone_row(conn, zone_id)
    if row is None or (c.kind is not None and row["kind"] != c.kind):
        raise NotFound(f"no zone {zone_id} in {c.id}")
