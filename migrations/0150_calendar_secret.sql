-- Calendar addresses for legal staff: Outlook (and most calendar clients) subscribe to a URL and cannot send an
-- Authorization header, so each legal or admin user may have secret calendar URLs of their own. Like API tokens
-- only a SHA-256 hash is stored (the column is named token_hash so the audit trigger of 0004 leaves it out);
-- a secret is revocable on its own and is never the user's API token.

CREATE TABLE calendar_secret (
    id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    integer NOT NULL REFERENCES app_user (id),
    token_hash bytea NOT NULL UNIQUE,
    prefix     text NOT NULL,                -- the first characters, to recognise a secret in listings
    label      text,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text,
    revoked_at timestamptz
);
CREATE INDEX calendar_secret_user_idx ON calendar_secret (user_id);

CREATE TRIGGER calendar_secret_audit AFTER INSERT OR UPDATE OR DELETE ON calendar_secret
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();
