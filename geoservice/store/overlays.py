"""SQL for overlays: imports (COPY and upsert), aggregates, raw points, insecurity reports, statistics."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg import sql as S

from geoservice.access import ZoneFilter

KOMMUNE_PARTS = """
SELECT a.code, a.parent_code, ST_AsBinary(p.geom) AS wkb
FROM reference_area_part p JOIN reference_area a ON a.id = p.area_id
WHERE p.area_type = 'kommune' AND a.parent_code IS NOT NULL
ORDER BY a.code, ST_XMin(p.geom), ST_YMin(p.geom)
"""

KNOWN_AREAS = "SELECT area_type, code, parent_code FROM reference_area WHERE area_type IN ('politikreds', 'kommune')"


async def kommune_parts(conn: AsyncConnection) -> list[dict[str, Any]]:
    return await (await conn.execute(KOMMUNE_PARTS)).fetchall()


async def known_areas(conn: AsyncConnection) -> dict[str, dict[str, str | None]]:
    rows = await (await conn.execute(KNOWN_AREAS)).fetchall()
    out: dict[str, dict[str, str | None]] = {"politikreds": {}, "kommune": {}}
    for r in rows:
        out[r["area_type"]][r["code"]] = r["parent_code"]
    return out


# --- imports -------------------------------------------------------------------------------------------------

INSERT_IMPORT = """
INSERT INTO overlay_import (kind, source, file_name, file_sha256, imported_by, rows_read, inserted, updated,
                            unchanged, rejected, skip_invalid)
VALUES (%(kind)s, %(source)s, %(file_name)s, %(sha256)s, %(by)s, %(rows_read)s, 0, 0, 0, %(rejected)s,
        %(skip_invalid)s)
