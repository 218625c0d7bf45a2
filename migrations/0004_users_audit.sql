-- Users with a role, their API tokens (only a SHA-256 hash is stored), and the append-only audit log.

CREATE TABLE app_user (
    id               integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username         text NOT NULL UNIQUE,
    full_name        text,
    role             text NOT NULL CHECK (role IN ('officer', 'analyst', 'legal', 'admin')),
    politikreds_code text,
    sector_code      text,
    active           boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_token (
    id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    integer NOT NULL REFERENCES app_user (id),
    token_hash bytea NOT NULL UNIQUE,
    prefix     text NOT NULL,                -- the first characters, to recognise a token in listings
    label      text,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    revoked_at timestamptz
);

CREATE TABLE audit_log (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor     text NOT NULL,
    action    text NOT NULL,
    entity    text NOT NULL,
    entity_id bigint,
    zone_id   integer,
    before    jsonb,
    after     jsonb,
    reason    text
);
CREATE INDEX audit_log_zone_idx ON audit_log (zone_id, at);
CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id);

-- Append-only, enforced by the database itself rather than by convention.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Every change to the audited tables is logged with before and after. The data layer names the actor,
-- the action and the reason with SET LOCAL geoservice.actor / .action / .reason inside the transaction.
CREATE FUNCTION audit_row_change() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER zone_audit AFTER INSERT OR UPDATE OR DELETE ON zone
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER zone_version_audit AFTER INSERT OR UPDATE OR DELETE ON zone_version
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER app_user_audit AFTER INSERT OR UPDATE OR DELETE ON app_user
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER api_token_audit AFTER INSERT OR UPDATE OR DELETE ON api_token
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();
