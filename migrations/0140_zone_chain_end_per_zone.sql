-- zone_chain_end (0005) asked "is any version in force at t / at the end of a" with conditions that the planner
-- answered through the GiST index on zone_version.effective: a bitmap of every version in force anywhere at
-- that moment, ANDed with the zone's own few versions. Its cost grew with the number of zones in force (51 ms
-- per feature at 10,000 zones, so 50 s for a page of 1,000; bench/ogc.py). The same rule over the zone's own
-- published versions only (read once through zone_version_published_idx), as zone_chain_end_known does:
-- the cost follows the zone's own history, not the register's size.
CREATE OR REPLACE FUNCTION zone_chain_end(p_zone integer, t timestamptz)
RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH own AS MATERIALIZED (
        SELECT v.effective
        FROM zone_version v
        WHERE v.zone_id = p_zone AND v.state = 'published' AND NOT isempty(v.effective)
    )
    SELECT min(upper(a.effective))
    FROM own a
    WHERE upper(a.effective) > t
      AND EXISTS (SELECT 1 FROM own c WHERE c.effective @> t)
      AND NOT EXISTS (SELECT 1 FROM own b WHERE b.effective @> upper(a.effective))
$$;
