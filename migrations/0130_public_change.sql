-- A change counter for the public answers (zones, reference areas, kinds, sectors, places): every statement that changes
-- one of the tables they are made of adds one, in the same transaction, so a reader sees the new number exactly
-- when it sees the new rows. The HTTP layer derives ETags from it and renders a public answer once per change
-- (geoservice/api/public_cache.py). `database_id` tells two databases apart whose counters happen to agree (a
-- wiped and reloaded one); a restored backup keeps it, with the same rows.
-- Time also changes a public answer without any write (a zone starts, expires, enters its warning window):
-- public_transitions() lists every such moment, so a cached answer is also keyed on the latest one that passed.

CREATE TABLE public_change (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    database_id uuid NOT NULL DEFAULT gen_random_uuid(),
    counter     bigint NOT NULL DEFAULT 0,
    changed_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
INSERT INTO public_change DEFAULT VALUES;

CREATE FUNCTION public_change_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Writers of zones already queue on the audit chain's lock (0011); taking it first here as well keeps one
    -- lock order for every writer, so a zone write and a reference-area write cannot deadlock on this row.
    PERFORM pg_advisory_xact_lock(hashtext('geoservice.audit_log_chain'));
    UPDATE public_change SET counter = counter + 1, changed_at = clock_timestamp();
    RETURN NULL;
END
$$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['zone', 'zone_version', 'zone_kind', 'reference_area', 'reference_area_part',
                             'patrol_sector', 'police_station', 'officer', 'place'] LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I
                        FOR EACH STATEMENT EXECUTE FUNCTION public_change_bump()', t || '_public_change', t);
    END LOOP;
END
$$;

-- Every moment at which a public answer can change by the passage of time alone, as epoch seconds, sorted: the
-- ends of every validity period and effective period, endings, revocations, withdrawals, publications, the
-- start of each warning window ('expiring', as the status functions of 0110 decide it) and the periods of patrol
-- sectors. A superset is harmless (one more cache key);
-- a missing moment would serve a stale answer, so anything time-dependent that is added to a public answer
-- belongs here.
CREATE FUNCTION public_transitions() RETURNS double precision[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(DISTINCT extract(epoch FROM m) ORDER BY extract(epoch FROM m)), '{}')
    FROM (
        SELECT unnest(ARRAY[lower(v.valid), upper(v.valid), lower(v.effective), upper(v.effective), v.ended_at,
                            v.published_at, z.revoked_at, z.archived_at,
                            -- 'expiring' starts at warning_opens() of the end (0110): the same local time
                            -- warning_days calendar days before, also across a change to or from summer time
                            warning_opens(upper(v.effective), k.warning_days),
                            warning_opens(upper(v.valid), k.warning_days)]) AS m
        FROM zone_version v JOIN zone z ON z.id = v.zone_id JOIN zone_kind k ON k.code = z.kind
        UNION ALL
        SELECT unnest(ARRAY[lower(valid), upper(valid)]) FROM patrol_sector
    ) moments
    WHERE m IS NOT NULL AND isfinite(m)
$$;
