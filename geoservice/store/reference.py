"""SQL for reference areas (politikreds, kommune, bydel), police stations, patrol sectors and officers."""

from __future__ import annotations

from psycopg import AsyncConnection

CREDITS = [
    "Indeholder data fra Styrelsen for Dataforsyning og Infrastruktur (DAGI), CC BY 4.0",
    "Bydele: Københavns Kommune, CC BY 4.0",
    "Steder: © OpenStreetMap contributors, ODbL",
    "Statistik: Danmarks Statistik",
]

FEATURE_COLLECTION = """
SELECT json_build_object(
    'type', 'FeatureCollection',
    'features', coalesce(json_agg(json_build_object(
        'type', 'Feature',
        'id', a.area_type || ':' || a.code,
        'geometry', ST_AsGeoJSON(ST_Transform(ST_SimplifyPreserveTopology(a.geom, %(tol)s), 4326), 5)::json,
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
