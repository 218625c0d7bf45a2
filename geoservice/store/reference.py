"""SQL for reference areas (politikreds, kommune, bydel), police stations, patrol sectors and officers."""

from __future__ import annotations

from psycopg import AsyncConnection
from psycopg import sql as S

from geoservice.db import query

FEATURE_COLLECTION = """
SELECT json_build_object(
    'type', 'FeatureCollection',
    'features', coalesce(json_agg(json_build_object(
        'type', 'Feature',
        'id', a.area_type || ':' || a.code,
        'geometry', ST_AsGeoJSON(ST_ForcePolygonCCW(  -- RFC 7946: exterior rings counterclockwise
            ST_Transform(ST_SimplifyPreserveTopology(a.geom, %(tol)s), 4326)), 5)::json,
        'properties', json_build_object('type', a.area_type, 'code', a.code, 'name', a.name,
                                        'parent_code', a.parent_code, 'area_km2', round(a.area_km2::numeric, 2))
    ) ORDER BY a.code), '[]'::json)
)::text AS body
FROM reference_area a
WHERE a.area_type = %(type)s
"""


async def feature_collection(conn: AsyncConnection, area_type: str, tolerance_m: float) -> str:
    cur = await conn.execute(FEATURE_COLLECTION, {"type": area_type, "tol": tolerance_m})
    row = await cur.fetchone()
    assert row is not None
    return row["body"]


async def search(conn: AsyncConnection, params: dict) -> list[dict]:
    cur = await conn.execute(query("search"), params)
    return await cur.fetchall()


SECTORS = """
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
    'type', 'Feature', 'id', s.code,
    'geometry', ST_AsGeoJSON(ST_ForcePolygonCCW(  -- RFC 7946: exterior rings counterclockwise
        ST_Transform(ST_SimplifyPreserveTopology(s.geom, %(tol)s), 4326)), 5)::json,
    'properties', json_build_object('code', s.code, 'name', s.name, 'station', st.name,
                                    'politikreds', s.politikreds_code, 'illustrative', s.illustrative)
) ORDER BY s.code), '[]'::json))::text AS body
FROM patrol_sector s JOIN police_station st ON st.code = s.station_code
WHERE s.valid @> %(t)s::timestamptz
"""


async def sectors(conn: AsyncConnection, t: object, tolerance_m: float) -> str:
    cur = await conn.execute(SECTORS, {"t": t, "tol": tolerance_m})
    row = await cur.fetchone()
    assert row is not None
    return row["body"]


async def sector_detail(conn: AsyncConnection, params: dict) -> str | None:
    cur = await conn.execute(query("sector_detail"), params)
    row = await cur.fetchone()
    return row["body"] if row else None


OUTLINES_NEAR = """
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
    'type', 'Feature',
    'geometry', ST_AsGeoJSON(ST_ForcePolygonCCW(  -- RFC 7946: exterior rings counterclockwise
        ST_Transform(ST_SimplifyPreserveTopology(a.geom, %(tol)s), 4326)), 5)::json,
    'properties', json_build_object('type', a.area_type, 'name', a.name)) ORDER BY a.area_type, a.code), '[]'))::text
FROM reference_area a
WHERE a.area_type IN ('kommune', 'bydel')
  AND a.geom && ST_Expand(ST_Transform(ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326), 25832), 3000)
"""


async def outlines_near(conn: AsyncConnection, bbox: tuple[float, float, float, float], tolerance_m: float) -> str:
    x0, y0, x1, y1 = bbox
    cur = await conn.execute(OUTLINES_NEAR, {"x0": x0, "y0": y0, "x1": x1, "y1": y1, "tol": tolerance_m})
    row = await cur.fetchone()
    assert row is not None
    return next(iter(row.values()))


def _with_lookup_parts(name: str) -> str:
    """A query with the lookup's zone and sector objects composed in (static text: prepared as any other)."""
    return S.SQL(query(name)).format(zone_body=S.SQL(query("lookup_zone")),
                                     sector_body=S.SQL(query("lookup_sector"))).as_string(None)


LOOKUP = _with_lookup_parts("lookup")
LOOKUP_INDEX = _with_lookup_parts("lookup_index")


async def lookup(conn: AsyncConnection, params: dict) -> tuple[str, float | None]:
    """The lookup document, and the point's distance from the nearest politikreds when none holds it."""
    cur = await conn.execute(LOOKUP, params)
    row = await cur.fetchone()
    assert row is not None
    return row["body"], row["outside_m"]


async def lookup_index_rows(conn: AsyncConnection, params: dict) -> list[dict]:
    """Every boundary a lookup can hit at `t`, with its part of the answer (lookup_index.sql)."""
    cur = await conn.execute(LOOKUP_INDEX, params, prepare=False)
    return await cur.fetchall()
