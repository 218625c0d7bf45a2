-- Legal integrity of the record (issue 9): one decision recorded once, withdrawals instead of negative periods,
-- every admin override in one append-only log, idempotent lifecycle requests, and warning windows measured
-- between instants in local calendar days.

-- A decision reference as a key: Unicode NFKC (full-width letters, no-break spaces), zero-width characters
-- removed, runs of white space as one space, trimmed, case-insensitive. "KBH-Afgørelse 2026/7" copied from a
-- word processor with a no-break space is the same decision.
CREATE FUNCTION decision_key(ref text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT nullif(lower(btrim(regexp_replace(
        regexp_replace(normalize(ref, NFKC), E'[\u200B-\u200D\u2060\uFEFF]', '', 'g'), E'\\s+', ' ', 'g'))), '')
$$;

-- A decision reference creates at most one version of a zone: twenty identical concurrent requests cannot
-- record one decision twenty times, whatever route they take.
CREATE UNIQUE INDEX zone_version_decision_once_idx
    ON zone_version (zone_id, decision_key(decision_ref))
    WHERE decision_key(decision_ref) IS NOT NULL;

-- A designation stopped before it took effect is withdrawn: it ends at its own start (it was never in force),
-- never "revoked" into a period that ends before it begins.
ALTER TABLE zone_version DROP CONSTRAINT zone_version_ended_reason_check;
ALTER TABLE zone_version ADD CONSTRAINT zone_version_ended_reason_check
    CHECK (ended_reason IN ('amended', 'revoked', 'withdrawn'));
ALTER TABLE zone_version ADD CONSTRAINT zone_version_ends_inside_check
    CHECK (ended_at IS NULL OR ended_at >= lower(valid)) NOT VALID;  -- rows from before stay as recorded

-- Every rule an admin overrode, from every route (create, patch, publish, extend, amend, revoke, visibility),
-- with who, when and why. Append-only like the audit log; the validity report lists it.
CREATE TABLE rule_override (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    zone_id     integer NOT NULL REFERENCES zone (id),
    version_id  integer REFERENCES zone_version (id),
    action      text NOT NULL,            -- the route's action, e.g. zone.create, zone.revoke
    rules       text[] NOT NULL,          -- rule names from layers/kinds.yaml or the lifecycle
    rule_text   text NOT NULL,            -- the rules quoted in words
    reason      text NOT NULL CHECK (length(btrim(reason)) > 0),
    actor       text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rule_override_zone_idx ON rule_override (zone_id, recorded_at);
CREATE TRIGGER rule_override_no_update_delete
    BEFORE UPDATE OR DELETE ON rule_override
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER rule_override_no_truncate
    BEFORE TRUNCATE ON rule_override
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER rule_override_audit AFTER INSERT ON rule_override
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();

-- The overrides recorded on versions before this log existed, as of their publication (or creation).
INSERT INTO rule_override (zone_id, version_id, action, rules, rule_text, reason, actor, recorded_at)
SELECT v.zone_id, v.id, CASE v.change WHEN 'designation' THEN 'zone.create' ELSE 'zone.' || v.change END,
       ARRAY(SELECT DISTINCT m[1] FROM regexp_matches(v.override_rule, '\((?:[a-z_]+: )?([a-z_]+)(?:; [a-z_]+)?\)', 'g') AS m),
       v.override_rule, v.override_reason, coalesce(v.published_by, v.created_by, 'unknown'),
       coalesce(v.published_at, v.created_at)
FROM zone_version v
WHERE v.override_rule IS NOT NULL;

-- The audit trigger of 0004 knows zone_id for zone and zone_version only; an override row carries its own.
CREATE OR REPLACE FUNCTION audit_row_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_row jsonb;
    new_row jsonb;
    entity_id bigint;
    zone_id integer;
BEGIN
    IF TG_OP <> 'INSERT' THEN old_row := to_jsonb(OLD) - 'token_hash' - 'geom_wgs84'; END IF;
    IF TG_OP <> 'DELETE' THEN new_row := to_jsonb(NEW) - 'token_hash' - 'geom_wgs84'; END IF;
    entity_id := coalesce(new_row ->> 'id', old_row ->> 'id')::bigint;
    zone_id := CASE TG_TABLE_NAME
                   WHEN 'zone' THEN entity_id::integer
                   WHEN 'zone_version' THEN coalesce(new_row ->> 'zone_id', old_row ->> 'zone_id')::integer
                   WHEN 'rule_override' THEN coalesce(new_row ->> 'zone_id', old_row ->> 'zone_id')::integer
               END;
    INSERT INTO audit_log (actor, action, entity, entity_id, zone_id, before, after, reason)
    VALUES (
        coalesce(nullif(current_setting('geoservice.actor', true), ''), 'db:' || session_user),
        coalesce(nullif(current_setting('geoservice.action', true), ''), lower(TG_TABLE_NAME || '.' || TG_OP)),
        TG_TABLE_NAME, entity_id, zone_id, old_row, new_row,
        nullif(current_setting('geoservice.reason', true), '')
    );
    RETURN NULL;
END
$$;

-- Idempotency-Key on write requests: the first answer is kept, a repeat returns it and writes nothing.
CREATE TABLE idempotent_request (
    actor        text NOT NULL,
    key          text NOT NULL,
    fingerprint  text NOT NULL,           -- sha256 of method, path and body: the same key for another request is refused
    zone_id      integer,
    status       integer NOT NULL,
    body         text NOT NULL,
    etag         text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (actor, key)
);
CREATE INDEX idempotent_request_created_idx ON idempotent_request (created_at);

-- A warning window of N days opens at the same local wall-clock time N calendar days before the end (the same
-- calendar arithmetic as max_period in days), compared as instants: never an hour early across DST, never by a
-- rounded number of days.
CREATE FUNCTION warning_opens(end_at timestamptz, days integer)
RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ((end_at AT TIME ZONE 'Europe/Copenhagen') - make_interval(days => days)) AT TIME ZONE 'Europe/Copenhagen'
$$;

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
        IF chain_end < 'infinity' AND warn > 0 AND t >= warning_opens(chain_end, warn) THEN
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

CREATE OR REPLACE FUNCTION version_status_at(v zone_version, t timestamptz)
RETURNS text LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    chain_end timestamptz;
    warn integer;
BEGIN
    IF v.state = 'draft' THEN
        RETURN 'draft';
    END IF;
    -- withdrawn from the moment the revocation that withdrew it took effect (the zone's revoked_at)
    IF v.ended_reason = 'withdrawn' AND t >= (SELECT revoked_at FROM zone WHERE id = v.zone_id) THEN
        RETURN 'withdrawn';
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
        IF chain_end < 'infinity' AND warn > 0 AND t >= warning_opens(chain_end, warn) THEN
            RETURN 'expiring';
        END IF;
        RETURN 'in_force';
    END IF;
    RETURN 'expired';
END
$$;

CREATE OR REPLACE FUNCTION zone_status_known(p_zone integer, t timestamptz, k timestamptz)
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
        IF chain_end < 'infinity' AND warn > 0 AND t >= warning_opens(chain_end, warn) THEN
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

CREATE OR REPLACE FUNCTION version_status_known(v zone_version, t timestamptz, k timestamptz)
RETURNS text LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    chain_end timestamptz;
    warn integer;
    ended_known boolean := v.ended_at IS NOT NULL AND coalesce(v.ended_recorded_at, '-infinity') <= k;
BEGIN
    IF v.state = 'draft' OR v.published_at > k THEN
        RETURN 'draft';
    END IF;
    IF ended_known AND v.ended_reason = 'withdrawn' AND t >= (SELECT revoked_at FROM zone WHERE id = v.zone_id) THEN
        RETURN 'withdrawn';
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
        IF chain_end < 'infinity' AND warn > 0 AND t >= warning_opens(chain_end, warn) THEN
            RETURN 'expiring';
        END IF;
        RETURN 'in_force';
    END IF;
    RETURN 'expired';
END
$$;
