-- Zone imports from files (issue 13).
--
-- A version keeps the legal boundary in words (`boundary_text`, e.g. "afgrænset af Vestre Dokkaj, Stormgade,
-- ..."): a decision states it, and it is what applies when a drawn boundary is only approximate.
--
-- One `zone_import` row per import that wrote something, with its machine-readable report. The zones, versions
-- and overrides an import writes carry its id without the domain code passing it along: the import sets
-- `geoservice.import_id` for its transaction (as `geoservice.actor` names the actor for the audit log), and
-- the columns take it as their default. The validity report uses it to show a historical record's hundreds of
-- overrides as one finding per import, and every imported zone can be traced to its file.

ALTER TABLE zone_version ADD COLUMN boundary_text text;

CREATE TABLE zone_import (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source          text NOT NULL CHECK (length(btrim(source)) > 0),
    file_name       text NOT NULL,
    file_sha256     text NOT NULL,
    historical      boolean NOT NULL DEFAULT false,  -- a record of past designations, each an admin override
    override_reason text,
    imported_by     text NOT NULL,
    imported_at     timestamptz NOT NULL DEFAULT now(),
    report          jsonb NOT NULL
);

CREATE FUNCTION current_zone_import() RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT nullif(current_setting('geoservice.import_id', true), '')::bigint
$$;

ALTER TABLE zone ADD COLUMN import_id bigint REFERENCES zone_import (id) DEFAULT current_zone_import();
ALTER TABLE zone_version ADD COLUMN import_id bigint REFERENCES zone_import (id) DEFAULT current_zone_import();
ALTER TABLE rule_override ADD COLUMN import_id bigint REFERENCES zone_import (id) DEFAULT current_zone_import();
CREATE INDEX zone_version_import_idx ON zone_version (import_id) WHERE import_id IS NOT NULL;
CREATE INDEX rule_override_import_idx ON rule_override (import_id) WHERE import_id IS NOT NULL;
