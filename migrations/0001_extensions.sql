-- PostGIS for geometry, btree_gist for exclusion constraints mixing scalars and ranges,
-- pg_trgm for name search.
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
