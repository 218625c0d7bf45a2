-- Named places for the offline place search (OpenStreetMap 2019 points of interest, ODbL): villages,
-- suburbs, neighbourhoods, bars, stations ... The shared data has no street network, so streets are found
-- only where a named place or a zone carries the street's name.
CREATE TABLE place (
    id       bigint PRIMARY KEY,            -- OpenStreetMap node id
    name     text NOT NULL,
    category text NOT NULL,                 -- OSM tag=value, e.g. place=suburb, amenity=bar
    geom     geometry(Point, 25832) NOT NULL,
    source   text NOT NULL
);
CREATE INDEX place_name_trgm_idx ON place USING gin (lower(name) gin_trgm_ops);
CREATE INDEX place_geom_idx ON place USING gist (geom);
CREATE INDEX reference_area_name_trgm_idx ON reference_area USING gin (lower(name) gin_trgm_ops);
CREATE INDEX patrol_sector_name_trgm_idx ON patrol_sector USING gin (lower(name) gin_trgm_ops);
CREATE INDEX zone_lower_name_trgm_idx ON zone USING gin (lower(name) gin_trgm_ops);
