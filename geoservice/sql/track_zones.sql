-- The zones a track check touched, with what a case file needs to cite them.
SELECT json_object_agg(z.id, json_build_object(
           'id', z.id, 'kind', z.kind, 'kind_name', k.name_da, 'name', z.name, 'illustrative', z.illustrative,
           'revoked_at', z.revoked_at,
           'daily_window', CASE WHEN k.daily_window_start IS NULL THEN NULL ELSE json_build_object(
               'start', to_char(k.daily_window_start, 'HH24:MI'), 'end', to_char(k.daily_window_end, 'HH24:MI')) END,
           'versions', (SELECT json_agg(json_build_object(
                                'version', v.version_no, 'valid_from', lower(v.valid),
                                'valid_to', nullif(upper(v.valid), 'infinity'), 'ended_at', v.ended_at,
                                'ended_reason', v.ended_reason, 'change', v.change,
                                'decision_ref', v.decision_ref, 'legal_basis', v.legal_basis) ORDER BY v.version_no)
                        FROM zone_version v WHERE v.zone_id = z.id AND v.state = 'published')
       ))::text AS body
FROM zone z JOIN zone_kind k ON k.code = z.kind
WHERE z.id = ANY(%(ids)s)
