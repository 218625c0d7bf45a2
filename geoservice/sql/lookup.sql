-- Everything that applies at one point at one moment: the zones in force there (as far as the caller may
-- see), the patrol sector with its station and officers, the politikreds and the kommune.
-- Parameters: lon, lat (EPSG:4326), t, visibilities (text[]), restricted_kreds (text or NULL).
-- Second column, outside_m: NULL when a politikreds holds the point; otherwise the distance in metres to the
-- nearest one (the caller refuses points too far from Denmark). Only that rare case pays for the KNN search:
-- the subquery is an InitPlan, run only when the CASE reaches it.
-- The time tests are written so that no index can serve them (coalesce(... , false)): the statement is
-- prepared, and a generic plan, which knows neither the point nor the moment, otherwise starts from the
-- index of versions or sectors in force and tests every boundary in force against the point (2.9 ms, 132
-- sector boundaries); the spatial index is always the selective start.
-- The zone and the sector objects are lookup_zone.sql and lookup_sector.sql, composed in below; the public
-- lookup index (lookup_index.sql, geoservice/public_lookup.py) is made of the same.
WITH pt AS (
    SELECT ST_Transform(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326), 25832) AS geom
),
district AS (
    SELECT json_build_object('code', a.code, 'name', a.name) AS body
    FROM reference_area_part p JOIN reference_area a ON a.id = p.area_id CROSS JOIN pt
    WHERE p.area_type = 'politikreds' AND ST_Intersects(p.geom, pt.geom)
    ORDER BY a.code LIMIT 1
)
SELECT json_build_object(
    'at', %(t)s::timestamptz,
    'point', json_build_object('lat', %(lat)s::float8, 'lon', %(lon)s::float8),
    'zones', coalesce((
        SELECT json_agg(hit.body ORDER BY hit.kind, hit.name, hit.id) FROM (
        SELECT DISTINCT ON (z.id) z.id, z.kind, z.name, {zone_body} AS body
        FROM zone_version v
        JOIN zone z ON z.id = v.zone_id
        JOIN zone_kind k ON k.code = z.kind
        CROSS JOIN pt
        WHERE v.state = 'published'
          AND coalesce(v.effective @> %(t)s::timestamptz, false)  -- see the note on time tests above
          AND ST_Intersects(v.geom, pt.geom)
          AND zone_visible(z.visibility, v.politikreds_code, %(visibilities)s, %(restricted_kreds)s)
        ORDER BY z.id, lower(v.valid) DESC
        ) hit
    ), '[]'::json),
    'sector', (
        SELECT {sector_body}
        FROM patrol_sector s
        JOIN police_station st ON st.code = s.station_code
        CROSS JOIN pt
        WHERE coalesce(s.valid @> %(t)s::timestamptz, false) AND ST_Intersects(s.geom, pt.geom)
        ORDER BY s.code
        LIMIT 1
    ),
    'police_district', (SELECT body FROM district),
    'municipality', (
        SELECT json_build_object('code', a.code, 'name', a.name)
        FROM reference_area_part p JOIN reference_area a ON a.id = p.area_id CROSS JOIN pt
        WHERE p.area_type = 'kommune' AND ST_Intersects(p.geom, pt.geom)
        ORDER BY a.code LIMIT 1
    )
)::text AS body,
CASE WHEN EXISTS (SELECT 1 FROM district) THEN NULL ELSE (
    SELECT ST_Distance(p.geom, (SELECT geom FROM pt))
    FROM reference_area_part p
    WHERE p.area_type = 'politikreds'
    ORDER BY p.geom <-> (SELECT geom FROM pt)  -- a parameter, so the GiST index orders the parts
    LIMIT 1
) END AS outside_m
