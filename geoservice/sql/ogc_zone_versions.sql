-- Every version (designation, extension, amendment) of zone %(zone_id)s the caller may see, as GeoJSON Features
-- ordered by version number, with the two time axes and the JSON-FG members (store/ogc.py composes them in),
-- and links to the predecessor and successor version (RFC 5829 rel names, as in the OGC versioned-features
-- proposal). The access placeholder is the visibility rule; drafts only when %(drafts)s. The geometry is in the
-- output CRS.
WITH visible AS (
    SELECT v.*, z.kind, z.name, z.visibility
    FROM zone z JOIN zone_version v ON v.zone_id = z.id
    WHERE z.id = %(zone_id)s AND {access} AND (%(drafts)s OR v.state = 'published')
      AND (%(version_no)s::integer IS NULL OR v.version_no = %(version_no)s::integer)
), chained AS (
    SELECT v.*,
           (SELECT max(p.version_no) FROM zone_version p
            WHERE p.zone_id = v.zone_id AND p.version_no < v.version_no AND (%(drafts)s OR p.state = 'published'))
               AS predecessor,
           (SELECT min(s.version_no) FROM zone_version s
            WHERE s.zone_id = v.zone_id AND s.version_no > v.version_no AND (%(drafts)s OR s.state = 'published'))
               AS successor,
           (SELECT max(l.version_no) FROM zone_version l
            WHERE l.zone_id = v.zone_id AND (%(drafts)s OR l.state = 'published')) AS latest
    FROM visible v
)
SELECT coalesce(json_agg((jsonb_build_object(
    'type', 'Feature',
    'id', v.zone_id || '.' || v.version_no,
    'geometry', ST_AsGeoJSON(ST_ForcePolygonCCW({geometry}), {precision})::jsonb,
    'properties', jsonb_build_object(
        'zone_id', v.zone_id,
        'kind', v.kind,
        'name', v.name,
        'version', v.version_no,
        'change', v.change,
        'continues_version', (SELECT c.version_no FROM zone_version c WHERE c.id = v.continues_version_id),
        'state', v.state,
        'version_status', (SELECT version_status_at(zv, %(t)s) FROM zone_version zv WHERE zv.id = v.id),
        'valid_from', lower(v.valid),
        'valid_to', nullif(upper(v.valid), 'infinity'),
        'ended_at', v.ended_at,
        'ended_reason', v.ended_reason,
        'decision_ref', v.decision_ref,
        'decided_by', v.decided_by,
        'legal_basis', v.legal_basis,
        'reason', v.reason,
        'published_at', v.published_at,
        'area_m2', round(ST_Area(v.geom)::numeric, 0)
    ) || {axes},
    'links', jsonb_build_array(
        jsonb_build_object('rel', 'self', 'type', 'application/geo+json',
                           'href', %(base)s::text || '/versions/' || v.version_no),
        jsonb_build_object('rel', 'version-history', 'type', 'application/geo+json',
                           'href', %(base)s::text || '/versions'),
        jsonb_build_object('rel', 'latest-version', 'type', 'application/geo+json',
                           'href', %(base)s::text || '/versions/' || v.latest),
        jsonb_build_object('rel', 'collection', 'type', 'application/json', 'href', %(collection)s::text))
      || CASE WHEN v.predecessor IS NULL THEN '[]'::jsonb ELSE jsonb_build_array(jsonb_build_object(
             'rel', 'predecessor-version', 'type', 'application/geo+json',
             'href', %(base)s::text || '/versions/' || v.predecessor)) END
      || CASE WHEN v.successor IS NULL THEN '[]'::jsonb ELSE jsonb_build_array(jsonb_build_object(
             'rel', 'successor-version', 'type', 'application/geo+json',
             'href', %(base)s::text || '/versions/' || v.successor)) END
){members}) ORDER BY v.version_no), '[]'::json)::text AS features
FROM chained v JOIN zone z ON z.id = v.zone_id
