"""SQL for OGC API – Features beyond the zone listing (which is store/zones.py): JSON-FG members of a zone
Feature, zone versions, reference areas and sectors as Features, zone ETags, collection extents."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from psycopg import AsyncConnection
from psycopg import sql as S

from geoservice.access import ZoneFilter
from geoservice.db import query
from geoservice.store.zones import ACCESS_CONDITION, FeatureExtras

JSONFG_CORE = "http://www.opengis.net/spec/json-fg-1/0.2/conf/core"
UTC_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS"Z"'

# The two time axes of the Danish base registers, beside the English names: virkning is the legal validity
# in force (the version's effective period: its decided period cut short by an amendment or a revocation),
# registrering is when the register knew it (published, and when an early end was recorded).
TIME_AXIS_PAIRS = S.SQL("""
    'virkningFra', lower(v.effective),
    'virkningTil', nullif(upper(v.effective), 'infinity'),
    'registreringFra', v.published_at,
    'registreringTil', v.ended_recorded_at""")
TIME_AXES = S.SQL("jsonb_build_object({})").format(TIME_AXIS_PAIRS)


def _utc(expr: str) -> S.Composable:
    return S.SQL("to_char({} AT TIME ZONE 'UTC', {})").format(S.SQL(expr), S.Literal(UTC_FORMAT))


# JSON-FG: the validity period as time.interval (UTC; ".." for an open end), the kind as featureType, the
# boundary in a projected CRS as place (null when the geometry is WGS 84 already).
JSONFG_PAIRS = S.SQL("""
    'featureType', z.kind,
    'time', CASE WHEN isempty(v.effective) THEN NULL ELSE json_build_object('interval', json_build_array(
        {lower}, coalesce(CASE WHEN upper(v.effective) < 'infinity' THEN {upper} END, '..'))) END,
    'place', {place}""")


def _jsonfg_pairs(place_srid: int | None) -> S.Composable:
    return JSONFG_PAIRS.format(lower=_utc("lower(v.effective)"), upper=_utc("upper(v.effective)"),
                               place=_place(place_srid))


def _place(place_srid: int | None, geom: str = "v.geom") -> S.Composable:
    """JSON-FG place: the boundary (stored in EPSG:25832) in the requested CRS when that is not WGS 84
    longitude/latitude; -4326 is EPSG:4326 with its latitude-first axes."""
    if place_srid is None:
        return S.SQL("NULL::json")
    column = S.SQL(geom)
    if place_srid == -4326:
        shape = S.SQL("ST_FlipCoordinates(ST_Transform({}, 4326))").format(column)
    elif place_srid == 25832:
        shape = column
    else:
        shape = S.SQL("ST_Transform({}, {})").format(column, S.Literal(place_srid))
    decimals = S.Literal(6 if place_srid == -4326 else 2)
    return S.SQL("ST_AsGeoJSON(ST_ForcePolygonCCW({}), {})::json").format(shape, decimals)


def zone_extras(*, jsonfg: bool, place_srid: int | None = None) -> FeatureExtras:
    """What an OGC zone Feature adds to zone_feature.sql: the two time axes in its properties and, for
    JSON-FG, the featureType, time and place members."""
    members = S.SQL(",{}").format(_jsonfg_pairs(place_srid)) if jsonfg else S.SQL("")
    return FeatureExtras(properties=S.SQL(",{}").format(TIME_AXIS_PAIRS), members=members)


# --- versions --------------------------------------------------------------------------------------------------

async def zone_versions(conn: AsyncConnection, params: dict[str, Any], *, jsonfg: bool, srid: int,
                        place_srid: int | None) -> str:
    """Every version of a zone the caller may see, as GeoJSON Features (JSON array text)."""
    geometry = S.SQL("v.geom_wgs84") if abs(srid) == 4326 else (
        S.SQL("v.geom") if srid == 25832 else S.SQL("ST_Transform(v.geom, {})").format(S.Literal(srid)))
    if srid == -4326:
        geometry = S.SQL("ST_FlipCoordinates({})").format(geometry)
    members = S.SQL("") if not jsonfg else S.SQL(" || jsonb_build_object({})").format(_jsonfg_pairs(place_srid))
    statement = S.SQL(query("ogc_zone_versions")).format(
        geometry=geometry, precision=S.Literal(6 if abs(srid) == 4326 else 2), axes=TIME_AXES,
        members=members, access=ACCESS_CONDITION)
    cur = await conn.execute(statement, params, prepare=False)
    row = await cur.fetchone()
    assert row is not None
    return row["features"]


async def zone_presence(conn: AsyncConnection, zone_id: int, access: ZoneFilter) -> dict[str, Any] | None:
    """Whether the caller may know the zone at all (any version it may see), and when it was in force."""
    cur = await conn.execute(
        S.SQL("""
        SELECT z.id, count(v.id) AS versions, min(lower(v.effective)) AS first_from,
               max(upper(v.effective)) AS last_to
        FROM zone z JOIN zone_version v ON v.zone_id = z.id
        WHERE z.id = %(zone_id)s AND {access} AND (%(drafts)s OR v.state = 'published')
        GROUP BY z.id
        """).format(access=ACCESS_CONDITION),
        {"zone_id": zone_id, "visibilities": list(access.visibilities),
         "restricted_kreds": access.restricted_politikreds, "drafts": access.drafts},
    )
    return await cur.fetchone()


async def zone_etag(conn: AsyncConnection, zone_id: int) -> str | None:
    """A strong validator of the zone as stored: a hash of its row and of every version's row (a change of
    any property, version, state or ending changes it). None when the zone does not exist."""
    cur = await conn.execute(
        """
        SELECT md5(z::text || coalesce((SELECT string_agg(v::text, '|' ORDER BY v.id)
                                        FROM zone_version v WHERE v.zone_id = z.id), '')) AS etag
        FROM zone z WHERE z.id = %s
        """,
        (zone_id,),
    )
    row = await cur.fetchone()
    return f'"{row["etag"]}"' if row else None


async def delete_draft_zone(conn: AsyncConnection, zone_id: int) -> None:
    """Remove a zone that was never published (its draft versions and the zone row; the audit log keeps both)."""
    await conn.execute("DELETE FROM zone_version WHERE zone_id = %s AND state = 'draft'", (zone_id,))
    await conn.execute("DELETE FROM zone WHERE id = %s", (zone_id,))


# --- reference areas and sectors --------------------------------------------------------------------------------

@dataclass
class AreaQuery:
    source: str                      # "reference" or "sectors"
    area_type: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    bbox_srid: int = 4326
    t: dt.datetime | None = None     # sectors: valid at this moment
    during: tuple[dt.datetime | None, dt.datetime | None] | None = None
    srid: int = 4326
    jsonfg: bool = False
    place_srid: int | None = None
    where: S.Composable | None = None
    where_params: dict[str, Any] = field(default_factory=dict)
    code: str | None = None
    limit: int = 100
    offset: int = 0


def _area_geometry(srid: int) -> S.Composable:
    if abs(srid) == 4326:
        geom = S.SQL("ST_Transform(a.geom, 4326)")
        return S.SQL("ST_FlipCoordinates({})").format(geom) if srid < 0 else geom
    return S.SQL("a.geom") if srid == 25832 else S.SQL("ST_Transform(a.geom, {})").format(S.Literal(srid))


async def select_areas(conn: AsyncConnection, aq: AreaQuery) -> tuple[str, int, int]:
    """Reference areas or sectors as GeoJSON Features: (JSON array text, matched, returned)."""
    params: dict[str, Any] = {"limit": aq.limit, "offset": aq.offset, **aq.where_params}
    conds: list[S.Composable] = [S.SQL("TRUE")]
    if aq.source == "reference":
        table = S.SQL("reference_area a")
        conds.append(S.SQL("a.area_type = %(area_type)s"))
        params["area_type"] = aq.area_type
        props = S.SQL("jsonb_build_object('type', a.area_type, 'code', a.code, 'name', a.name,"
                      " 'parent_code', a.parent_code, 'area_km2', round(a.area_km2::numeric, 2))")
        time, order = S.SQL("NULL::json"), S.SQL("a.code")
    else:
        table = S.SQL("patrol_sector a JOIN police_station st ON st.code = a.station_code")
        props = S.SQL("jsonb_build_object('code', a.code, 'name', a.name, 'station', st.name,"
                      " 'politikreds', a.politikreds_code, 'illustrative', a.illustrative,"
                      " 'virkningFra', nullif(lower(a.valid), '-infinity'),"
                      " 'virkningTil', nullif(upper(a.valid), 'infinity'))")
        time = S.SQL("jsonb_build_object('interval', jsonb_build_array("
                     "coalesce(CASE WHEN lower(a.valid) > '-infinity' THEN {} END, '..'),"
                     "coalesce(CASE WHEN upper(a.valid) < 'infinity' THEN {} END, '..')))").format(
            _utc("lower(a.valid)"), _utc("upper(a.valid)"))
        order = S.SQL("a.code, lower(a.valid)")
        if aq.during is not None:
            conds.append(S.SQL("a.valid && tstzrange(%(d0)s::timestamptz, %(d1)s::timestamptz, '[]')"))
            params["d0"], params["d1"] = aq.during
        else:
            conds.append(S.SQL("a.valid @> %(t)s::timestamptz"))
            params["t"] = aq.t
    if aq.code is not None:
        conds.append(S.SQL("a.code = %(code)s"))
        params["code"] = aq.code
    if aq.bbox:
        env = S.SQL("ST_Transform(ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, {}), 25832)").format(
            S.Literal(aq.bbox_srid))
        conds.append(S.SQL("a.geom && {env} AND ST_Intersects(a.geom, {env})").format(env=env))
        params.update(dict(zip(("x0", "y0", "x1", "y1"), aq.bbox, strict=True)))
    if aq.where is not None:
        conds.append(aq.where)
    members = S.SQL("")
    if aq.jsonfg:
        members = S.SQL(", 'featureType', {ftype}, 'time', {time}, 'place', {place}").format(
            ftype=S.Literal(aq.area_type or "sector"), time=time,
            place=_place(aq.place_srid, "a.geom"))
    statement = S.SQL("""
        WITH page AS (
            SELECT a.*, {props} AS props, count(*) OVER () AS total
            FROM {table}
            WHERE {conds}
            ORDER BY {order}
            LIMIT %(limit)s OFFSET %(offset)s
        )
        SELECT coalesce(json_agg(json_build_object(
                   'type', 'Feature', 'id', a.code,
                   'geometry', ST_AsGeoJSON(ST_ForcePolygonCCW({geometry}), {precision})::json,
                   'properties', a.props{members}) ORDER BY {order}), '[]'::json)::text AS features,
               coalesce(max(a.total), 0) AS total, count(*) AS returned
        FROM page a
        """).format(props=props, table=table, conds=S.SQL(" AND ").join(conds), order=order,
                    geometry=_area_geometry(aq.srid), precision=S.Literal(6 if abs(aq.srid) == 4326 else 2),
                    members=members)
    cur = await conn.execute(statement, params, prepare=False)
    row = await cur.fetchone()
    assert row is not None
    return row["features"], int(row["total"]), int(row["returned"])


async def zone_extents(conn: AsyncConnection, access: ZoneFilter) -> dict[str | None, dict[str, Any]]:
    """Per kind (and None for all zones): bounding box (EPSG:4326) and the first and last moment in force of
    the published versions the caller may see."""
    cur = await conn.execute(
        S.SQL("""
        SELECT z.kind, ST_XMin(e) AS x0, ST_YMin(e) AS y0, ST_XMax(e) AS x1, ST_YMax(e) AS y1, t0, t1
        FROM (SELECT z.kind, ST_Extent(v.geom_wgs84) AS e, min(lower(v.effective)) AS t0,
                     max(upper(v.effective)) AS t1
              FROM zone z JOIN zone_version v ON v.zone_id = z.id
              WHERE v.state = 'published' AND NOT isempty(v.effective) AND {access}
              GROUP BY ROLLUP (z.kind)) z
        """).format(access=ACCESS_CONDITION),
        {"visibilities": list(access.visibilities), "restricted_kreds": access.restricted_politikreds},
    )
    return {row["kind"]: row for row in await cur.fetchall()}
