-- Public overlay tables are published once per quarter and then frozen: rows imported, corrected or reported
-- later for that quarter change the staff figures at once, but the public table only when it is republished
-- on purpose (`geoservice overlays republish`), since two versions of a public table can be subtracted.

CREATE TABLE overlay_publication (
    source       text NOT NULL,
    period       text NOT NULL,
    k            integer NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now(),
    body         bytea NOT NULL,      -- the whole suppressed table, as built by geoservice.overlays.aggregates
    PRIMARY KEY (source, period, k)
);
