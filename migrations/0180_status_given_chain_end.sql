-- The statuses of a zone and of its version at t, given what a listing has at hand: the zone's chain end at t
-- (zone_chain_end, the costly part), its revocation and its kind's warning days. A page of Features used to
-- compute the chain end three times per zone (status, version status, designation end) and read zone and
-- zone_kind again inside each function: 0.2 ms a Feature, most of a 1,000-zone page (bench/ogc.py). The rules
-- live only here; zone_status_at and version_status_at are these functions with the values looked up. The
-- *_given functions are single SQL expressions, which PostgreSQL inlines into the listing's query.

-- A zone with no version in force at t: a draft, scheduled or expired. PL/pgSQL, not SQL: called from other
-- functions, a SQL function with subqueries is planned again at every call (8 times slower).
CREATE FUNCTION zone_status_out_of_force(p_zone integer, t timestamptz)
RETURNS text LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM zone_version WHERE zone_id = p_zone AND state = 'published') THEN
        RETURN 'draft';
    END IF;
    IF EXISTS (SELECT 1 FROM zone_version
               WHERE zone_id = p_zone AND state = 'published' AND lower(valid) > t
                 AND (ended_at IS NULL OR ended_at > t)) THEN
        RETURN 'scheduled';
    END IF;
    RETURN 'expired';
END
$$;

-- A chain end exists only where a published version is in force, so a zone with one is never a draft.
CREATE FUNCTION zone_status_given(p_zone integer, t timestamptz, chain_end timestamptz, revoked_at timestamptz,
                                  warning_days integer)
RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN revoked_at IS NOT NULL AND revoked_at <= t THEN 'revoked'
        WHEN chain_end IS NOT NULL THEN
            CASE WHEN chain_end < 'infinity' AND warning_days > 0 AND t >= warning_opens(chain_end, warning_days)
                 THEN 'expiring' ELSE 'in_force' END
        ELSE zone_status_out_of_force(p_zone, t)
    END
$$;

CREATE OR REPLACE FUNCTION zone_status_at(p_zone integer, t timestamptz)
RETURNS text LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    z_revoked timestamptz;
    warn integer;
BEGIN
    SELECT z.revoked_at, k.warning_days INTO z_revoked, warn
    FROM zone z JOIN zone_kind k ON k.code = z.kind WHERE z.id = p_zone;
    RETURN zone_status_given(p_zone, t, zone_chain_end(p_zone, t), z_revoked, warn);
END
$$;

-- A version's status from its own columns (not the whole row: that would copy its boundary into the call).
-- Withdrawn from the moment the revocation that withdrew it took effect (the zone's revoked_at).
CREATE FUNCTION version_status_given(state text, ended_reason text, ended_at timestamptz, valid tstzrange,
                                     effective tstzrange, t timestamptz, chain_end timestamptz,
                                     zone_revoked_at timestamptz, warning_days integer)
RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN state = 'draft' THEN 'draft'
        WHEN ended_reason = 'withdrawn' AND t >= zone_revoked_at THEN 'withdrawn'
        WHEN ended_at IS NOT NULL AND ended_at <= t THEN
            CASE ended_reason WHEN 'amended' THEN 'superseded' ELSE 'revoked' END
        WHEN t < lower(valid) THEN 'scheduled'
        WHEN effective @> t THEN
            CASE WHEN chain_end < 'infinity' AND warning_days > 0 AND t >= warning_opens(chain_end, warning_days)
                 THEN 'expiring' ELSE 'in_force' END
        ELSE 'expired'
    END
$$;

CREATE OR REPLACE FUNCTION version_status_at(v zone_version, t timestamptz)
RETURNS text LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    z_revoked timestamptz;
    warn integer;
BEGIN
    SELECT z.revoked_at, k.warning_days INTO z_revoked, warn
    FROM zone z JOIN zone_kind k ON k.code = z.kind WHERE z.id = v.zone_id;
    RETURN version_status_given(v.state, v.ended_reason, v.ended_at, v.valid, v.effective, t,
                                CASE WHEN v.effective @> t THEN zone_chain_end(v.zone_id, t) END, z_revoked, warn);
END
$$;
