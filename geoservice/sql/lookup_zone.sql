-- One zone in force at a point at the moment t, as /api/v1/lookup shows it, given z (zone), v (its version in force)
-- and k (zone_kind). Part of lookup.sql and of the public lookup index (lookup_index.sql), which answers the
-- public's lookups at the current moment from memory (geoservice/public_lookup.py) and sets the one part that
-- changes within a time window, daily_window_applies, for the moment of each request.
json_build_object(
    'id', z.id,
    'kind', z.kind,
    'kind_name', k.name_da,
    'name', z.name,
    'valid_from', lower(v.valid),
    'valid_to', nullif(upper(v.valid), 'infinity'),
    'designation_end', nullif(zone_chain_end(z.id, %(t)s), 'infinity'),
    'legal_basis', v.legal_basis,
    'decision_ref', v.decision_ref,
    'version', v.version_no,
    'in_force', true,
    'status', zone_status_at(z.id, %(t)s),
    'daily_window', CASE WHEN k.daily_window_start IS NULL THEN NULL ELSE json_build_object(
        'start', to_char(k.daily_window_start, 'HH24:MI'),
        'end', to_char(k.daily_window_end, 'HH24:MI')) END,
    'daily_window_applies', daily_window_contains(k.daily_window_start, k.daily_window_end, %(t)s),
    'visibility', z.visibility,
    'illustrative', z.illustrative
)
