-- Reference areas (politikreds, kommune, bydel), police stations, Din Betjent patrol sectors and officers.
-- All geometry is stored in EPSG:25832 (ETRS89 / UTM 32N), the Danish standard for area and distance.

CREATE TABLE reference_area (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    area_type   text NOT NULL CHECK (area_type IN ('politikreds', 'kommune', 'bydel')),
    code        text NOT NULL,
    name        text NOT NULL,
    parent_code text,                 -- kommune: its politikreds; bydel: its kommune
    source      text NOT NULL,
    geom        geometry(MultiPolygon, 25832) NOT NULL CHECK (ST_IsValid(geom)),
    area_km2    double precision GENERATED ALWAYS AS (ST_Area(geom) / 1e6) STORED,
    UNIQUE (area_type, code)
);
CREATE INDEX reference_area_geom_idx ON reference_area USING gist (geom);

-- Subdivided copies: point-in-polygon on 1:500,000 coastlines is cheap only on small pieces.
CREATE TABLE reference_area_part (
    area_id   integer NOT NULL REFERENCES reference_area (id) ON DELETE CASCADE,
    area_type text NOT NULL,
    geom      geometry(Polygon, 25832) NOT NULL
);
CREATE INDEX reference_area_part_geom_idx ON reference_area_part USING gist (geom);
CREATE INDEX reference_area_part_area_idx ON reference_area_part (area_id);

CREATE FUNCTION reference_area_subdivide() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM reference_area_part WHERE area_id = NEW.id;
    INSERT INTO reference_area_part (area_id, area_type, geom)
    SELECT NEW.id, NEW.area_type, (ST_Dump(ST_Subdivide(NEW.geom, 64))).geom;
    RETURN NULL;
END
$$;
CREATE TRIGGER reference_area_subdivide
    AFTER INSERT OR UPDATE OF geom ON reference_area
    FOR EACH ROW EXECUTE FUNCTION reference_area_subdivide();

CREATE TABLE police_station (
    id               integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code             text NOT NULL UNIQUE,
    name             text NOT NULL,
    politikreds_code text NOT NULL,
    address          text,
    phone            text,
    email            text,
    illustrative     boolean NOT NULL DEFAULT false,
    geom             geometry(Point, 25832)
);

-- A patrol sector has no expiry; when it is redrawn a new row with the same code takes over from a moment.
CREATE TABLE patrol_sector (
    id               integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code             text NOT NULL,
    name             text NOT NULL,
    station_code     text NOT NULL REFERENCES police_station (code),
    politikreds_code text NOT NULL,
    kommune_code     text,
    illustrative     boolean NOT NULL DEFAULT false,
    valid            tstzrange NOT NULL DEFAULT tstzrange('-infinity', 'infinity'),
    geom             geometry(MultiPolygon, 25832) NOT NULL CHECK (ST_IsValid(geom)),
    EXCLUDE USING gist (code WITH =, valid WITH &&)
);
CREATE INDEX patrol_sector_geom_idx ON patrol_sector USING gist (geom);

CREATE TABLE officer (
    id           integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sector_code  text NOT NULL,
    name         text NOT NULL,
    title        text NOT NULL DEFAULT 'Din Betjent',
    phone        text,
    email        text,
    illustrative boolean NOT NULL DEFAULT false,
    UNIQUE (sector_code, name)
);
CREATE INDEX officer_sector_idx ON officer (sector_code);