RETURNING id
"""

UPDATE_IMPORT = """
UPDATE overlay_import SET inserted = %(inserted)s, updated = %(updated)s, unchanged = %(unchanged)s
WHERE id = %(id)s
"""

STAGES = {
    "incidents": (
        # Times travel as microseconds since the epoch: formatting a million timestamps as text costs seconds.
        # ... and coordinates as whole centimetres (EPSG:25832): integers format far faster than floats.
        "CREATE TEMP TABLE overlay_stage (external_id text, category text, occurred_us bigint, x_cm bigint,"
        " y_cm bigint, precision_m real, kommune_code text, politikreds_code text) ON COMMIT DROP",
        ["external_id", "category", "occurred_us", "x_cm", "y_cm", "precision_m", "kommune_code",
         "politikreds_code"],
        """
        WITH up AS (
            INSERT INTO incident AS t (source, external_id, category, occurred_at, geom, precision_m, kommune_code,
                                       politikreds_code, import_id)
            SELECT %(source)s, external_id, category, timestamptz 'epoch' + occurred_us * interval '1 microsecond',
                   ST_SetSRID(ST_MakePoint(x_cm / 100.0, y_cm / 100.0), 25832),
                   precision_m, kommune_code, politikreds_code, %(import_id)s
            FROM overlay_stage
            ON CONFLICT (source, external_id) DO UPDATE
            SET category = EXCLUDED.category, occurred_at = EXCLUDED.occurred_at, geom = EXCLUDED.geom,
                precision_m = EXCLUDED.precision_m, kommune_code = EXCLUDED.kommune_code,
                politikreds_code = EXCLUDED.politikreds_code, import_id = EXCLUDED.import_id
            WHERE (t.category, t.occurred_at, ST_AsBinary(t.geom), t.precision_m)
                  IS DISTINCT FROM (EXCLUDED.category, EXCLUDED.occurred_at, ST_AsBinary(EXCLUDED.geom),
                                    EXCLUDED.precision_m)
            RETURNING (xmax = 0) AS inserted
        )
        SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) FILTER (WHERE NOT inserted) AS updated FROM up
        """,
    ),
    "survey_responses": (
        "CREATE TEMP TABLE overlay_stage (external_id text, year smallint, safety_score smallint, trust text,"
        " weight float8, x float8, y float8, area_type text, area_code text, kommune_code text,"
        " politikreds_code text) ON COMMIT DROP",
        ["external_id", "year", "safety_score", "trust", "weight", "x", "y", "area_type", "area_code",
         "kommune_code", "politikreds_code"],
        """
        WITH up AS (
            INSERT INTO survey_response AS t (source, external_id, year, safety_score, trust, weight, geom,
                                              area_type, area_code, kommune_code, politikreds_code, import_id)
            SELECT %(source)s, external_id, year, safety_score, trust, weight,
                   CASE WHEN x IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(x, y), 25832) END,
                   area_type, area_code, kommune_code, politikreds_code, %(import_id)s
            FROM overlay_stage
            ON CONFLICT (source, external_id) DO UPDATE
            SET year = EXCLUDED.year, safety_score = EXCLUDED.safety_score, trust = EXCLUDED.trust,
                weight = EXCLUDED.weight, geom = EXCLUDED.geom, area_type = EXCLUDED.area_type,
                area_code = EXCLUDED.area_code, kommune_code = EXCLUDED.kommune_code,
                politikreds_code = EXCLUDED.politikreds_code, import_id = EXCLUDED.import_id
            WHERE (t.year, t.safety_score, t.trust, t.weight, ST_AsBinary(t.geom), t.area_code)
                  IS DISTINCT FROM (EXCLUDED.year, EXCLUDED.safety_score, EXCLUDED.trust, EXCLUDED.weight,
                                    ST_AsBinary(EXCLUDED.geom), EXCLUDED.area_code)
            RETURNING (xmax = 0) AS inserted
        )
        SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) FILTER (WHERE NOT inserted) AS updated FROM up
        """,
    ),
}


def stage_columns(kind: str) -> list[str]:
    return STAGES[kind][1]


async def insert_import(conn: AsyncConnection, values: dict[str, Any]) -> int:
    row = await (await conn.execute(INSERT_IMPORT, values)).fetchone()
    assert row is not None
    return int(row["id"])


async def finish_import(conn: AsyncConnection, import_id: int, inserted: int, updated: int, unchanged: int) -> None:
    await conn.execute(UPDATE_IMPORT, {"id": import_id, "inserted": inserted, "updated": updated,
                                       "unchanged": unchanged})


async def copy_and_upsert(
    conn: AsyncConnection, kind: str, chunks: Iterable[tuple[bytes, int]] | AsyncIterable[tuple[bytes, int]], *,
    source: str, import_id: int | None, progress: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """COPY the rows into a staging table and upsert them; (inserted, updated). Call inside a transaction.
    `chunks`: (CSV bytes, rows), possibly produced off the event loop (an async iterable)."""
    create, columns, upsert = STAGES[kind]
    await conn.execute(create)
    statement = S.SQL("COPY overlay_stage ({}) FROM STDIN (FORMAT csv)").format(
        S.SQL(", ").join(S.Identifier(c) for c in columns))
    async with conn.cursor().copy(statement) as copy:
        async for data, rows in _aiter(chunks):
            await copy.write(data)
            if progress:
                progress(rows)
    await conn.execute("ANALYZE overlay_stage")
    row = await (await conn.execute(upsert, {"source": source, "import_id": import_id})).fetchone()
    await conn.execute("DROP TABLE overlay_stage")
    assert row is not None
    return int(row["inserted"]), int(row["updated"])


async def _aiter(items: Iterable[Any] | AsyncIterable[Any]) -> AsyncIterator[Any]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item


async def list_imports(conn: AsyncConnection, limit: int) -> list[dict[str, Any]]:
    cur = await conn.execute(
        "SELECT id, kind, source, file_name, file_sha256, imported_at, imported_by, rows_read, inserted, updated,"
        " unchanged, rejected, skip_invalid FROM overlay_import ORDER BY id DESC LIMIT %s", (limit,))
    return await cur.fetchall()


# --- aggregates ----------------------------------------------------------------------------------------------


@dataclass
class CountQuery:
    """One count query. `source` picks the table; `by` the geography; every filter is optional."""

    source: str                      # incidents | insecurity_reports
    by: str                          # national | politikreds | kommune | sector | zone | grid1km | grid100m
    t0: dt.datetime
    t1: dt.datetime
    categories: list[str] | None = None
    politikreds: str | None = None
    kommuner: list[str] | None = None
    bbox: tuple[float, float, float, float] | None = None  # EPSG:4326
    kinds: list[str] | None = None
    access: ZoneFilter | None = None
    statuses: list[str] | None = None  # insecurity reports
    hours: tuple[int, int] | None = None  # local hour window [from, to), may wrap past midnight


TABLES = {
    "incidents": ("incident", "i.occurred_at"),
    # A report is dated, not timed: it counts at local noon of its date.
    "insecurity_reports": ("insecurity_report", "((i.reported_on + time '12:00') AT TIME ZONE 'Europe/Copenhagen')"),
}


def _row_conditions(params: dict[str, Any], categories: list[str] | None, politikreds: str | None,
                    kommuner: list[str] | None, bbox: tuple[float, float, float, float] | None,
                    statuses: list[str] | None) -> list[S.Composable]:
    """Conditions on incident or report rows `i` shared by aggregates and raw points."""
    conds: list[S.Composable] = []
    if categories is not None:
        conds.append(S.SQL("i.category = ANY(%(categories)s)"))
        params["categories"] = categories
    if politikreds:
        conds.append(S.SQL("i.politikreds_code = %(politikreds)s"))
        params["politikreds"] = politikreds
    if kommuner:
        conds.append(S.SQL("i.kommune_code = ANY(%(kommuner)s)"))
        params["kommuner"] = kommuner
    if bbox:
        conds.append(S.SQL("ST_Intersects(i.geom, ST_Transform(ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s,"
                           " 4326), 25832))"))
        params.update(dict(zip(("x0", "y0", "x1", "y1"), bbox, strict=True)))
    if statuses:
        conds.append(S.SQL("i.status = ANY(%(statuses)s)"))
        params["statuses"] = statuses
    return conds


LOCAL_HOUR = S.SQL("extract(hour FROM i.occurred_at AT TIME ZONE 'Europe/Copenhagen')")


def _filters(q: CountQuery, params: dict[str, Any]) -> list[S.Composable]:
    _, when = TABLES[q.source]
    conds: list[S.Composable] = [S.SQL("{} >= %(t0)s").format(S.SQL(when)), S.SQL("{} < %(t1)s").format(S.SQL(when))]
    params.update(t0=q.t0, t1=q.t1)
    conds += _row_conditions(params, q.categories, q.politikreds, q.kommuner, q.bbox,
                             q.statuses if q.source == "insecurity_reports" else None)
    if q.hours and q.source == "incidents":
        h0, h1 = q.hours
        # A window that wraps past midnight (22-4) is the union of its two ends.
        op = S.SQL(" AND ") if h0 < h1 else S.SQL(" OR ")
        conds.append(S.SQL("({hour} >= %(h0)s{op}{hour} < %(h1)s)").format(hour=LOCAL_HOUR, op=op))
        params.update(h0=h0, h1=h1)
    return conds


def _zone_access(access: ZoneFilter, params: dict[str, Any]) -> S.Composable:
    params["visibilities"] = list(access.visibilities)
    params["restricted_kreds"] = access.restricted_politikreds
    return S.SQL("zone_visible(z.visibility, v.politikreds_code, %(visibilities)s, %(restricted_kreds)s)")


def _zone_conditions(q: CountQuery, params: dict[str, Any]) -> S.Composable:
    conds: list[S.Composable] = [S.SQL("v.state = 'published'"), S.SQL("NOT isempty(v.effective)")]
    if q.access is not None:
        conds.append(_zone_access(q.access, params))
        if q.access.only_in_force:
            # The public sees zones that were published by now and public; in force during the window.
            conds.append(S.SQL("v.published_at <= now()"))
    if q.kinds:
        conds.append(S.SQL("z.kind = ANY(%(kinds)s)"))
        params["kinds"] = q.kinds
    return S.SQL(" AND ").join(conds)


def count_statement(q: CountQuery) -> tuple[S.Composed, dict[str, Any]]:
    """(area key, category, count) rows. Zones and sectors count a point inside the boundary in force at the
    point's time (`effective @> time`), so a zone counts only while it is a zone."""
    table, when = TABLES[q.source]
    params: dict[str, Any] = {}
    conds = _filters(q, params)
    where = S.SQL(" AND ").join(conds)
    if q.by in ("national", "politikreds", "kommune"):
        key = {"national": "'DK'", "politikreds": "i.politikreds_code", "kommune": "i.kommune_code"}[q.by]
        stmt = S.SQL("SELECT {key} AS key, i.category, count(*) AS n FROM {table} i WHERE {where} GROUP BY 1, 2"
                     ).format(key=S.SQL(key), table=S.Identifier(table), where=where)
    elif q.by.startswith("grid"):
        params["size"] = {"grid1km": 1000, "grid100m": 100}[q.by]
        stmt = S.SQL(
            "SELECT floor(ST_X(i.geom) / %(size)s)::int AS gx, floor(ST_Y(i.geom) / %(size)s)::int AS gy,"
            " i.category, count(*) AS n FROM {table} i WHERE {where} GROUP BY 1, 2, 3"
        ).format(table=S.Identifier(table), where=where)
    elif q.by == "zone":
        assert q.access is not None
        stmt = S.SQL(
            """
            SELECT v.zone_id AS key, i.category, count(*) AS n
            FROM zone_version v
            JOIN zone z ON z.id = v.zone_id
            JOIN {table} i ON i.geom && v.geom AND ST_Intersects(v.geom, i.geom) AND v.effective @> {when}
            WHERE {zone} AND v.effective && tstzrange(%(t0)s, %(t1)s) AND {where}
            GROUP BY 1, 2
            """
        ).format(table=S.Identifier(table), when=S.SQL(when), zone=_zone_conditions(q, params), where=where)
    elif q.by == "sector":
        stmt = S.SQL(
            """
            SELECT s.code AS key, i.category, count(*) AS n
            FROM patrol_sector s
            JOIN {table} i ON i.geom && s.geom AND ST_Intersects(s.geom, i.geom) AND s.valid @> {when}
            WHERE s.valid && tstzrange(%(t0)s, %(t1)s) AND {where}
            GROUP BY 1, 2
            """
        ).format(table=S.Identifier(table), when=S.SQL(when), where=where)
    else:
        raise AssertionError(q.by)
    return stmt, params


