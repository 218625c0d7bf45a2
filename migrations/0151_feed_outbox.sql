-- Signed webhooks through a transactional outbox.
--
-- feed_event is the outbox: database triggers on zone and zone_version write one event in the same transaction
-- as the change itself, so every route that writes (the API, the CLI, imports, the demo loader, anything added
-- later) produces its events without calling any code, and an event exists exactly when its change committed.
-- Each new event is fanned out at once, still in that transaction, into one webhook_delivery per matching
-- active subscription; the delivery worker (geoservice/feeds/worker.py) claims due deliveries with
-- FOR UPDATE SKIP LOCKED, so several workers never send one delivery at the same time, and records every
-- attempt in webhook_attempt (the delivery log).
--
-- Events (one per lifecycle step):
--   zone.designated / zone.extended / zone.amended  a version is published (inserted published, or a draft
--                                                    published), by its `change`
--   zone.revoked    the zone's revocation is recorded
--   zone.archived   the publication of an expired or revoked zone is withdrawn
--   zone.updated    name, description, visibility, illustrative or list edition of a published zone changed
-- Drafts are work in progress, not events. An event carries the zone's visibility after the change; a
-- subscription receives events of zones at or below its visibility level (public < internal < restricted).

CREATE FUNCTION visibility_rank(visibility text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE visibility WHEN 'public' THEN 0 WHEN 'internal' THEN 1 WHEN 'restricted' THEN 2 END
$$;

CREATE TABLE feed_event (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,   -- the order the events were written in
    event_id    uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),    -- the id receivers dedupe on
    type        text NOT NULL CHECK (type IN ('zone.designated', 'zone.extended', 'zone.amended', 'zone.revoked',
                                              'zone.archived', 'zone.updated')),
    zone_id     integer NOT NULL REFERENCES zone (id),
    version_id  integer REFERENCES zone_version (id),
    visibility  text NOT NULL CHECK (visibility IN ('public', 'internal', 'restricted')),
    occurred_at timestamptz NOT NULL DEFAULT now(),                -- the commit's transaction time
    actor       text NOT NULL,                                     -- for the admin's log; not sent
    data        jsonb NOT NULL                                     -- the zone and decision as they were then
);
CREATE INDEX feed_event_zone_idx ON feed_event (zone_id, id);

CREATE TABLE webhook_subscription (
    id            integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url           text NOT NULL CHECK (url ~* '^https?://[^/?#[:space:]]+'),
    event_types   text[] CHECK (event_types IS NULL OR (cardinality(event_types) > 0 AND event_types <@ ARRAY[
                      'zone.designated', 'zone.extended', 'zone.amended', 'zone.revoked', 'zone.archived',
                      'zone.updated'])),                            -- NULL: every type
    visibility    text NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'internal', 'restricted')),
    description   text,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    created_by    text,
    secret_set_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER webhook_subscription_audit AFTER INSERT OR UPDATE OR DELETE ON webhook_subscription
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();

-- The signing secret must be readable to sign with, so it is kept (not hashed) in a table of its own that has no
-- audit trigger: the audit log records that a subscription's secret changed (secret_set_at), never the secret.
CREATE TABLE webhook_secret (
    subscription_id integer PRIMARY KEY REFERENCES webhook_subscription (id),
    secret          text NOT NULL
);

CREATE TABLE webhook_delivery (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id         bigint NOT NULL REFERENCES feed_event (id),
    subscription_id  integer NOT NULL REFERENCES webhook_subscription (id),
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_attempt_at  timestamptz,
    last_status_code integer,
    last_error       text,
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, subscription_id)                             -- one delivery of an event per subscriber
);
CREATE INDEX webhook_delivery_due_idx ON webhook_delivery (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX webhook_delivery_subscription_idx ON webhook_delivery (subscription_id, id);

CREATE TABLE webhook_attempt (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id   bigint NOT NULL REFERENCES webhook_delivery (id),
    attempt_no    integer NOT NULL,
    started_at    timestamptz NOT NULL,
    duration_ms   integer NOT NULL,
    status_code   integer,                                         -- NULL: no answer (refused, timed out)
    error         text,
    UNIQUE (delivery_id, attempt_no)
);

-- The zone and a version as an event tells them. Times in Copenhagen time with their offset, as in the API,
-- whatever the writing session's time zone (SET on the function).
CREATE FUNCTION feed_zone_json(z zone) RETURNS jsonb
LANGUAGE sql STABLE SET TimeZone = 'Europe/Copenhagen' AS $$
    SELECT jsonb_build_object(
        'id', z.id, 'name', z.name, 'kind', z.kind, 'kind_name', k.name_da, 'visibility', z.visibility,
        'politikreds', z.politikreds_code, 'illustrative', z.illustrative, 'list_edition', z.list_edition,
        'description', z.description)
    FROM zone_kind k WHERE k.code = z.kind
$$;

CREATE FUNCTION feed_version_json(v zone_version) RETURNS jsonb
LANGUAGE sql STABLE SET TimeZone = 'Europe/Copenhagen' AS $$
    SELECT jsonb_build_object(
        'id', v.id, 'version', v.version_no, 'change', v.change, 'continues_version_id', v.continues_version_id,
        'valid_from', to_jsonb(lower(v.valid)), 'valid_to', to_jsonb(nullif(upper(v.valid), 'infinity')),
        'decision_ref', v.decision_ref, 'decided_by', v.decided_by, 'legal_basis', v.legal_basis,
        'reason', v.reason, 'published_at', to_jsonb(v.published_at))
$$;

CREATE FUNCTION feed_actor() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('geoservice.actor', true), ''), 'db:' || session_user)
$$;

