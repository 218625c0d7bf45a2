-- Overlays: incidents (anmeldelser), insecurity reports (utryghedsmeldinger), Tryghedsindeks survey responses,
-- the import batches that brought them in, and the published statistics they are compared with (STRAF11,
-- FOLK1A). Geometry in EPSG:25832 like everything else.
--
-- Rows of these tables are not audited one by one (a million-row import would write a million audit rows):
-- each import is one `overlay_import` row, which is audited; insecurity reports are audited row by row.

CREATE TABLE overlay_import (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('incidents', 'survey_responses')),
    source      text NOT NULL,
    file_name   text,
    file_sha256 text,
    imported_at timestamptz NOT NULL DEFAULT now(),
    imported_by text NOT NULL,
    rows_read   integer NOT NULL,
    inserted    integer NOT NULL,
    updated     integer NOT NULL,
    unchanged   integer NOT NULL,
    rejected    integer NOT NULL,
    skip_invalid boolean NOT NULL
);

-- One incident. (source, external_id) identifies it across re-imports: the same file imported twice
-- changes nothing; a corrected row updates the incident in place.
-- kommune_code and politikreds_code are derived from the point at import (DAGI), so counts per kommune and
-- politikreds, and the officer's politikreds restriction, need no spatial join.
CREATE TABLE incident (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source           text NOT NULL,
    external_id      text NOT NULL,
    category         text NOT NULL,
    occurred_at      timestamptz NOT NULL,
    geom             geometry(Point, 25832) NOT NULL,
    precision_m      real CHECK (precision_m IS NULL OR precision_m >= 0),
    kommune_code     text NOT NULL,
    politikreds_code text NOT NULL,
    import_id        bigint REFERENCES overlay_import (id),
    UNIQUE (source, external_id)
);
CREATE INDEX incident_geom_idx ON incident USING gist (geom);
-- Every query has a time window; an officer's (one politikreds, 30 days) filters the window's rows. Few
-- indexes keep a million-row import fast (each index costs on every row written).
CREATE INDEX incident_time_idx ON incident (occurred_at);

CREATE TABLE insecurity_report (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    external_key     text UNIQUE,          -- demo and imported reports: reloads are idempotent
    category         text NOT NULL,
    text             text NOT NULL CHECK (length(trim(text)) > 0),
    reported_on      date NOT NULL,
    geom             geometry(Point, 25832) NOT NULL,
    status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'handled')),
    status_note      text,
    walk             text,                 -- the tryghedsvandring it came from, if any
    kommune_code     text NOT NULL,
    politikreds_code text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    created_by       text NOT NULL,
    updated_at       timestamptz,
    updated_by       text,
    handled_at       timestamptz
);
CREATE INDEX insecurity_report_geom_idx ON insecurity_report USING gist (geom);
CREATE INDEX insecurity_report_kreds_idx ON insecurity_report (politikreds_code, status);
CREATE TRIGGER insecurity_report_audit AFTER INSERT OR UPDATE OR DELETE ON insecurity_report
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();

-- One Tryghedsindeks respondent in one year: a point, or only an area (politikreds or kommune) when that is
-- all the survey recorded. unsafe = safety_score <= 3 (the index's definition).
CREATE TABLE survey_response (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source           text NOT NULL,
    external_id      text NOT NULL,
    year             smallint NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    safety_score     smallint NOT NULL CHECK (safety_score BETWEEN 1 AND 7),
    trust            text CHECK (trust IN ('yes', 'no', 'dont_know')),
    weight           double precision NOT NULL DEFAULT 1 CHECK (weight > 0),
    geom             geometry(Point, 25832),
    area_type        text CHECK (area_type IN ('politikreds', 'kommune')),
    area_code        text,
    kommune_code     text,
    politikreds_code text NOT NULL,
    import_id        bigint REFERENCES overlay_import (id),
    UNIQUE (source, external_id),
    CHECK (geom IS NOT NULL OR area_code IS NOT NULL)
);
CREATE INDEX survey_response_geom_idx ON survey_response USING gist (geom);
CREATE INDEX survey_response_year_idx ON survey_response (year);

-- Statistics Denmark, per kommune per quarter ('2022Q4'): STRAF11 reported offences, FOLK1A population.
CREATE TABLE stat_kommune_quarter (
    kommune_code      text NOT NULL,
    quarter           text NOT NULL CHECK (quarter ~ '^\d{4}Q[1-4]$'),
    reported_offences integer,
    population        integer,
    PRIMARY KEY (kommune_code, quarter)
);

CREATE TRIGGER overlay_import_audit AFTER INSERT OR UPDATE OR DELETE ON overlay_import
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();
