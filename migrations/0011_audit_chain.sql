-- A hash chain over the audit log, so that rewriting history is detected even by someone who can get past the
-- append-only triggers of 0004 (the service's own role owns the table and may disable its triggers, or set
-- session_replication_role = replica). Each row stores the hash of the row before it and its own hash:
--   hash = sha256(prev_hash || its content), in the order of `seq`, a gap-free number given under a lock.
-- `at` and `actor` are set by the database on insert (the moment, and the actor named for the transaction), so an
-- INSERT cannot back-date a step or name someone else. audit_log_verify() walks the chain; `geoservice audit
-- verify` and GET /api/v1/audit/verify call it. What remains possible for a superuser is in README (Validity).

ALTER TABLE audit_log ADD COLUMN seq bigint UNIQUE;
ALTER TABLE audit_log ADD COLUMN prev_hash bytea;
ALTER TABLE audit_log ADD COLUMN hash bytea;

-- The content of a row that its hash covers, in a text form that does not depend on session settings (the
-- epoch instead of a formatted time; jsonb's own canonical text).
CREATE FUNCTION audit_log_row_hash(prev bytea, r audit_log) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT sha256(coalesce(prev, '\x'::bytea) || convert_to(jsonb_build_array(
        r.seq, r.id, extract(epoch FROM r.at)::text, r.actor, r.action, r.entity, r.entity_id, r.zone_id,
        r.before, r.after, r.reason)::text, 'UTF8'))
$$;

CREATE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last audit_log;
BEGIN
    -- One writer at a time extends the chain (held to the end of the transaction, so the next writer sees
    -- this row committed and chains to it).
    PERFORM pg_advisory_xact_lock(hashtext('geoservice.audit_log_chain'));
    SELECT * INTO last FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1;
    NEW.seq := coalesce(last.seq, 0) + 1;
    NEW.at := clock_timestamp();
    NEW.actor := coalesce(nullif(current_setting('geoservice.actor', true), ''), 'db:' || session_user);
    NEW.prev_hash := last.hash;
    NEW.hash := audit_log_row_hash(NEW.prev_hash, NEW);
    RETURN NEW;
END
$$;

-- Chain the rows written so far, in the order they were written.
ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete;
DO $$
DECLARE
    r audit_log;
    prev bytea := NULL;
    n bigint := 0;
BEGIN
    FOR r IN SELECT * FROM audit_log ORDER BY id LOOP
        n := n + 1;
        r.seq := n;
        r.prev_hash := prev;
        r.hash := audit_log_row_hash(prev, r);
        UPDATE audit_log SET seq = r.seq, prev_hash = r.prev_hash, hash = r.hash WHERE id = r.id;
        prev := r.hash;
    END LOOP;
END
$$;
ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete;

CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_chain();

-- The first row where the chain breaks (a row changed, removed, or added past the trigger), or none.
CREATE FUNCTION audit_log_verify()
RETURNS TABLE (ok boolean, rows_checked bigint, broken_id bigint, broken_seq bigint, problem text, head_hash text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    r audit_log;
    prev bytea := NULL;
    n bigint := 0;
BEGIN
    FOR r IN SELECT * FROM audit_log ORDER BY seq NULLS LAST, id LOOP
        n := n + 1;
        IF r.seq IS NULL OR r.hash IS NULL THEN
            RETURN QUERY SELECT false, n, r.id, r.seq, 'row is not in the chain (written past the trigger)', NULL::text;
            RETURN;
        ELSIF r.seq <> n THEN
            RETURN QUERY SELECT false, n, r.id, r.seq,
                format('row %s is missing before this one (removed)', n), NULL::text;
            RETURN;
        ELSIF r.prev_hash IS DISTINCT FROM prev THEN
            RETURN QUERY SELECT false, n, r.id, r.seq, 'previous row changed or removed (prev_hash differs)',
                NULL::text;
            RETURN;
        ELSIF r.hash <> audit_log_row_hash(prev, r) THEN
            RETURN QUERY SELECT false, n, r.id, r.seq, 'row content changed (hash differs)', NULL::text;
            RETURN;
        END IF;
        prev := r.hash;
    END LOOP;
    RETURN QUERY SELECT true, n, NULL::bigint, NULL::bigint, NULL::text, encode(prev, 'hex');
END
$$;
