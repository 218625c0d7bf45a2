-- Where a zone boundary lies: the politikreds holding most of it, and how far its boundary strays from
-- Denmark: the boundary point farthest from every police district (distance_m, lon, lat; 0 when the whole
-- boundary lies on land). Touching a district is not enough: a zone from Dragør to Malmö overlaps one too.
-- The boundary is simplified (50 m) and segmentized (500 m) so long straight edges are probed along their
-- length and big boundaries stay cheap; each probe finds its nearest district part by KNN on the subdivided
-- reference areas. distance_m is NULL when no reference areas are loaded.
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
probe AS (
    SELECT (ST_DumpPoints(ST_Segmentize(ST_Boundary(ST_SimplifyPreserveTopology(g.geom, 50)), 500))).geom AS pt
    FROM g
),
farthest AS (
    SELECT probe.pt, near.d
    FROM probe CROSS JOIN LATERAL (
        SELECT ST_Distance(p.geom, probe.pt) AS d
        FROM reference_area_part p
        WHERE p.area_type = 'politikreds'
        ORDER BY p.geom <-> probe.pt
        LIMIT 1
    ) near
    ORDER BY near.d DESC
    LIMIT 1
)
SELECT (SELECT code FROM best) AS code,
       f.d AS distance_m,
       ST_X(ST_Transform(f.pt, 4326)) AS lon,
       ST_Y(ST_Transform(f.pt, 4326)) AS lat
FROM (SELECT 1) one
LEFT JOIN farthest f ON true
