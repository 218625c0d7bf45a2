-- The legal validity report at %(t)s, set-based so it stays fast for tens of thousands of zones. The
-- `classified` step restates zone_status_at (migrations 0005, 0010) over all zones at once; calling the
-- function per zone costs ten times more. tests/test_lifecycle.py checks that both give the same counts.
-- Zones the caller may not see are excluded by %(visibilities)s (legal and admin see everything).
-- A report at a past moment says what the register said then (%(known)s: the moment knowledge is cut, %(t)s for a
-- past report, 'infinity' for now): zones recorded by then, versions published by then, endings and revocations
-- recorded by then, a decision reference as it was then (from the audit log), overrides recorded by then, and a
-- zone archived after %(t)s as still published. So an extension, a revocation or a late decision reference
-- recorded afterwards does not change a report at an earlier moment, and a zone imported from a file after %(t)s
-- (migrations/0170) is not in it at all.
-- A historical record (an import of past designations, each published with an admin override) is one finding
-- per import in `historical_records`, with its counts, instead of hundreds of overrides and missing decision
-- references; %(historical_detail)s lists them one by one as well.
WITH
params AS (SELECT %(t)s::timestamptz AS t, %(known)s::timestamptz AS known),
historical AS (
    SELECT i.* FROM zone_import i, params WHERE i.historical AND i.imported_at <= params.t
),
zones AS (
    SELECT z.id, z.name, z.kind, z.visibility,
           CASE WHEN coalesce(z.revoked_recorded_at, '-infinity') <= params.known THEN z.revoked_at END AS revoked_at,
           z.archived_at, k.name_da AS kind_name, k.warning_days, k.definition -> 'warning_days' AS windows
    FROM zone z JOIN zone_kind k ON k.code = z.kind
    LEFT JOIN zone_import i ON i.id = z.import_id, params
    WHERE z.visibility = ANY(%(visibilities)s)
      -- known then: recorded by then (or a version published by then: data loaded with its own history)
      AND (z.created_at <= params.known OR EXISTS (SELECT 1 FROM zone_version pv WHERE pv.zone_id = z.id
                                                  AND pv.state = 'published' AND pv.published_at <= params.known))
      AND (i.id IS NULL OR i.imported_at <= params.t)
),
published AS (
    SELECT v.zone_id, v.id, v.version_no, v.change,
           CASE WHEN v.ended_at IS NULL OR coalesce(v.ended_recorded_at, '-infinity') <= params.known
                THEN v.effective ELSE v.valid END AS effective,
           v.valid,
           CASE WHEN params.known = 'infinity' THEN v.decision_ref
                -- the value the last audited change by then left (null included); no such change: as it is
                ELSE coalesce((SELECT a.after -> 'decision_ref' FROM audit_log a
                               WHERE a.entity = 'zone_version' AND a.entity_id = v.id AND a.at <= params.known
                               ORDER BY a.seq DESC LIMIT 1), to_jsonb(v.decision_ref)) #>> '{}' END AS decision_ref,
           v.override_rule, v.override_reason, v.published_at, v.published_by,
           CASE WHEN coalesce(v.ended_recorded_at, '-infinity') <= params.known THEN v.ended_reason END AS ended_reason,
           CASE WHEN coalesce(v.ended_recorded_at, '-infinity') <= params.known THEN v.ended_at END AS ended_at,
           v.import_id, coalesce(v.import_id IN (SELECT id FROM historical), false) AS historical
    FROM zone_version v JOIN zones z ON z.id = v.zone_id, params
    WHERE v.state = 'published' AND v.published_at <= params.known
),
-- Islands of unbroken published periods per zone: a new island starts where a period begins after
-- everything before it has ended.
ordered AS (
    SELECT p.*,
           max(upper(p.effective)) OVER (PARTITION BY p.zone_id ORDER BY lower(p.effective), p.id
                                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
    FROM published p
    WHERE NOT isempty(p.effective)
),
islands AS (
    SELECT o.*, sum(CASE WHEN o.prev_end IS NULL OR lower(o.effective) > o.prev_end THEN 1 ELSE 0 END)
                OVER (PARTITION BY o.zone_id ORDER BY lower(o.effective), o.id) AS island
    FROM ordered o
),
island_span AS (
    SELECT zone_id, island, min(lower(effective)) AS island_start, max(upper(effective)) AS island_end
    FROM islands GROUP BY zone_id, island
),
current_run AS (
    SELECT s.zone_id, s.island_end AS designation_end
    FROM island_span s, params
    WHERE s.island_start <= params.t AND params.t < s.island_end
),
per_zone AS (
    SELECT p.zone_id,
           -- scheduled: a designation starts later, and nothing has stopped it by t
           bool_or(lower(p.valid) > params.t AND (p.ended_at IS NULL OR p.ended_at > params.t)) AS any_scheduled,
           max(upper(p.effective)) FILTER (WHERE NOT isempty(p.effective)) AS last_end
    FROM published p, params
    GROUP BY p.zone_id
),
state AS (
    SELECT z.*, c.designation_end, pz.zone_id IS NOT NULL AS any_published,
           coalesce(pz.any_scheduled, false) AS any_scheduled, pz.last_end
    FROM zones z
    LEFT JOIN per_zone pz ON pz.zone_id = z.id
    LEFT JOIN current_run c ON c.zone_id = z.id
),
classified AS (
    SELECT s.*,
           CASE
               WHEN s.revoked_at IS NOT NULL AND s.revoked_at <= params.t THEN 'revoked'
               WHEN NOT s.any_published THEN 'draft'
               WHEN s.designation_end IS NOT NULL THEN
                   CASE WHEN s.designation_end < 'infinity' AND s.warning_days > 0
                             AND params.t >= warning_opens(s.designation_end, s.warning_days)
                        THEN 'expiring' ELSE 'in_force' END
               WHEN s.any_scheduled THEN 'scheduled'
               ELSE 'expired'
           END AS status
    FROM state s, params
)
SELECT json_build_object(
    'status_counts', (SELECT coalesce(json_object_agg(status, n), '{}') FROM
                         (SELECT status, count(*) AS n FROM classified GROUP BY status) c),
    'expiring', coalesce((
        SELECT json_agg(json_build_object(
                   'zone_id', c.id, 'name', c.name, 'kind', c.kind, 'kind_name', c.kind_name, 'status', c.status,
                   'designation_end', c.designation_end,
                   'days_left', round((extract(epoch FROM c.designation_end - params.t) / 86400)::numeric, 1),
                   'warning_days', c.windows,
                   -- the narrowest window crossed, decided between instants (days_left is only for reading)
                   'warning_window_days', (SELECT min(w::integer) FROM jsonb_array_elements_text(c.windows) w
                                           WHERE params.t >= warning_opens(c.designation_end, w::integer)),
                   'warning_window_opened_at', (SELECT max(warning_opens(c.designation_end, w::integer))
                                                FROM jsonb_array_elements_text(c.windows) w
                                                WHERE params.t >= warning_opens(c.designation_end, w::integer)))
               ORDER BY c.designation_end, c.id)
        FROM classified c, params WHERE c.status = 'expiring'), '[]'),
    'expired_still_published', coalesce((
        SELECT json_agg(json_build_object(
                   'zone_id', c.id, 'name', c.name, 'kind', c.kind, 'kind_name', c.kind_name, 'status', c.status,
                   'expired_at', c.last_end,
                   'days_since', round((extract(epoch FROM params.t - c.last_end) / 86400)::numeric, 1))
               ORDER BY c.last_end, c.id)
        FROM classified c, params
        WHERE c.status = 'expired' AND (c.archived_at IS NULL OR c.archived_at > params.t)), '[]'),
    'chain_gaps', coalesce((
        SELECT json_agg(json_build_object(
                   'zone_id', i.zone_id, 'name', z.name, 'kind', z.kind, 'status', z.status,
                   'gap_from', i.prev_end, 'gap_to', lower(i.effective),
                   'gap_days', round((extract(epoch FROM lower(i.effective) - i.prev_end) / 86400)::numeric, 2),
                   'version', i.version_no, 'change', i.change, 'published_at', i.published_at)
               ORDER BY i.zone_id, lower(i.effective))
        FROM islands i JOIN classified z ON z.id = i.zone_id, params
        WHERE i.prev_end IS NOT NULL AND lower(i.effective) > i.prev_end AND i.published_at <= params.t), '[]'),
    'chain_overlaps', coalesce((
        SELECT json_agg(json_build_object(
                   'zone_id', i.zone_id, 'name', z.name, 'kind', z.kind, 'status', z.status,
                   'overlap_from', lower(i.effective), 'overlap_to', least(i.prev_end, upper(i.effective)),
                   'version', i.version_no, 'published_at', i.published_at)
               ORDER BY i.zone_id, lower(i.effective))
        FROM islands i JOIN classified z ON z.id = i.zone_id, params
        WHERE i.prev_end IS NOT NULL AND lower(i.effective) < i.prev_end AND i.published_at <= params.t), '[]'),
    'missing_decision_ref', coalesce((
        SELECT json_agg(json_build_object(
                   'zone_id', p.zone_id, 'name', z.name, 'kind', z.kind, 'status', z.status,
                   'version', p.version_no, 'published_at', p.published_at)
               ORDER BY p.zone_id, p.version_no)
        FROM published p JOIN classified z ON z.id = p.zone_id, params
        WHERE (p.decision_ref IS NULL OR btrim(p.decision_ref) = '') AND p.published_at <= params.t
          AND (%(historical_detail)s OR NOT p.historical)), '[]'),
    -- every override from every route (migrations/0110): one on a version counts from that version's
    -- publication, one on the zone itself (visibility, revocation) from when it was recorded
    'overrides', coalesce((
        SELECT json_agg(json_build_object(
                   'zone_id', o.zone_id, 'name', z.name, 'kind', z.kind, 'status', z.status,
                   'version', v.version_no, 'action', o.action, 'rules', o.rules, 'rule', o.rule_text,
                   'reason', o.reason, 'by', o.actor, 'recorded_at', o.recorded_at,
                   'published_by', v.published_by, 'published_at', v.published_at)
               ORDER BY o.zone_id, o.recorded_at, o.id)
        FROM rule_override o
        JOIN classified z ON z.id = o.zone_id
        LEFT JOIN zone_version v ON v.id = o.version_id, params
        WHERE o.recorded_at <= params.t
          AND (o.version_id IS NULL OR (v.state = 'published' AND v.published_at <= params.t))
          AND (%(historical_detail)s OR o.import_id IS NULL
               OR o.import_id NOT IN (SELECT id FROM historical))), '[]'),
    'historical_records', coalesce((
        SELECT json_agg(json_build_object(
                   'import_id', h.id, 'source', h.source, 'file', h.file_name, 'imported_at', h.imported_at,
                   'by', h.imported_by, 'reason', h.override_reason,
                   'zones', (SELECT count(DISTINCT p.zone_id) FROM published p WHERE p.import_id = h.id),
                   'versions', (SELECT count(*) FROM published p WHERE p.import_id = h.id),
                   'valid_from', (SELECT min(lower(p.valid)) FROM published p WHERE p.import_id = h.id),
                   'valid_to', (SELECT max(upper(p.valid)) FROM published p WHERE p.import_id = h.id),
                   'missing_decision_ref', (SELECT count(*) FROM published p WHERE p.import_id = h.id
                                            AND (p.decision_ref IS NULL OR btrim(p.decision_ref) = '')),
                   'overrides', (SELECT count(*) FROM rule_override o WHERE o.import_id = h.id),
                   'rules', (SELECT coalesce(json_agg(DISTINCT r ORDER BY r), '[]')
                             FROM rule_override o, unnest(o.rules) r WHERE o.import_id = h.id))
               ORDER BY h.imported_at, h.id)
        FROM historical h), '[]')
)::text AS body
FROM params
