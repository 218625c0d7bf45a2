-- Offline place search over what the service holds: zones the caller may see, Din Betjent sectors, police
-- stations, politikredse, kommuner, bydele and OpenStreetMap places. Best matches first: exact name, then
-- names with a word starting with the text, then names containing it; zones and sectors before areas, areas
-- before shops and other points of interest, which also count one step worse: a shop called "Vestergade"
-- comes after "Nattelivszone Vestergade". detail is Danish, detail_en English (places: search.py labels them).
-- Parameters: q (lower case), t, visibilities, restricted_kreds, in_force_only, drafts, limit, near_lon,
-- near_lat (the map's centre, or NULL).
WITH hits AS (
    SELECT 'zone' AS type, z.id::text AS ref, z.name, k.name_da AS detail, k.name_en AS detail_en, 1 AS priority,
           v.geom AS geom
    FROM zone z
    JOIN zone_kind k ON k.code = z.kind
    JOIN LATERAL (
        SELECT v.geom, v.politikreds_code FROM zone_version v
        WHERE v.zone_id = z.id AND (%(drafts)s OR v.state = 'published')
          AND (NOT %(in_force_only)s OR (v.state = 'published' AND v.effective @> %(t)s::timestamptz))
        ORDER BY (v.effective @> %(t)s::timestamptz) DESC, lower(v.valid) DESC LIMIT 1
    ) v ON true
    WHERE lower(z.name) LIKE '%%' || %(q)s || '%%'
      AND zone_visible(z.visibility, v.politikreds_code, %(visibilities)s, %(restricted_kreds)s)
    UNION ALL
    SELECT 'sector', s.code, s.name, st.name, st.name, 2, s.geom
    FROM patrol_sector s JOIN police_station st ON st.code = s.station_code
    WHERE s.valid @> %(t)s::timestamptz AND (lower(s.name) LIKE '%%' || %(q)s || '%%' OR lower(s.code) = %(q)s)
    UNION ALL
    SELECT 'station', st.code, st.name, st.address, st.address, 2, st.geom
    FROM police_station st WHERE lower(st.name) LIKE '%%' || %(q)s || '%%' AND st.geom IS NOT NULL
    UNION ALL
    SELECT a.area_type, a.code, a.name, CASE a.area_type WHEN 'politikreds' THEN 'Politikreds'
                                                    WHEN 'kommune' THEN 'Kommune' ELSE 'Bydel' END,
           CASE a.area_type WHEN 'politikreds' THEN 'Police district' WHEN 'kommune' THEN 'Municipality'
                            ELSE 'District' END, 3, a.geom
    FROM reference_area a WHERE lower(a.name) LIKE '%%' || %(q)s || '%%'
    UNION ALL
    SELECT 'place', p.id::text, p.name, p.category, NULL, CASE WHEN p.category LIKE 'place=%%' THEN 4 ELSE 5 END,
           p.geom
    FROM place p WHERE lower(p.name) LIKE '%%' || %(q)s || '%%'
)
SELECT r.type, r.ref, r.name, r.detail, r.detail_en, r.lon, r.lat, r.bbox,
       -- where a place lies (its kommune), so a shop named after a street is not taken for the street
       CASE WHEN r.type = 'place' THEN (
           SELECT a.name FROM reference_area_part p JOIN reference_area a ON a.id = p.area_id
           WHERE p.area_type = 'kommune' AND ST_Intersects(p.geom, r.geom) ORDER BY a.code LIMIT 1) END AS town
FROM (
    SELECT type, ref, name, detail, detail_en, geom,
           ST_X(ST_Transform(ST_PointOnSurface(geom), 4326)) AS lon,
           ST_Y(ST_Transform(ST_PointOnSurface(geom), 4326)) AS lat,
           CASE WHEN GeometryType(geom) = 'POINT' THEN NULL
                ELSE ARRAY[ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b)] END AS bbox
    FROM (SELECT h.*, ST_Transform(ST_Envelope(h.geom), 4326)::box2d AS b,
                 CASE WHEN lower(h.name) = %(q)s THEN 0
                      WHEN lower(h.name) LIKE %(q)s || '%%' OR lower(h.name) LIKE '%% ' || %(q)s || '%%'
                           OR lower(h.name) LIKE '%%/' || %(q)s || '%%' OR lower(h.name) LIKE '%%-' || %(q)s || '%%' THEN 1
                      ELSE 2 END + CASE WHEN h.priority >= 5 THEN 1 ELSE 0 END AS rank,
                 -- nearer the map's centre first, among equals (near_lon/near_lat NULL: no preference)
                 CASE WHEN %(near_lon)s::float8 IS NULL THEN 0
                      ELSE ST_Distance(h.geom, ST_Transform(ST_SetSRID(
                               ST_MakePoint(%(near_lon)s::float8, %(near_lat)s::float8), 4326), 25832)) END AS distance
          FROM hits h) ranked
    ORDER BY rank, priority, distance, length(name), name
    LIMIT %(limit)s
) r
