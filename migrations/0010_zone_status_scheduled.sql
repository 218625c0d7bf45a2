-- A zone is 'scheduled' at t when a published designation starts later and nothing has stopped it by t; a
-- revocation taking effect after t does not make it 'expired' before then.
CREATE OR REPLACE FUNCTION zone_status_at(p_zone integer, t timestamptz)
RETURNS text LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    z_kind text;
    z_revoked timestamptz;
    chain_end timestamptz;
    warn integer;
BEGIN
    SELECT kind, revoked_at INTO z_kind, z_revoked FROM zone WHERE id = p_zone;
    IF z_revoked IS NOT NULL AND z_revoked <= t THEN
        RETURN 'revoked';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM zone_version WHERE zone_id = p_zone AND state = 'published') THEN
        RETURN 'draft';
    END IF;
    chain_end := zone_chain_end(p_zone, t);
    IF chain_end IS NOT NULL THEN
        SELECT warning_days INTO warn FROM zone_kind WHERE code = z_kind;
        IF chain_end < 'infinity' AND warn > 0 AND chain_end - t <= make_interval(days => warn) THEN
            RETURN 'expiring';
        END IF;
        RETURN 'in_force';
    END IF;
    IF EXISTS (SELECT 1 FROM zone_version
               WHERE zone_id = p_zone AND state = 'published' AND lower(valid) > t
                 AND (ended_at IS NULL OR ended_at > t)) THEN
        RETURN 'scheduled';
    END IF;
    RETURN 'expired';
END
$$;
