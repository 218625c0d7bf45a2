-- For exit events of a track check: was the point where the exit was noticed still inside the boundary of the
-- version the person had been in? Then the boundary changed under them (an amendment narrowed the zone, or an
-- extension took a new line); otherwise they left. One row per input row, in order.
SELECT u.i::int AS i, ST_Intersects(v.geom, ST_Transform(ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326), 25832))
       AS inside_old_boundary
FROM unnest(%(zone_ids)s::int[], %(versions)s::int[], %(lons)s::float8[], %(lats)s::float8[])
     WITH ORDINALITY AS u(zone_id, version_no, lon, lat, i)
JOIN zone_version v ON v.zone_id = u.zone_id AND v.version_no = u.version_no
ORDER BY u.i