async def counts(conn: AsyncConnection, q: CountQuery) -> list[dict[str, Any]]:
    stmt, params = count_statement(q)
    return await (await conn.execute(stmt, params)).fetchall()


AREAS = """
SELECT a.code AS key, a.name, a.parent_code, a.area_km2,
       CASE WHEN %(geometry)s THEN ST_AsGeoJSON(ST_Transform(ST_SimplifyPreserveTopology(a.geom, %(tol)s), 4326), 5)
       END AS geometry
FROM reference_area a WHERE a.area_type = %(type)s ORDER BY a.code
"""

SECTORS = """
SELECT DISTINCT ON (s.code) s.code AS key, s.name, s.politikreds_code AS parent_code, s.kommune_code,
       ST_Area(s.geom) / 1e6 AS area_km2,
       CASE WHEN %(geometry)s THEN ST_AsGeoJSON(ST_Transform(ST_SimplifyPreserveTopology(s.geom, %(tol)s), 4326), 6)
       END AS geometry, ST_AsBinary(s.geom) AS wkb
FROM patrol_sector s
WHERE s.valid && tstzrange(%(t0)s, %(t1)s)
ORDER BY s.code, upper(s.valid) DESC
"""


async def reference_area_wkb(conn: AsyncConnection, area_type: str) -> list[dict[str, Any]]:
    cur = await conn.execute("SELECT code AS key, ST_AsBinary(geom) AS wkb FROM reference_area WHERE area_type = %s",
                             (area_type,))
    return await cur.fetchall()


async def reference_areas(conn: AsyncConnection, area_type: str, *, geometry: bool, tolerance: float
                          ) -> list[dict[str, Any]]:
    return await (await conn.execute(AREAS, {"type": area_type, "geometry": geometry, "tol": tolerance})).fetchall()


async def sectors(conn: AsyncConnection, t0: dt.datetime, t1: dt.datetime, *, geometry: bool, tolerance: float
                  ) -> list[dict[str, Any]]:
    return await (await conn.execute(SECTORS, {"t0": t0, "t1": t1, "geometry": geometry, "tol": tolerance}
                                     )).fetchall()


