-- Where a zone boundary lies: the politikreds holding most of it, and its distance in metres from the
-- nearest police district (0 when it overlaps one). Uses the subdivided reference areas.
WITH g AS (
    SELECT ST_SetSRID(ST_GeomFromWKB(%(wkb)s), 25832) AS geom
),
best AS (
    SELECT a.code, sum(ST_Area(ST_Intersection(p.geom, g.geom))) AS overlap
    FROM reference_area_part p
    JOIN reference_area a ON a.id = p.area_id
    CROSS JOIN g
    WHERE p.area_type = 'politikreds' AND ST_Intersects(p.geom, g.geom)
    GROUP BY a.code
    ORDER BY overlap DESC, a.code
    LIMIT 1
),
nearest AS (
    SELECT ST_Distance(p.geom, g.geom) AS d
    FROM reference_area_part p CROSS JOIN g
    WHERE p.area_type = 'politikreds'
    ORDER BY p.geom <-> g.geom
    LIMIT 1
)
SELECT (SELECT code FROM best) AS code,
       CASE WHEN EXISTS (SELECT 1 FROM best) THEN 0.0 ELSE (SELECT d FROM nearest) END AS distance_m
