-- One Din Betjent sector at %(t)s: its boundary, station and officers, its neighbours, and the zones that
-- touch it — in force now, and starting or ending in the next %(days)s days (as far as the caller may see;
-- %(in_force_only)s, the public: nothing about zones not yet in force, so no upcoming changes at all).
WITH s AS (
    SELECT * FROM patrol_sector WHERE code = %(code)s AND valid @> %(t)s::timestamptz
),
visible AS (
    SELECT z.*, k.name_da AS kind_name FROM zone z JOIN zone_kind k ON k.code = z.kind
),
touching AS (
    SELECT DISTINCT z.id, z.name, z.kind, z.kind_name
    FROM visible z JOIN zone_version v ON v.zone_id = z.id AND v.state = 'published'
    CROSS JOIN s
    WHERE ST_Intersects(v.geom, s.geom) AND NOT isempty(v.effective)
      AND zone_visible(z.visibility, v.politikreds_code, %(visibilities)s, %(restricted_kreds)s)
      AND v.effective && tstzrange(%(t)s::timestamptz, %(t)s::timestamptz + make_interval(days => %(days)s), '[]')
),
starting AS (
    -- zones not in force now whose first version in the window takes effect within it
    SELECT t.id, t.name, t.kind, t.kind_name, min(lower(v.effective)) AS at
    FROM touching t JOIN zone_version v ON v.zone_id = t.id AND v.state = 'published'
    WHERE NOT isempty(v.effective)
      AND lower(v.effective) > %(t)s::timestamptz
      AND lower(v.effective) <= %(t)s::timestamptz + make_interval(days => %(days)s)
      AND zone_chain_end(t.id, %(t)s::timestamptz) IS NULL
    GROUP BY t.id, t.name, t.kind, t.kind_name
)
SELECT json_build_object(
    'sector', json_build_object(
        'type', 'Feature', 'id', s.code,
        'geometry', ST_AsGeoJSON(ST_ForcePolygonCCW(ST_Transform(s.geom, 4326)), 5)::json,  -- RFC 7946 rings
        'properties', json_build_object(
            'code', s.code, 'name', s.name, 'illustrative', s.illustrative, 'politikreds', s.politikreds_code,
            'kommune', (SELECT name FROM reference_area WHERE area_type = 'kommune' AND code = s.kommune_code),
            'area_km2', round((ST_Area(s.geom) / 1e6)::numeric, 2))),
    'station', (SELECT json_build_object('code', st.code, 'name', st.name, 'address', st.address,
                                         'phone', st.phone, 'email', st.email,
                                         'lon', ST_X(ST_Transform(st.geom, 4326)), 'lat', ST_Y(ST_Transform(st.geom, 4326)))
                FROM police_station st WHERE st.code = s.station_code),
    'officers', coalesce((SELECT json_agg(json_build_object('name', o.name, 'title', o.title, 'phone', o.phone,
                                                            'email', o.email) ORDER BY o.name)
                          FROM officer o WHERE o.sector_code = s.code), '[]'),
    'neighbours', json_build_object('type', 'FeatureCollection', 'features', coalesce((
        SELECT json_agg(json_build_object(
                   'type', 'Feature', 'id', n.code,
                   'geometry', ST_AsGeoJSON(ST_ForcePolygonCCW(
                       ST_Transform(ST_SimplifyPreserveTopology(n.geom, 5), 4326)), 5)::json,
                   'properties', json_build_object('code', n.code, 'name', n.name)) ORDER BY n.code)
        FROM patrol_sector n
        WHERE n.code <> s.code AND n.valid @> %(t)s::timestamptz AND ST_DWithin(n.geom, s.geom, 1)), '[]')),
    'upcoming', coalesce((
        SELECT json_agg(c ORDER BY c.at, c.change DESC, c.zone_id) FROM (
            SELECT st.id AS zone_id, st.name, st.kind, st.kind_name, 'starts' AS change, st.at FROM starting st
            UNION ALL
            -- the end of the run in force now, or of the run that starts within the window: a zone can both
            -- start and end within it (a weekend's temporary nattelivszone)
            SELECT t.id, t.name, t.kind, t.kind_name, 'ends', e.at
            FROM touching t LEFT JOIN starting st ON st.id = t.id
            CROSS JOIN LATERAL (SELECT zone_chain_end(t.id, coalesce(st.at, %(t)s::timestamptz)) AS at) e
            WHERE e.at <= %(t)s::timestamptz + make_interval(days => %(days)s)
        ) c WHERE NOT %(in_force_only)s), '[]')
)::text AS body
FROM s