async def zones_in_window(conn: AsyncConnection, q: CountQuery, *, geometry: bool) -> list[dict[str, Any]]:
    """The zones the caller may see that were in force during the window: the boundary of the last version in
    force in the window, its area, and how long it was in force in the window."""
    params: dict[str, Any] = {"t0": q.t0, "t1": q.t1, "geometry": geometry}
    stmt = S.SQL(
        """
        SELECT z.id AS key, z.name, z.kind, z.politikreds_code AS parent_code, z.illustrative, z.visibility,
               (SELECT ST_Area(v2.geom) / 1e6 FROM zone_version v2 WHERE v2.zone_id = z.id
                AND v2.state = 'published' AND v2.effective && tstzrange(%(t0)s, %(t1)s)
                ORDER BY upper(v2.effective) DESC LIMIT 1) AS area_km2,
               extract(epoch FROM sum(upper(v.effective * tstzrange(%(t0)s, %(t1)s))
                                      - lower(v.effective * tstzrange(%(t0)s, %(t1)s)))) / 86400 AS days_in_force,
               min(lower(v.effective)) AS first_from, max(upper(v.effective)) AS last_to,
               CASE WHEN %(geometry)s THEN ST_AsGeoJSON(ST_Transform(ST_Union(v.geom), 4326), 6) END AS geometry
        FROM zone_version v JOIN zone z ON z.id = v.zone_id
        WHERE {zone} AND v.effective && tstzrange(%(t0)s, %(t1)s)
        GROUP BY z.id ORDER BY z.name, z.id
        """
    ).format(zone=_zone_conditions(q, params))
    return await (await conn.execute(stmt, params)).fetchall()


POPULATION = """
SELECT DISTINCT ON (kommune_code) kommune_code, quarter, population
FROM stat_kommune_quarter
WHERE population IS NOT NULL AND quarter <= %(quarter)s
ORDER BY kommune_code, quarter DESC
"""


async def population(conn: AsyncConnection, quarter: str) -> dict[str, tuple[str, int]]:
    """Population per kommune for the latest quarter up to `quarter` ('2025Q3'): {code: (quarter, n)}."""
    rows = await (await conn.execute(POPULATION, {"quarter": quarter})).fetchall()
    return {r["kommune_code"]: (r["quarter"], int(r["population"])) for r in rows}


# Everything a published table depends on besides its own rows: zones and their versions (boundary, period,
# visibility, name, kind: any change), which versions are published by now, patrol sectors, reference areas and
# population. xmin changes with every insert and update of a row, so count + sum(xmin) changes with any insert,
# update or delete (freezing may change it too, which only costs a rebuild).
AREAS_STAMP = """
SELECT (SELECT row(count(*), coalesce(sum(xmin::text::bigint), 0))::text FROM zone) AS zones,
       (SELECT row(count(*), coalesce(sum(xmin::text::bigint), 0),
                   count(*) FILTER (WHERE published_at <= now()))::text FROM zone_version) AS versions,
       (SELECT row(count(*), coalesce(sum(xmin::text::bigint), 0))::text FROM patrol_sector) AS sectors,
       (SELECT row(count(*), coalesce(sum(xmin::text::bigint), 0))::text FROM reference_area) AS areas,
       (SELECT row(count(*), coalesce(sum(xmin::text::bigint), 0))::text FROM stat_kommune_quarter) AS statistics
"""

SURVEY_STAMP = """
SELECT count(*) AS n, coalesce(sum(r.xmin::text::bigint), 0) AS h, max(r.id) AS m
FROM survey_response r WHERE r.year = %(year)s
"""


async def areas_stamp(conn: AsyncConnection) -> tuple:
    row = await (await conn.execute(AREAS_STAMP)).fetchone()
    assert row is not None
    return tuple(row.values())


async def survey_stamp(conn: AsyncConnection, year: int) -> tuple:
    """Changes whenever the survey responses of a year change, or the areas they are published by: the key for
    caching the public survey tables."""
    row = await (await conn.execute(SURVEY_STAMP, {"year": year})).fetchone()
    assert row is not None
    return (row["n"], row["h"], row["m"], *await areas_stamp(conn))


# --- survey --------------------------------------------------------------------------------------------------

SURVEY_SUMS = """
    count(*) AS n, sum(r.weight) AS w, sum(r.weight * r.weight) AS w2,
    sum(r.weight) FILTER (WHERE r.safety_score <= %(unsafe_max)s) AS w_unsafe,
    count(*) FILTER (WHERE r.trust IS NOT NULL) AS n_trust,
    sum(r.weight) FILTER (WHERE r.trust IS NOT NULL) AS w_trust,
    sum(r.weight * r.weight) FILTER (WHERE r.trust IS NOT NULL) AS w2_trust,
    sum(r.weight) FILTER (WHERE r.trust = 'yes') AS w_yes
"""

# Zones: the latest published boundary of each zone the caller may see (survey years and designation periods
# seldom coincide; the question is how people feel in the area). `columns` are of zone z.
LATEST_ZONES = """
    SELECT DISTINCT ON (z.id) {columns}, v.geom
    FROM zone z JOIN zone_version v ON v.zone_id = z.id
    WHERE v.state = 'published' AND v.published_at <= now() AND {access} {kinds}
    ORDER BY z.id, lower(v.valid) DESC
"""


def _latest_zones(access: ZoneFilter, kinds: list[str] | None, params: dict[str, Any], columns: tuple[str, ...]
                  ) -> S.Composed:
    if kinds:
        params["kinds"] = kinds
    return S.SQL(LATEST_ZONES).format(
        columns=S.SQL(", ").join(S.Identifier("z", c) for c in columns),
        access=_zone_access(access, params),
        kinds=S.SQL("AND z.kind = ANY(%(kinds)s)") if kinds else S.SQL(""))


SURVEY_BY_AREA = "SELECT {key} AS key, {sums} FROM survey_response r WHERE r.year = %(year)s {extra} GROUP BY 1"