CREATE FUNCTION feed_version_event() RETURNS trigger
LANGUAGE plpgsql SET TimeZone = 'Europe/Copenhagen' AS $$
DECLARE
    z zone;
BEGIN
    IF NEW.state <> 'published' OR (TG_OP = 'UPDATE' AND OLD.state = 'published') THEN
        RETURN NULL;
    END IF;
    SELECT * INTO z FROM zone WHERE id = NEW.zone_id;
    INSERT INTO feed_event (type, zone_id, version_id, visibility, actor, data)
    VALUES (CASE NEW.change WHEN 'designation' THEN 'zone.designated'
                            WHEN 'extension' THEN 'zone.extended'
                            ELSE 'zone.amended' END,
            z.id, NEW.id, z.visibility, feed_actor(),
            jsonb_build_object('zone', feed_zone_json(z), 'version', feed_version_json(NEW)));
    RETURN NULL;
END
$$;

CREATE FUNCTION feed_zone_event() RETURNS trigger
LANGUAGE plpgsql SET TimeZone = 'Europe/Copenhagen' AS $$
DECLARE
    event_type text;
    extra jsonb := '{}'::jsonb;
    field text;
    changes jsonb := '{}'::jsonb;
BEGIN
    IF OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL THEN
        event_type := 'zone.revoked';
        extra := jsonb_build_object('revocation', jsonb_build_object(
            'at', to_jsonb(NEW.revoked_at), 'recorded_at', to_jsonb(NEW.revoked_recorded_at),
            'reason', NEW.revoke_reason, 'decision_ref', NEW.revoke_decision_ref));
    ELSIF OLD.archived_at IS NULL AND NEW.archived_at IS NOT NULL THEN
        event_type := 'zone.archived';
        extra := jsonb_build_object('archived_at', to_jsonb(NEW.archived_at));
    ELSIF EXISTS (SELECT 1 FROM zone_version WHERE zone_id = NEW.id AND state = 'published') THEN
        FOREACH field IN ARRAY ARRAY['name', 'description', 'visibility', 'illustrative', 'list_edition'] LOOP
            IF to_jsonb(OLD) -> field IS DISTINCT FROM to_jsonb(NEW) -> field THEN
                changes := changes || jsonb_build_object(field, jsonb_build_object(
                    'before', to_jsonb(OLD) -> field, 'after', to_jsonb(NEW) -> field));
            END IF;
        END LOOP;
        IF changes = '{}'::jsonb THEN
            RETURN NULL;
        END IF;
        event_type := 'zone.updated';
        extra := jsonb_build_object('changes', changes);
    ELSE
        RETURN NULL;
    END IF;
    INSERT INTO feed_event (type, zone_id, visibility, actor, data)
    VALUES (event_type, NEW.id, NEW.visibility, feed_actor(),
            jsonb_build_object('zone', feed_zone_json(NEW)) || extra);
    RETURN NULL;
END
$$;

CREATE TRIGGER zone_version_feed AFTER INSERT OR UPDATE OF state ON zone_version
    FOR EACH ROW EXECUTE FUNCTION feed_version_event();
CREATE TRIGGER zone_feed AFTER UPDATE ON zone
    FOR EACH ROW EXECUTE FUNCTION feed_zone_event();

-- Fan-out: one delivery per active subscription that wants the event, in the event's own transaction; the
-- notification (sent at commit) wakes a listening worker at once.
CREATE FUNCTION webhook_fan_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_delivery (event_id, subscription_id)
    SELECT NEW.id, s.id
    FROM webhook_subscription s
    WHERE s.active
      AND (s.event_types IS NULL OR NEW.type = ANY (s.event_types))
      AND visibility_rank(NEW.visibility) <= visibility_rank(s.visibility);
    IF FOUND THEN
        PERFORM pg_notify('geoservice_webhooks', NEW.id::text);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER feed_event_fan_out AFTER INSERT ON feed_event
    FOR EACH ROW EXECUTE FUNCTION webhook_fan_out();
