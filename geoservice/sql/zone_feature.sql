-- One zone as a GeoJSON Feature (json), given z (zone), v (zone_version), k (zone_kind) and the moment
-- %(t)s. `geometry` is the geometry expression (full resolution or simplified for a zoom level) and
-- `precision` the number of decimals of its coordinates. Admin overrides are shown to staff only (%(staff)s).
-- `status`, `version_status` and `chain_end` are the status expressions: as things stand now, or as they were
-- known at %(known)s for published_as_of (store/zones.py); endings and revocations recorded after %(known)s
-- are not shown (%(known)s is 'infinity' for an ordinary listing). more_properties and more_members (below) are
-- further key-value pairs (each starting with a comma, or empty): OGC's time axes and JSON-FG members, built
-- here rather than merged into the finished Feature, which would parse every boundary again as jsonb.
json_build_object(
    'type', 'Feature',
    'id', z.id,
    'geometry', ST_AsGeoJSON(ST_ForcePolygonCCW({geometry}), {precision})::json,  -- RFC 7946: outer rings CCW
    'properties', json_build_object(
        'id', z.id,
        'kind', z.kind,
        'kind_name', k.name_da,
        'kind_name_en', k.name_en,
        'name', z.name,
        'status', {status},
        'version', v.version_no,
        'version_status', {version_status},
        'change', v.change,
        'valid_from', lower(v.valid),
        'valid_to', nullif(upper(v.valid), 'infinity'),
        'ended_at', CASE WHEN coalesce(v.ended_recorded_at, '-infinity') <= %(known)s::timestamptz THEN v.ended_at END,
        'ended_reason', CASE WHEN coalesce(v.ended_recorded_at, '-infinity') <= %(known)s::timestamptz
                             THEN v.ended_reason END,
        'designation_end', nullif({chain_end}, 'infinity'),
        'decision_ref', v.decision_ref,
        'decided_by', v.decided_by,
        'legal_basis', v.legal_basis,
        'reason', v.reason,
        'boundary_text', v.boundary_text,
        'daily_window', CASE WHEN k.daily_window_start IS NULL THEN NULL ELSE json_build_object(
            'start', to_char(k.daily_window_start, 'HH24:MI'), 'end', to_char(k.daily_window_end, 'HH24:MI')) END,
        'visibility', z.visibility,
        'illustrative', z.illustrative,
        'description', z.description,
        'politikreds', z.politikreds_code,
        'list_edition', z.list_edition,
        'source', z.properties -> 'source',  -- where an imported zone's data comes from, with its credit
        'published_at', v.published_at,
        'revoked_at', CASE WHEN coalesce(z.revoked_recorded_at, '-infinity') <= %(known)s::timestamptz
                           THEN z.revoked_at END,
        'revoke_reason', CASE WHEN coalesce(z.revoked_recorded_at, '-infinity') <= %(known)s::timestamptz
                              THEN z.revoke_reason END,
        'override', CASE WHEN v.override_rule IS NULL OR NOT %(staff)s THEN NULL
                         ELSE json_build_object('rule', v.override_rule, 'reason', v.override_reason) END,
        'area_m2', round(ST_Area(v.geom)::numeric, 0){more_properties}
    ){more_members}
)