def survey_statement(by: str, access: ZoneFilter, kinds: list[str] | None, params: dict[str, Any]) -> S.Composed:
    sums = S.SQL(SURVEY_SUMS)
    zones = _latest_zones(access, kinds, params, ("id", "kind"))
    if by in ("national", "politikreds", "kommune"):
        key = {"national": "'DK'", "politikreds": "r.politikreds_code", "kommune": "r.kommune_code"}[by]
        # Respondents recorded only by politikreds have no kommune.
        extra = S.SQL("AND r.kommune_code IS NOT NULL") if by == "kommune" else S.SQL("")
        return S.SQL(SURVEY_BY_AREA).format(key=S.SQL(key), sums=sums, extra=extra)
    if by == "sector":
        return S.SQL("""
            SELECT s.code AS key, {sums}
            FROM (SELECT DISTINCT ON (code) code, geom FROM patrol_sector ORDER BY code, upper(valid) DESC) s
            JOIN survey_response r ON r.geom && s.geom AND ST_Intersects(s.geom, r.geom)
            WHERE r.year = %(year)s GROUP BY 1""").format(sums=sums)
    if by == "zone":
        return S.SQL("""
            WITH zz AS ({zones})
            SELECT zz.id::text AS key, {sums}
            FROM zz JOIN survey_response r ON r.geom && zz.geom AND ST_Intersects(zz.geom, r.geom)
            WHERE r.year = %(year)s GROUP BY 1""").format(zones=zones, sums=sums)
    if by == "kind":
        return S.SQL("""
            WITH zz AS ({zones}),
            hit AS (SELECT DISTINCT zz.kind, r.id FROM zz JOIN survey_response r
                    ON r.geom && zz.geom AND ST_Intersects(zz.geom, r.geom) WHERE r.year = %(year)s)
            SELECT hit.kind AS key, {sums}
            FROM hit JOIN survey_response r ON r.id = hit.id GROUP BY 1""").format(zones=zones, sums=sums)
    raise AssertionError(by)


async def survey_sums(conn: AsyncConnection, by: str, year: int, unsafe_max: int, access: ZoneFilter,
                      kinds: list[str] | None = None) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"year": year, "unsafe_max": unsafe_max}
    stmt = survey_statement(by, access, kinds, params)
    return await (await conn.execute(stmt, params)).fetchall()


async def survey_zone_areas(conn: AsyncConnection, access: ZoneFilter, kinds: list[str] | None, *, geometry: bool
                            ) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"geometry": geometry}
    zones = _latest_zones(access, kinds, params, ("id", "kind", "name", "politikreds_code"))
    stmt = S.SQL("SELECT id::text AS key, name, kind, politikreds_code AS parent_code, ST_Area(geom) / 1e6 AS area_km2,"
                 " CASE WHEN %(geometry)s THEN ST_AsGeoJSON(ST_Transform(geom, 4326), 6) END AS geometry,"
                 " ST_AsBinary(geom) AS wkb FROM ({zones}) zz ORDER BY name, id").format(zones=zones)
    return await (await conn.execute(stmt, params)).fetchall()


async def survey_years(conn: AsyncConnection) -> list[int]:
    return [r["year"] for r in await (await conn.execute(
        "SELECT DISTINCT year FROM survey_response ORDER BY year")).fetchall()]


async def survey_responses(conn: AsyncConnection, year: int | None, limit: int, offset: int) -> list[dict[str, Any]]:
    cur = await conn.execute(
        """
        SELECT id, source, external_id, year, safety_score, trust, weight, area_type, area_code, kommune_code,
               politikreds_code, ST_X(ST_Transform(geom, 4326)) AS lon, ST_Y(ST_Transform(geom, 4326)) AS lat
        FROM survey_response WHERE (%(year)s::int IS NULL OR year = %(year)s)
        ORDER BY id LIMIT %(limit)s OFFSET %(offset)s
        """, {"year": year, "limit": limit, "offset": offset})
    return await cur.fetchall()


# --- zone effect ---------------------------------------------------------------------------------------------


async def zone_for_effect(conn: AsyncConnection, zone_id: int, access: ZoneFilter) -> dict[str, Any] | None:
    params: dict[str, Any] = {"id": zone_id}
    stmt = S.SQL("""
        SELECT z.id, z.name, z.kind, z.politikreds_code, z.visibility, z.illustrative,
               k.daily_window_start, k.daily_window_end
        FROM zone z JOIN zone_kind k ON k.code = z.kind
        WHERE z.id = %(id)s
          AND EXISTS (SELECT 1 FROM zone_version v WHERE v.zone_id = z.id AND {access})
    """).format(access=_zone_access(access, params))
    return await (await conn.execute(stmt, params)).fetchone()


async def effect_versions(conn: AsyncConnection, zone_id: int) -> list[dict[str, Any]]:
    cur = await conn.execute(
        """
        SELECT v.id, v.version_no, lower(v.effective) AS t0, upper(v.effective) AS t1, v.decision_ref,
               ST_Area(v.geom) / 1e6 AS area_km2,
               (SELECT a.code FROM reference_area a
                WHERE a.area_type = 'kommune' AND a.geom && v.geom
                ORDER BY ST_Area(ST_Intersection(a.geom, v.geom)) DESC LIMIT 1) AS kommune_code
        FROM zone_version v
        WHERE v.zone_id = %s AND v.state = 'published' AND NOT isempty(v.effective)
        ORDER BY lower(v.effective)
        """, (zone_id,))
    return await cur.fetchall()


