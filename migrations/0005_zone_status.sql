-- Status of zones and versions at a moment, in one place so listings, lookups and reports agree.
--   zone:    draft | scheduled | in_force | expiring | expired | revoked
--   version: draft | scheduled | in_force | expiring | expired | superseded | revoked

-- Whether a local wall-clock time lies in a daily window [start, end); windows may wrap past midnight.
CREATE FUNCTION daily_window_contains(window_start time, window_end time, t timestamptz)
RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN window_start IS NULL THEN NULL
        WHEN window_start <= window_end
            THEN (t AT TIME ZONE 'Europe/Copenhagen')::time >= window_start
             AND (t AT TIME ZONE 'Europe/Copenhagen')::time < window_end
        ELSE (t AT TIME ZONE 'Europe/Copenhagen')::time >= window_start
          OR (t AT TIME ZONE 'Europe/Copenhagen')::time < window_end
    END
$$;

-- The end of the unbroken run of published periods that contains t: an extension that starts exactly where
-- the previous designation ends continues the run. 'infinity' when the run has no end; NULL when nothing
-- is in force at t.
CREATE FUNCTION zone_chain_end(p_zone integer, t timestamptz)
RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT min(upper(a.effective))
    FROM zone_version a
    WHERE a.zone_id = p_zone
      AND a.state = 'published'
      AND NOT isempty(a.effective)
      AND upper(a.effective) > t
      AND EXISTS (SELECT 1 FROM zone_version c
                  WHERE c.zone_id = p_zone AND c.state = 'published' AND c.effective @> t)
      AND NOT EXISTS (SELECT 1 FROM zone_version b
                      WHERE b.zone_id = a.zone_id AND b.state = 'published'
                        AND b.effective @> upper(a.effective))
$$;

CREATE FUNCTION zone_status_at(p_zone integer, t timestamptz)
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
               WHERE zone_id = p_zone AND state = 'published' AND NOT isempty(effective)
                 AND lower(effective) > t) THEN
        RETURN 'scheduled';
    END IF;
    RETURN 'expired';
END
$$;

CREATE FUNCTION version_status_at(v zone_version, t timestamptz)
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
        RETURN CASE WHEN v.ended_reason = 'revoked' THEN 'revoked' ELSE 'scheduled' END;
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
