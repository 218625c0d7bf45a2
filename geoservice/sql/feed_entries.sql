-- Entries of the public Atom feed, newest first: each published version of a public zone (a designation,
-- extension or amendment, updated when it was published) and each recorded revocation of one (updated when it
-- was recorded). A version recorded only after its period had ended is history, not news, and is left out (an
-- import of old decisions does not flood the feed). Keyset paging: entries before (%(before_t)s, %(before_key)s).
-- `shown_at` is a moment the entry's boundary is in force (for the map permalink and the GeoJSON link): the start
-- of the version's effective period; NULL when it never took effect.
WITH entry AS (
    SELECT 'v' || v.id AS key, v.change AS event, v.zone_id, v.id AS version_id, v.published_at AS updated
    FROM zone_version v
    JOIN zone z ON z.id = v.zone_id
    WHERE v.state = 'published' AND z.visibility = 'public' AND upper(v.valid) > v.published_at
      AND (%(kinds)s::text[] IS NULL OR z.kind = ANY (%(kinds)s))
    UNION ALL
    SELECT 'r' || z.id, 'revocation', z.id, last.id, coalesce(z.revoked_recorded_at, z.revoked_at)
    FROM zone z
    CROSS JOIN LATERAL (
        SELECT v.id FROM zone_version v WHERE v.zone_id = z.id AND v.state = 'published'
        ORDER BY isempty(v.effective), lower(v.valid) DESC, v.version_no DESC LIMIT 1
    ) last
    WHERE z.revoked_at IS NOT NULL AND z.visibility = 'public'
      AND (%(kinds)s::text[] IS NULL OR z.kind = ANY (%(kinds)s))
),
page AS (
    SELECT * FROM entry
    WHERE %(before_t)s::timestamptz IS NULL OR (updated, key) < (%(before_t)s::timestamptz, %(before_key)s::text)
    ORDER BY updated DESC, key DESC
    LIMIT %(limit)s
)
SELECT p.key, p.event, p.updated, z.id AS zone_id, z.name, z.kind, k.name_da AS kind_name, z.illustrative,
       k.daily_window_start, k.daily_window_end,
       v.version_no, lower(v.valid) AS valid_from, upper(v.valid) AS valid_to, v.decision_ref, v.decided_by,
       v.legal_basis, v.reason, v.published_at,
       z.revoked_at, z.revoke_reason, z.revoke_decision_ref,
       CASE WHEN isempty(v.effective) THEN NULL ELSE lower(v.effective) END AS shown_at,
       ST_X(c.point) AS lon, ST_Y(c.point) AS lat,
       ST_XMin(v.geom_wgs84) AS xmin, ST_YMin(v.geom_wgs84) AS ymin,
       ST_XMax(v.geom_wgs84) AS xmax, ST_YMax(v.geom_wgs84) AS ymax
FROM page p
JOIN zone z ON z.id = p.zone_id
JOIN zone_kind k ON k.code = z.kind
JOIN zone_version v ON v.id = p.version_id
CROSS JOIN LATERAL (SELECT ST_PointOnSurface(v.geom_wgs84) AS point) c
ORDER BY p.updated DESC, p.key DESC