EFFECT_COUNTS = """
SELECT count(*) FILTER (WHERE inside AND during) AS during_in,
       count(*) FILTER (WHERE inside AND NOT during) AS before_in,
       count(*) FILTER (WHERE NOT inside AND during AND in_kommune) AS during_ctrl,
       count(*) FILTER (WHERE NOT inside AND NOT during AND in_kommune) AS before_ctrl
FROM (
    SELECT i.occurred_at >= %(a)s AS during, ST_Intersects(v.geom, i.geom) AS inside,
           i.kommune_code = %(kommune)s AS in_kommune
    FROM incident i, zone_version v
    WHERE v.id = %(version_id)s
      AND (i.kommune_code = %(kommune)s OR (i.geom && v.geom AND ST_Intersects(v.geom, i.geom)))
      AND ((i.occurred_at >= %(a)s AND i.occurred_at < %(b)s)
           OR (i.occurred_at >= %(a)s - %(shift)s AND i.occurred_at < %(b)s - %(shift)s))
      {filters}
) x
"""


async def effect_counts(conn: AsyncConnection, *, version_id: int, kommune: str, a: dt.datetime, b: dt.datetime,
                        shift: dt.timedelta, categories: list[str] | None,
                        daily_window: tuple[Any, Any] | None) -> dict[str, int]:
    params: dict[str, Any] = {"version_id": version_id, "kommune": kommune, "a": a, "b": b, "shift": shift}
    filters: list[S.Composable] = []
    if categories is not None:
        filters.append(S.SQL("AND i.category = ANY(%(categories)s)"))
        params["categories"] = categories
    if daily_window is not None:
        filters.append(S.SQL("AND daily_window_contains(%(w0)s, %(w1)s, i.occurred_at)"))
        params["w0"], params["w1"] = daily_window
    stmt = S.SQL(EFFECT_COUNTS).format(filters=S.SQL(" ").join(filters))
    row = await (await conn.execute(stmt, params)).fetchone()
    assert row is not None
    return {k: int(v) for k, v in row.items()}


async def incident_extent(conn: AsyncConnection) -> dict[str, Any]:
    row = await (await conn.execute(
        "SELECT min(occurred_at) AS first, max(occurred_at) AS last, count(*) AS n FROM incident")).fetchone()
    assert row is not None
    return row


# --- statistics (STRAF11, FOLK1A) ----------------------------------------------------------------------------

UPSERT_STAT = """
INSERT INTO stat_kommune_quarter (kommune_code, quarter, reported_offences, population)
VALUES (%s, %s, %s, %s)
ON CONFLICT (kommune_code, quarter) DO UPDATE
SET reported_offences = EXCLUDED.reported_offences, population = EXCLUDED.population
WHERE (stat_kommune_quarter.reported_offences, stat_kommune_quarter.population)
      IS DISTINCT FROM (EXCLUDED.reported_offences, EXCLUDED.population)
"""


async def upsert_statistics(conn: AsyncConnection, rows: list[tuple[str, str, int | None, int | None]]) -> int:
    changed = 0
    async with conn.cursor() as cur:
        await cur.executemany(UPSERT_STAT, rows, returning=False)
        changed = cur.rowcount
    return max(changed, 0)


async def stat_quarters(conn: AsyncConnection) -> list[str]:
    rows = await (await conn.execute("SELECT DISTINCT quarter FROM stat_kommune_quarter"
                                     " WHERE reported_offences IS NOT NULL ORDER BY quarter")).fetchall()
    return [r["quarter"] for r in rows]


async def stat_series(conn: AsyncConnection, kommune: str) -> list[dict[str, Any]]:
    cur = await conn.execute(
        "SELECT s.quarter, s.reported_offences, s.population, a.name FROM stat_kommune_quarter s"
        " LEFT JOIN reference_area a ON a.area_type = 'kommune' AND a.code = s.kommune_code"
        " WHERE s.kommune_code = %s ORDER BY s.quarter", (kommune,))
    return await cur.fetchall()


STAT_PERIOD = """
SELECT s.kommune_code AS key, coalesce(a.name, s.kommune_code) AS name,
       sum(s.reported_offences)::int AS reported_offences,
       (SELECT p.population FROM stat_kommune_quarter p WHERE p.kommune_code = s.kommune_code
        AND p.quarter = %(last)s) AS population,
       CASE WHEN %(geometry)s AND a.geom IS NOT NULL
            THEN ST_AsGeoJSON(ST_Transform(ST_SimplifyPreserveTopology(a.geom, %(tol)s), 4326), 5) END AS geometry
FROM stat_kommune_quarter s
LEFT JOIN reference_area a ON a.area_type = 'kommune' AND a.code = s.kommune_code
WHERE s.quarter = ANY(%(quarters)s)
GROUP BY s.kommune_code, a.name, a.geom
ORDER BY s.kommune_code
"""


async def stat_period(conn: AsyncConnection, quarters: list[str], *, geometry: bool, tolerance: float
                      ) -> list[dict[str, Any]]:
    cur = await conn.execute(STAT_PERIOD, {"quarters": quarters, "last": quarters[-1], "geometry": geometry,
                                           "tol": tolerance})
    return await cur.fetchall()


# --- raw points: incidents and insecurity reports ------------------------------------------------------------

PLACE_POINT = """
SELECT a.code AS kommune_code, a.parent_code AS politikreds_code,
       ST_Distance(p.geom, pt.geom) AS distance_m
FROM (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326), 25832) AS geom) pt
CROSS JOIN LATERAL (SELECT area_id, geom FROM reference_area_part WHERE area_type = 'kommune'
                    ORDER BY geom <-> pt.geom LIMIT 1) p
JOIN reference_area a ON a.id = p.area_id
"""


async def place_point(conn: AsyncConnection, lon: float, lat: float) -> dict[str, Any] | None:
    return await (await conn.execute(PLACE_POINT, {"lon": lon, "lat": lat})).fetchone()


