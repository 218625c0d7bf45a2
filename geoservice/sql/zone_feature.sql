-- One zone as a GeoJSON Feature (json), given z (zone), v (zone_version), k (zone_kind) and the moment
-- %(t)s. {geometry} is the geometry expression (full resolution or simplified for a zoom level) and
-- {precision} the number of decimals of its coordinates. Admin overrides are shown to staff only (%(staff)s).
json_build_object(
    'type', 'Feature',
    'id', z.id,
    'geometry', ST_AsGeoJSON({geometry}, {precision})::json,
    'properties', json_build_object(
        'id', z.id,
        'kind', z.kind,
        'kind_name', k.name_da,
        'kind_name_en', k.name_en,
        'name', z.name,
        'status', zone_status_at(z.id, %(t)s),
        'version', v.version_no,
        'version_status', version_status_at(v, %(t)s),
        'change', v.change,
        'valid_from', lower(v.valid),
        'valid_to', nullif(upper(v.valid), 'infinity'),
        'ended_at', v.ended_at,
        'ended_reason', v.ended_reason,
        'designation_end', nullif(zone_chain_end(z.id, %(t)s), 'infinity'),
        'decision_ref', v.decision_ref,
        'decided_by', v.decided_by,
        'legal_basis', v.legal_basis,
        'reason', v.reason,
        'daily_window', CASE WHEN k.daily_window_start IS NULL THEN NULL ELSE json_build_object(
            'start', to_char(k.daily_window_start, 'HH24:MI'), 'end', to_char(k.daily_window_end, 'HH24:MI')) END,
        'visibility', z.visibility,
        'illustrative', z.illustrative,
        'description', z.description,
        'politikreds', z.politikreds_code,
        'list_edition', z.list_edition,
        'published_at', v.published_at,
        'revoked_at', z.revoked_at,
        'revoke_reason', z.revoke_reason,
        'override', CASE WHEN v.override_rule IS NULL OR NOT %(staff)s THEN NULL
                         ELSE json_build_object('rule', v.override_rule, 'reason', v.override_reason) END,
        'area_m2', round(ST_Area(v.geom)::numeric, 0)
    )
)
