-- Who may see a zone, in one place for every query (the rule itself is described in geoservice/access.py):
-- its visibility is one the caller may see, or it is restricted and belongs to the caller's own district.
-- A zone with no district is never visible through the district rule.
CREATE FUNCTION zone_visible(visibility text, politikreds_code text, visibilities text[], restricted_kreds text)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT visibility = ANY(visibilities)
        OR (visibility = 'restricted' AND restricted_kreds IS NOT NULL AND politikreds_code = restricted_kreds)
$$;