@dataclass
class PointQuery:
    t0: dt.datetime | None = None
    t1: dt.datetime | None = None
    categories: list[str] | None = None
    politikreds: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    sector: str | None = None
    statuses: list[str] | None = None
    limit: int = 1000
    offset: int = 0


def _point_conditions(pq: PointQuery, when: str, params: dict[str, Any]) -> S.Composable:
    conds: list[S.Composable] = [S.SQL("TRUE")]
    if pq.t0 is not None:
        conds.append(S.SQL("{} >= %(t0)s").format(S.SQL(when)))
        params["t0"] = pq.t0
    if pq.t1 is not None:
        conds.append(S.SQL("{} < %(t1)s").format(S.SQL(when)))
        params["t1"] = pq.t1
    conds += _row_conditions(params, pq.categories, pq.politikreds, None, pq.bbox, pq.statuses)
    if pq.sector:
        conds.append(S.SQL("EXISTS (SELECT 1 FROM patrol_sector s WHERE s.code = %(sector)s AND upper(s.valid) ="
                           " 'infinity' AND s.geom && i.geom AND ST_Intersects(s.geom, i.geom))"))
        params["sector"] = pq.sector
    return S.SQL(" AND ").join(conds)


INCIDENT_FEATURES = """
WITH hit AS (
    SELECT i.id, i.source, i.external_id, i.category, i.occurred_at, i.precision_m, i.kommune_code,
           i.politikreds_code, i.geom, count(*) OVER () AS total
    FROM incident i WHERE {conds}
    ORDER BY i.occurred_at DESC, i.id DESC LIMIT %(limit)s OFFSET %(offset)s
)
SELECT coalesce(json_agg(json_build_object(
    'type', 'Feature', 'id', 'incident:' || id,
    'geometry', ST_AsGeoJSON(ST_Transform(geom, 4326), 6)::json,
    'properties', json_build_object('type', 'incident', 'id', id, 'source', source, 'external_id', external_id,
        'category', category, 'occurred_at', to_char(occurred_at AT TIME ZONE 'Europe/Copenhagen',
                                                      'YYYY-MM-DD"T"HH24:MI:SS') || to_char(occurred_at, 'TZH:TZM'),
        'precision_m', precision_m, 'kommune', kommune_code, 'politikreds', politikreds_code)
) ORDER BY occurred_at DESC, id DESC), '[]'::json)::text AS features,
coalesce(max(total), 0) AS total, count(*) AS returned
FROM hit
"""

REPORT_FEATURES = """
WITH hit AS (
    SELECT i.*, count(*) OVER () AS total
    FROM insecurity_report i WHERE {conds}
    ORDER BY i.reported_on DESC, i.id DESC LIMIT %(limit)s OFFSET %(offset)s
)
SELECT coalesce(json_agg(json_build_object(
    'type', 'Feature', 'id', 'insecurity_report:' || id,
    'geometry', ST_AsGeoJSON(ST_Transform(geom, 4326), 6)::json,
    'properties', json_build_object('type', 'insecurity_report', 'id', id, 'category', category, 'text', text,
        'reported_on', reported_on, 'status', status, 'status_note', status_note, 'walk', walk,
        'kommune', kommune_code, 'politikreds', politikreds_code, 'created_by', created_by,
        'created_at', created_at, 'updated_at', updated_at, 'updated_by', updated_by, 'handled_at', handled_at)
) ORDER BY reported_on DESC, id DESC), '[]'::json)::text AS features,
coalesce(max(total), 0) AS total, count(*) AS returned
FROM hit
"""


async def incident_features(conn: AsyncConnection, pq: PointQuery) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": pq.limit, "offset": pq.offset}
    stmt = S.SQL(INCIDENT_FEATURES).format(conds=_point_conditions(pq, "i.occurred_at", params))
    row = await (await conn.execute(stmt, params)).fetchone()
    assert row is not None
    return row


INCIDENT_CATEGORY_COUNTS = "SELECT i.category, count(*) AS n FROM incident i WHERE {conds} GROUP BY 1"


async def incident_category_counts(conn: AsyncConnection, pq: PointQuery) -> dict[str, int]:
    """Incidents per category matching the point query, all of them (paging is ignored)."""
    params: dict[str, Any] = {}
    stmt = S.SQL(INCIDENT_CATEGORY_COUNTS).format(conds=_point_conditions(pq, "i.occurred_at", params))
    return {r["category"]: int(r["n"]) for r in await (await conn.execute(stmt, params)).fetchall()}


