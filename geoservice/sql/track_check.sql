-- Which zones were in force at each timed point (a GPS track, or the times and places of a case file).
-- One row per (point, zone) hit; points with no zone produce no row.
WITH pts AS (
    SELECT u.i, u.t, ST_Transform(ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326), 25832) AS geom
    FROM unnest(%(lons)s::float8[], %(lats)s::float8[], %(ts)s::timestamptz[]) WITH ORDINALITY AS u(lon, lat, t, i)
)
SELECT DISTINCT ON (p.i, z.id)
       p.i::int AS i, z.id AS zone_id, v.version_no,
       daily_window_contains(k.daily_window_start, k.daily_window_end, p.t) AS daily_window_applies
FROM pts p
JOIN zone_version v ON v.state = 'published' AND v.effective @> p.t AND ST_Intersects(v.geom, p.geom)
JOIN zone z ON z.id = v.zone_id
JOIN zone_kind k ON k.code = z.kind
WHERE zone_visible(z.visibility, v.politikreds_code, %(visibilities)s, %(restricted_kreds)s)
  AND (%(kinds)s::text[] IS NULL OR z.kind = ANY(%(kinds)s::text[]))
ORDER BY p.i, z.id, lower(v.valid) DESC
