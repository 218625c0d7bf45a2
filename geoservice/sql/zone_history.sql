-- Every version of a zone with its boundary (EPSG:4326) and its status at %(t)s.
SELECT coalesce(json_agg(json_build_object(
           'version', v.version_no,
           'change', v.change,
           'continues_version', (SELECT c.version_no FROM zone_version c WHERE c.id = v.continues_version_id),
           'state', v.state,
           'status', version_status_at(v, %(t)s),
           'valid_from', lower(v.valid),
           'valid_to', nullif(upper(v.valid), 'infinity'),
           'ended_at', v.ended_at,
           'ended_reason', v.ended_reason,
           'decision_ref', v.decision_ref,
           'decided_by', v.decided_by,
           'legal_basis', v.legal_basis,
           'reason', v.reason,
           'boundary_text', v.boundary_text,
           'published_at', v.published_at,
           'published_by', v.published_by,
           'override', CASE WHEN v.override_rule IS NULL THEN NULL
                            ELSE json_build_object('rule', v.override_rule, 'reason', v.override_reason) END,
           'created_at', v.created_at,
           'created_by', v.created_by,
           'area_m2', round(ST_Area(v.geom)::numeric, 0),
           'geometry', ST_AsGeoJSON(ST_ForcePolygonCCW(v.geom_wgs84), 6)::json
       ) ORDER BY v.version_no), '[]'::json)::text AS body
FROM zone_version v
WHERE v.zone_id = %(zone_id)s AND (%(drafts)s OR v.state = 'published')
  AND (%(district)s::text IS NULL OR v.politikreds_code = %(district)s::text)