async def report_features(conn: AsyncConnection, pq: PointQuery, report_id: int | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": pq.limit, "offset": pq.offset}
    conds = _point_conditions(pq, "i.reported_on", params)
    if report_id is not None:
        conds = S.SQL("{} AND i.id = %(report_id)s").format(conds)
        params["report_id"] = report_id
    row = await (await conn.execute(S.SQL(REPORT_FEATURES).format(conds=conds), params)).fetchone()
    assert row is not None
    return row


async def insert_report(conn: AsyncConnection, values: dict[str, Any]) -> int:
    row = await (await conn.execute(
        """
        INSERT INTO insecurity_report (external_key, category, text, reported_on, geom, status, walk, kommune_code,
                                       politikreds_code, created_by, handled_at)
        VALUES (%(external_key)s, %(category)s, %(text)s, %(reported_on)s,
                ST_Transform(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326), 25832), %(status)s, %(walk)s,
                %(kommune_code)s, %(politikreds_code)s, %(created_by)s,
                CASE WHEN %(status)s = 'handled' THEN now() END)
        RETURNING id
        """, {"external_key": None, "walk": None, **values})).fetchone()
    assert row is not None
    return int(row["id"])


async def report_key_exists(conn: AsyncConnection, key: str) -> bool:
    cur = await conn.execute("SELECT 1 FROM insecurity_report WHERE external_key = %s", (key,))
    return await cur.fetchone() is not None


REPORT_ROW = "SELECT id, politikreds_code, status FROM insecurity_report WHERE id = %s {lock}"


async def report_row(conn: AsyncConnection, report_id: int, *, for_update: bool = False) -> dict[str, Any] | None:
    stmt = S.SQL(REPORT_ROW).format(lock=S.SQL("FOR UPDATE") if for_update else S.SQL(""))
    return await (await conn.execute(stmt, (report_id,))).fetchone()


async def update_report(conn: AsyncConnection, report_id: int, fields: dict[str, Any], actor: str) -> None:
    parts = [S.SQL("{} = {}").format(S.Identifier(k), S.Placeholder(k)) for k in fields]
    parts += [S.SQL("updated_at = now()"), S.SQL("updated_by = %(actor)s")]
    if fields.get("status") == "handled":
        parts.append(S.SQL("handled_at = coalesce(handled_at, now())"))
    elif fields.get("status") == "open":
        parts.append(S.SQL("handled_at = NULL"))
    await conn.execute(S.SQL("UPDATE insecurity_report SET {} WHERE id = %(id)s").format(S.SQL(", ").join(parts)),
                       {**fields, "actor": actor, "id": report_id})


async def sector_info(conn: AsyncConnection, code: str) -> dict[str, Any] | None:
    return await (await conn.execute(
        "SELECT code, name, station_code, politikreds_code, kommune_code, illustrative,"
        " ST_AsGeoJSON(ST_Transform(geom, 4326), 6) AS geometry FROM patrol_sector"
        " WHERE code = %s ORDER BY upper(valid) DESC LIMIT 1", (code,))).fetchone()


# --- membership of each row of a window in every public geography (for the published tables) -----------------

MEMBERSHIP = """
WITH sectors AS (
    SELECT i.id, array_agg(s.code ORDER BY s.code) AS codes
    FROM patrol_sector s
    JOIN {table} i ON i.geom && s.geom AND ST_Intersects(s.geom, i.geom) AND s.valid @> {when}
    WHERE {when} >= %(t0)s AND {when} < %(t1)s AND s.valid && tstzrange(%(t0)s, %(t1)s)
    GROUP BY i.id
), zones AS (
    SELECT i.id, array_agg(DISTINCT v.zone_id) AS ids
    FROM zone_version v JOIN zone z ON z.id = v.zone_id
    JOIN {table} i ON i.geom && v.geom AND ST_Intersects(v.geom, i.geom) AND v.effective @> {when}
    WHERE {when} >= %(t0)s AND {when} < %(t1)s AND v.effective && tstzrange(%(t0)s, %(t1)s) AND {zone}
    GROUP BY i.id
)
SELECT i.id, i.category, i.kommune_code, i.politikreds_code,
       floor(ST_X(i.geom) / 1000)::int AS gx, floor(ST_Y(i.geom) / 1000)::int AS gy,
       sectors.codes AS sectors, zones.ids AS zones
FROM {table} i
LEFT JOIN sectors ON sectors.id = i.id
LEFT JOIN zones ON zones.id = i.id
WHERE {when} >= %(t0)s AND {when} < %(t1)s
ORDER BY i.id
"""


async def membership(conn: AsyncConnection, q: CountQuery) -> list[dict[str, Any]]:
    """Every row of the window with the areas it counts in: kommune, politikreds, 1 km cell, sectors and zones
    (zones as in `count_statement`: inside the boundary in force at the row's time)."""
    table, when = TABLES[q.source]
    params: dict[str, Any] = {"t0": q.t0, "t1": q.t1}
    stmt = S.SQL(MEMBERSHIP).format(table=S.Identifier(table), when=S.SQL(when), zone=_zone_conditions(q, params))
    return await (await conn.execute(stmt, params)).fetchall()


# --- published (frozen) public tables ------------------------------------------------------------------------

PUBLICATION = "SELECT published_at, body FROM overlay_publication WHERE source = %s AND period = %s AND k = %s"
PUBLICATION_STAMP = "SELECT published_at FROM overlay_publication WHERE source = %s AND period = %s AND k = %s"


async def publication_stamp(conn: AsyncConnection, source: str, period: str, k: int) -> dt.datetime | None:
    row = await (await conn.execute(PUBLICATION_STAMP, (source, period, k))).fetchone()
    return row["published_at"] if row else None


async def publication(conn: AsyncConnection, source: str, period: str, k: int) -> dict[str, Any] | None:
    return await (await conn.execute(PUBLICATION, (source, period, k))).fetchone()


async def publish(conn: AsyncConnection, source: str, period: str, k: int, body: bytes) -> dict[str, Any]:
    """Store a public table unless another process published it first; the stored one wins."""
    await conn.execute("INSERT INTO overlay_publication (source, period, k, body) VALUES (%s, %s, %s, %s)"
                       " ON CONFLICT DO NOTHING", (source, period, k, body))
    row = await publication(conn, source, period, k)
    assert row is not None
    return row


async def withdraw_publications(conn: AsyncConnection, source: str | None, period: str | None) -> int:
    """Forget published tables (they are built again on the next public request)."""
    cur = await conn.execute("DELETE FROM overlay_publication WHERE (%(source)s::text IS NULL OR source = %(source)s)"
                             " AND (%(period)s::text IS NULL OR period = %(period)s)",
                             {"source": source, "period": period})
    return cur.rowcount
