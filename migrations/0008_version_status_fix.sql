-- A version not yet started whose zone is revoked is 'revoked' only from the moment the revocation takes
-- effect; before that it is still 'scheduled'.
CREATE OR REPLACE FUNCTION version_status_at(v zone_version, t timestamptz)
RETURNS text LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    chain_end timestamptz;
    warn integer;
BEGIN
    IF v.state = 'draft' THEN
        RETURN 'draft';
    END IF;
    IF v.ended_at IS NOT NULL AND v.ended_at <= t THEN
        RETURN CASE v.ended_reason WHEN 'amended' THEN 'superseded' ELSE 'revoked' END;
    END IF;
    IF t < lower(v.valid) THEN
        RETURN 'scheduled';
    END IF;
    IF v.effective @> t THEN
        chain_end := zone_chain_end(v.zone_id, t);
        SELECT k.warning_days INTO warn FROM zone z JOIN zone_kind k ON k.code = z.kind WHERE z.id = v.zone_id;
        IF chain_end < 'infinity' AND warn > 0 AND chain_end - t <= make_interval(days => warn) THEN
            RETURN 'expiring';
        END IF;
        RETURN 'in_force';
    END IF;
    RETURN 'expired';
END
$$;
