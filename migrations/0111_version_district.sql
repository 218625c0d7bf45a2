-- A restricted zone (a § 6 g opholdsforbud) is seen by the officers of the politikreds its boundary lies in. That
-- district belongs to each version, not to the zone: a draft or a decision not yet in force with a boundary in
-- another district must not move who sees the zone today (a draft would have moved it before anything was
-- decided; a decided move a week before it applied). Each version now carries the district holding most of its
-- own boundary, set by the database whenever a boundary is written, and the visibility rule (zone_visible) is
-- applied to the version being shown.

ALTER TABLE zone_version ADD COLUMN politikreds_code text;

-- The politikreds holding most of a boundary (the same rule as geoservice/sql/geometry_placement.sql).
CREATE FUNCTION politikreds_holding(g geometry) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT a.code
    FROM reference_area_part p
    JOIN reference_area a ON a.id = p.area_id
    WHERE p.area_type = 'politikreds' AND ST_Intersects(p.geom, g)
    GROUP BY a.code
    ORDER BY sum(ST_Area(ST_Intersection(p.geom, g))) DESC, a.code
    LIMIT 1
$$;

CREATE FUNCTION zone_version_district() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.geom IS DISTINCT FROM OLD.geom THEN
        NEW.politikreds_code := politikreds_holding(NEW.geom);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER zone_version_district BEFORE INSERT OR UPDATE OF geom ON zone_version
    FOR EACH ROW EXECUTE FUNCTION zone_version_district();

-- The versions written so far (a derived column: filled without firing the audit and outbox triggers).
ALTER TABLE zone_version DISABLE TRIGGER USER;
UPDATE zone_version SET politikreds_code = coalesce(politikreds_holding(geom),
                                                   (SELECT z.politikreds_code FROM zone z WHERE z.id = zone_id));
ALTER TABLE zone_version ENABLE TRIGGER USER;
