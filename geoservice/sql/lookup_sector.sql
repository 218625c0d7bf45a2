-- A Din Betjent sector with its station and officers, as /api/v1/lookup shows it, given s (patrol_sector) and
-- st (police_station). Part of lookup.sql and of the public lookup index (lookup_index.sql).
json_build_object(
    'code', s.code,
    'name', s.name,
    'illustrative', s.illustrative,
    'station', json_build_object('code', st.code, 'name', st.name, 'address', st.address,
                                 'phone', st.phone, 'email', st.email),
    'officers', coalesce((
        SELECT json_agg(json_build_object('name', o.name, 'title', o.title,
                                          'phone', o.phone, 'email', o.email) ORDER BY o.name)
        FROM officer o WHERE o.sector_code = s.code), '[]'::json))
