"""SQL for overlays: imports (COPY and upsert), aggregates, raw points, insecurity reports, statistics."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
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
        "CREATE TEMP TABLE overlay_stage (external_id text, category text, occurred_at timestamptz, x float8,"
        " y float8, precision_m real, kommune_code text, politikreds_code text) ON COMMIT DROP",
        ["external_id", "category", "occurred_at", "x", "y", "precision_m", "kommune_code", "politikreds_code"],
        """
        WITH up AS (
            INSERT INTO incident AS t (source, external_id, category, occurred_at, geom, precision_m, kommune_code,
                                       politikreds_code, import_id)
            SELECT %(source)s, external_id, category, occurred_at, ST_SetSRID(ST_MakePoint(x, y), 25832),
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
    conn: AsyncConnection, kind: str, chunks: Iterable[tuple[bytes, int]], *, source: str, import_id: int | None,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """COPY the rows into a staging table and upsert them; (inserted, updated). Call inside a transaction."""
    create, columns, upsert = STAGES[kind]
    await conn.execute(create)
    statement = S.SQL("COPY overlay_stage ({}) FROM STDIN (FORMAT csv)").format(
        S.SQL(", ").join(S.Identifier(c) for c in columns))
    async with conn.cursor().copy(statement) as copy:
        for data, rows in chunks:
            await copy.write(data)
            if progress:
                progress(rows)
    await conn.execute("ANALYZE overlay_stage")
    row = await (await conn.execute(upsert, {"source": source, "import_id": import_id})).fetchone()
    assert row is not None
    return int(row["inserted"]), int(row["updated"])


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


def _filters(q: CountQuery, params: dict[str, Any]) -> list[S.Composable]:
    _, when = TABLES[q.source]
    conds: list[S.Composable] = [S.SQL(when + " >= %(t0)s"), S.SQL(when + " < %(t1)s")]
    params.update(t0=q.t0, t1=q.t1)
    if q.categories is not None:
        conds.append(S.SQL("i.category = ANY(%(categories)s)"))
        params["categories"] = q.categories
    if q.politikreds:
        conds.append(S.SQL("i.politikreds_code = %(politikreds)s"))
        params["politikreds"] = q.politikreds
    if q.kommuner:
        conds.append(S.SQL("i.kommune_code = ANY(%(kommuner)s)"))
        params["kommuner"] = q.kommuner
    if q.bbox:
        conds.append(S.SQL("i.geom && ST_Transform(ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326), 25832)"))
        params.update(dict(zip(("x0", "y0", "x1", "y1"), q.bbox, strict=True)))
    if q.statuses and q.source == "insecurity_reports":
        conds.append(S.SQL("i.status = ANY(%(statuses)s)"))
        params["statuses"] = q.statuses
    if q.hours and q.source == "incidents":
        h0, h1 = q.hours
        hour = "extract(hour FROM i.occurred_at AT TIME ZONE 'Europe/Copenhagen')"
        op = " AND " if h0 < h1 else " OR "
        conds.append(S.SQL("(" + hour + " >= %(h0)s" + op + hour + " < %(h1)s)"))
        params.update(h0=h0, h1=h1)
    return conds


def _zone_access(access: ZoneFilter, params: dict[str, Any]) -> S.Composable:
    params["visibilities"] = list(access.visibilities)
    cond = S.SQL("(z.visibility = ANY(%(visibilities)s)")
    if access.restricted_politikreds:
        params["restricted_kreds"] = access.restricted_politikreds
        cond += S.SQL(" OR (z.visibility = 'restricted' AND z.politikreds_code = %(restricted_kreds)s)")
    return cond + S.SQL(")")


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
               CASE WHEN %(geometry)s THEN ST_AsGeoJSON(ST_Transform(ST_Union(v.geom), 4326), 6) END AS geometry,
               ST_AsBinary(ST_Union(v.geom)) AS wkb
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


async def data_stamp(conn: AsyncConnection, source: str, t0: dt.datetime, t1: dt.datetime) -> tuple:
    """Changes whenever the rows of a window change (for caching the public tables)."""
    table, when = TABLES[source]
    # xmin changes with every insert and update of a row: a cheap fingerprint of the window's rows.
    stmt = S.SQL("SELECT count(*) AS n, coalesce(sum(i.xmin::text::bigint), 0) AS h, max(i.id) AS m"
                 " FROM {table} i WHERE {when} >= %(t0)s AND {when} < %(t1)s"
                 ).format(table=S.Identifier(table), when=S.SQL(when))
    row = await (await conn.execute(stmt, {"t0": t0, "t1": t1})).fetchone()
    zones = await (await conn.execute(
        "SELECT count(*) AS n, max(greatest(v.published_at, v.ended_recorded_at, z.revoked_recorded_at)) AS t"
        " FROM zone_version v JOIN zone z ON z.id = v.zone_id")).fetchone()
    assert row is not None and zones is not None
    return (row["n"], row["h"], row["m"], zones["n"], zones["t"])
