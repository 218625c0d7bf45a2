-- Every boundary a lookup at the moment t can hit, with the part of the answer it contributes, for the public
-- lookup index (geoservice/public_lookup.py): the zones in force as the caller may see them (lookup_zone.sql),
-- the sectors in force (lookup_sector.sql), and the politikreds and kommune parts. `rank` is the order in which
-- lookup.sql lists or picks them (zones by kind, name and id; sectors and areas by code), `valid_from` (epoch
-- seconds) decides between two versions of one zone as lookup.sql's DISTINCT ON does, and the daily window
-- is given as times so that daily_window_applies can be set for each request's moment.
-- Parameters: t, visibilities (text[]), restricted_kreds (text or NULL).
SELECT 'zone' AS layer, z.id::text AS key, row_number() OVER (ORDER BY z.kind, z.name, z.id) AS rank,
       extract(epoch FROM lower(v.valid))::float8 AS valid_from, ST_AsBinary(v.geom) AS wkb,
       ({zone_body})::text AS body, k.daily_window_start AS window_start, k.daily_window_end AS window_end
FROM zone_version v
JOIN zone z ON z.id = v.zone_id
JOIN zone_kind k ON k.code = z.kind
WHERE v.state = 'published' AND v.effective @> %(t)s::timestamptz
  AND zone_visible(z.visibility, v.politikreds_code, %(visibilities)s, %(restricted_kreds)s)
UNION ALL
SELECT 'sector', s.code, row_number() OVER (ORDER BY s.code), NULL, ST_AsBinary(s.geom), ({sector_body})::text,
       NULL, NULL
FROM patrol_sector s
JOIN police_station st ON st.code = s.station_code
WHERE s.valid @> %(t)s::timestamptz
UNION ALL
SELECT p.area_type, a.code, row_number() OVER (PARTITION BY p.area_type ORDER BY a.code), NULL, ST_AsBinary(p.geom),
       json_build_object('code', a.code, 'name', a.name)::text, NULL, NULL
FROM reference_area_part p
JOIN reference_area a ON a.id = p.area_id
WHERE p.area_type IN ('politikreds', 'kommune')
