-- The published versions that took effect, of every zone the caller may see whose designations reach past
-- %(since)s: the calendar joins them into runs (an extension that starts where the version before ends
-- continues the run) and lists each run's end and its warning dates.
SELECT z.id AS zone_id, z.name, z.kind, k.name_da AS kind_name, z.visibility,
       z.revoked_at, z.revoke_reason, z.revoke_decision_ref, z.revoked_recorded_at,
       v.id AS version_id, v.version_no, v.change, lower(v.effective) AS start, upper(v.effective) AS "end",
       v.ended_reason, v.ended_recorded_at, v.decision_ref, v.decided_by, v.legal_basis, v.published_at
FROM zone_version v
JOIN zone z ON z.id = v.zone_id
JOIN zone_kind k ON k.code = z.kind
WHERE v.state = 'published' AND NOT isempty(v.effective)
  AND zone_visible(z.visibility, v.politikreds_code, %(visibilities)s, %(restricted_kreds)s)
  AND EXISTS (SELECT 1 FROM zone_version r
              WHERE r.zone_id = z.id AND r.state = 'published' AND NOT isempty(r.effective)
                AND upper(r.effective) >= %(since)s)
ORDER BY z.id, lower(v.effective), v.version_no
