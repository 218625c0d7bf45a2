-- Where zone boundaries lie, for each of %(wkbs)s (EPSG:25832 WKB; one or many, answered in that order, `n` from
-- 1): the politikreds holding most of it, and how far its boundary strays from Denmark: the boundary point
-- farthest from every police district (distance_m, lon, lat; 0 when the whole boundary lies on land). Touching a
-- district is not enough: a zone from Dragør to Malmö overlaps one too. The boundary is simplified (50 m) and
-- segmentized (500 m) so long straight edges are probed along their length and big boundaries stay cheap; each
-- probe finds its nearest district part by KNN on the subdivided reference areas. distance_m is NULL when no
-- reference areas are loaded. Set-based, so a file import places ten thousand boundaries in one statement.
WITH g AS (
    SELECT u.n, ST_SetSRID(ST_GeomFromWKB(u.wkb), 25832) AS geom
    FROM unnest(%(wkbs)s::bytea[]) WITH ORDINALITY AS u(wkb, n)
),
overlap AS (
    SELECT g.n, a.code, sum(ST_Area(ST_Intersection(p.geom, g.geom))) AS overlap
    FROM g
    JOIN reference_area_part p ON p.area_type = 'politikreds' AND ST_Intersects(p.geom, g.geom)
    JOIN reference_area a ON a.id = p.area_id
    GROUP BY g.n, a.code
),
best AS (
    SELECT DISTINCT ON (n) n, code FROM overlap ORDER BY n, overlap DESC, code
),
probe AS (
    SELECT g.n, (ST_DumpPoints(ST_Segmentize(ST_Boundary(ST_SimplifyPreserveTopology(g.geom, 50)), 500))).geom AS pt
    FROM g
),
farthest AS (
    SELECT DISTINCT ON (probe.n) probe.n, probe.pt, near.d
    FROM probe CROSS JOIN LATERAL (
        SELECT ST_Distance(p.geom, probe.pt) AS d
        FROM reference_area_part p
        WHERE p.area_type = 'politikreds'
        ORDER BY p.geom <-> probe.pt
        LIMIT 1
    ) near
    ORDER BY probe.n, near.d DESC
)
SELECT g.n, b.code, f.d AS distance_m,
       ST_X(ST_Transform(f.pt, 4326)) AS lon,
       ST_Y(ST_Transform(f.pt, 4326)) AS lat
FROM g
LEFT JOIN best b ON b.n = g.n
LEFT JOIN farthest f ON f.n = g.n
ORDER BY g.n
