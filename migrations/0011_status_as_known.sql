-- Status of zones and versions at a moment t *as it was known at* a moment k: only what had been recorded by k
-- counts (versions published by k, endings and revocations recorded by k). `published_as_of=D` reconstructs the
-- public map with t = k = D, so a revocation recorded after D does not show on the map of D.
-- With k = 'infinity' these give the same answers as zone_status_at / version_status_at (0005, 0008, 0010),
-- which stay as they are because the lookup and the report use them on the hot path.
-- A NULL *_recorded_at (rows from before it was kept) counts as known from the start.

-- The effective period of a version as known at k: cut short only by an ending recorded by k.
CREATE FUNCTION version_effective_known(v zone_version, k timestamptz)
RETURNS tstzrange LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN v.ended_at IS NULL OR coalesce(v.ended_recorded_at, '-infinity') > k THEN v.valid
                ELSE v.valid * tstzrange(NULL, v.ended_at) END
$$;

CREATE FUNCTION zone_chain_end_known(p_zone integer, t timestamptz, k timestamptz)
RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH known AS (
        SELECT version_effective_known(v, k) AS effective
        FROM zone_version v
        WHERE v.zone_id = p_zone AND v.state = 'published' AND v.published_at <= k
    )
    SELECT min(upper(a.effective))
    FROM known a
    WHERE NOT isempty(a.effective)
      AND upper(a.effective) > t
      AND EXISTS (SELECT 1 FROM known c WHERE c.effective @> t)
      AND NOT EXISTS (SELECT 1 FROM known b WHERE b.effective @> upper(a.effective))
$$;

CREATE FUNCTION zone_status_known(p_zone integer, t timestamptz, k timestamptz)
RETURNS text LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    z zone;
    chain_end timestamptz;
    warn integer;
BEGIN
    SELECT * INTO z FROM zone WHERE id = p_zone;
    IF z.revoked_at IS NOT NULL AND z.revoked_at <= t AND coalesce(z.revoked_recorded_at, '-infinity') <= k THEN
        RETURN 'revoked';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM zone_version
                   WHERE zone_id = p_zone AND state = 'published' AND published_at <= k) THEN
        RETURN 'draft';
    END IF;
    chain_end := zone_chain_end_known(p_zone, t, k);
    IF chain_end IS NOT NULL THEN
        SELECT warning_days INTO warn FROM zone_kind WHERE code = z.kind;
        IF chain_end < 'infinity' AND warn > 0 AND chain_end - t <= make_interval(days => warn) THEN
            RETURN 'expiring';
        END IF;
        RETURN 'in_force';
    END IF;
    IF EXISTS (SELECT 1 FROM zone_version v
               WHERE v.zone_id = p_zone AND v.state = 'published' AND v.published_at <= k AND lower(v.valid) > t
                 AND (v.ended_at IS NULL OR v.ended_at > t OR coalesce(v.ended_recorded_at, '-infinity') > k)) THEN
        RETURN 'scheduled';
    END IF;
    RETURN 'expired';
END
$$;

CREATE FUNCTION version_status_known(v zone_version, t timestamptz, k timestamptz)
RETURNS text LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    chain_end timestamptz;
    warn integer;
    ended_known boolean := v.ended_at IS NOT NULL AND coalesce(v.ended_recorded_at, '-infinity') <= k;
BEGIN
    IF v.state = 'draft' OR v.published_at > k THEN
        RETURN 'draft';
    END IF;
    IF ended_known AND v.ended_at <= t THEN
        RETURN CASE v.ended_reason WHEN 'amended' THEN 'superseded' ELSE 'revoked' END;
    END IF;
    IF t < lower(v.valid) THEN
        RETURN 'scheduled';
    END IF;
    IF version_effective_known(v, k) @> t THEN
        chain_end := zone_chain_end_known(v.zone_id, t, k);
        SELECT kd.warning_days INTO warn FROM zone z JOIN zone_kind kd ON kd.code = z.kind WHERE z.id = v.zone_id;
        IF chain_end < 'infinity' AND warn > 0 AND chain_end - t <= make_interval(days => warn) THEN
            RETURN 'expiring';
        END IF;
        RETURN 'in_force';
    END IF;
    RETURN 'expired';
END
$$;
