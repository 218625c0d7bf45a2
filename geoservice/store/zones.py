"""SQL for zones and their versions."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

from psycopg import AsyncConnection
from psycopg import sql as S

from geoservice.access import ZoneFilter
from geoservice.db import query
from geoservice.geometry import STORAGE_SRID

# Which version of a zone represents it at %(t)s: the one in force; else the next scheduled one; else the
# latest that started; else the latest draft.
PICK_VERSION_ORDER = """
    CASE WHEN v.state = 'published' AND v.effective @> %(t)s THEN 0
         WHEN v.state = 'published' AND lower(v.valid) > %(t)s THEN 1
         WHEN v.state = 'published' THEN 2
         ELSE 3 END,
    CASE WHEN v.state = 'published' AND lower(v.valid) > %(t)s THEN lower(v.valid) END ASC,
    lower(v.valid) DESC, v.version_no DESC
"""


@dataclass
class ZoneQuery:
    t: dt.datetime
    access: ZoneFilter
    in_force_only: bool = False
    published_as_of: dt.datetime | None = None
    kinds: list[str] | None = None
    statuses: list[str] | None = None
    bbox: tuple[float, float, float, float] | None = None
    q: str | None = None
    zone_ids: list[int] | None = None
    sector: str | None = None  # only zones touching this Din Betjent sector
    simplify_m: float = 0.0
    limit: int = 100
    offset: int = 0
    # OGC API Features (geoservice/ogc): zones in force at some moment of [start, end] (None: open end), the
    # CRS of the bbox and of the output geometry, extra conditions on z and v (CQL2, composed with psycopg.sql;
    # their values in `where_params`), and further properties and Feature members (time axes, JSON-FG).
    during: tuple[dt.datetime | None, dt.datetime | None] | None = None
    bbox_srid: int = 4326
    srid: int = 4326
    where: S.Composable | None = None
    where_params: dict[str, Any] = field(default_factory=dict)
    extras: FeatureExtras | None = None


@dataclass(frozen=True)
class FeatureExtras:
    """Key-value pairs (SQL, each pair starting with a comma) added to a zone Feature's properties and to the
    Feature itself."""

    properties: S.Composable
    members: S.Composable


def _geometry_expr(simplify_m: float, srid: int = 4326) -> S.Composable:
    """Full resolution, or simplified (topology kept) to what a zoom level needs; in the output CRS (4326 is
    longitude/latitude as in RFC 7946 and CRS84; -4326 is EPSG:4326 in its own latitude/longitude axis order)."""
    geom = S.SQL("ST_SimplifyPreserveTopology(v.geom, %(simplify)s)") if simplify_m > 0 else S.SQL("v.geom")
    if srid == STORAGE_SRID:
        return geom
    if abs(srid) == 4326:
        wgs84 = S.SQL("ST_Transform({}, 4326)").format(geom) if simplify_m > 0 else S.SQL("v.geom_wgs84")
        return S.SQL("ST_FlipCoordinates({})").format(wgs84) if srid < 0 else wgs84
    return S.SQL("ST_Transform({}, {})").format(geom, S.Literal(srid))


def _precision(simplify_m: float, srid: int) -> int:
    """Decimals of the output coordinates: 6 (about 10 cm) at full resolution, 5 (1 m) is all a map needs;
    2 (1 cm) in metres."""
    if abs(srid) != 4326:
        return 2
    return 5 if simplify_m > 0 else 6


# The status expressions of zone_feature.sql: as things stand, or as known at the moment of published_as_of
# (migrations/0011_status_as_known.sql).
STATUS_NOW = {
    "status": S.SQL("zone_status_at(z.id, %(t)s)"),
    "version_status": S.SQL("version_status_at(v, %(t)s)"),
    "chain_end": S.SQL("zone_chain_end(z.id, %(t)s)"),
}
# In the Features of a page: the chain end of every zone of the page at once (the `ce` join of the final select)
# and the statuses from it (migrations/0180), the same rules as zone_status_at and version_status_at.
FEATURE_STATUS_NOW = {
    "status": S.SQL("zone_status_given(z.id, %(t)s, ce.chain_end, z.revoked_at, k.warning_days)"),
    "version_status": S.SQL("version_status_given(v.state, v.ended_reason, v.ended_at, v.valid, v.effective, %(t)s,"
                            " ce.chain_end, z.revoked_at, k.warning_days)"),
    "chain_end": S.SQL("ce.chain_end"),
}
# Set-based (migrations/0190): the page's versions read once, not once per zone (a fifth of a 1,000-zone page).
CHAIN_END_ONCE = S.SQL("LEFT JOIN zone_chain_ends((SELECT array_agg(zone_id) FROM page), %(t)s) ce"
                       " ON ce.zone_id = z.id")
STATUS_AS_KNOWN = {
    "status": S.SQL("zone_status_known(z.id, %(t)s, %(known)s)"),
    "version_status": S.SQL("version_status_known(v, %(t)s, %(known)s)"),
    "chain_end": S.SQL("zone_chain_end_known(z.id, %(t)s, %(known)s)"),
}

# Who may see a zone as it is shown by a version: a restricted zone by the officers of the district of that
# version's boundary (migrations/0111).
ACCESS_CONDITION = S.SQL("zone_visible(z.visibility, v.politikreds_code, %(visibilities)s, %(restricted_kreds)s)")


def _bbox_match(zq: ZoneQuery, alias: str, exact: bool = True) -> S.Composable:
    """The bbox test on a version `alias`: an index-backed && or (when exact) ST_Intersects, in the CRS the box
    was given in (EPSG:4326 against geom_wgs84; EPSG:25832 against geom; another CRS transformed to 25832)."""
    if zq.bbox_srid == 4326:
        column, env = S.SQL("geom_wgs84"), S.SQL("ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)")
    else:
        column = S.SQL("geom")
        env = S.SQL("ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, {})").format(S.Literal(zq.bbox_srid))
        if zq.bbox_srid != STORAGE_SRID:
            env = S.SQL("ST_Transform({}, 25832)").format(env)
    col = S.SQL("{}.{}").format(S.Identifier(alias), column)
    if not exact:
        return S.SQL("{col} && {env}").format(col=col, env=env)
    return S.SQL("ST_Intersects({col}, {env})").format(col=col, env=env)


GENERIC_PLAN = "SELECT set_config('plan_cache_mode', 'force_generic_plan', true)"


def build_zone_query(zq: ZoneQuery) -> tuple[S.Composed, dict[str, Any]]:
    # published_as_of=D: everything (statuses, the version shown, endings) at D as it was known at D
    params: dict[str, Any] = {
        "t": zq.published_as_of if zq.published_as_of is not None else zq.t,
        "known": zq.published_as_of if zq.published_as_of is not None else "infinity",
        "visibilities": list(zq.access.visibilities),
        "restricted_kreds": zq.access.restricted_politikreds,
        "simplify": zq.simplify_m,
        "staff": not zq.access.only_in_force,
        "limit": zq.limit,
        "offset": zq.offset,
    }
    zone_conds: list[S.Composable] = [ACCESS_CONDITION]
    if zq.kinds:
        zone_conds.append(S.SQL("z.kind = ANY(%(kinds)s)"))
        params["kinds"] = zq.kinds
    if zq.q:
        zone_conds.append(S.SQL("z.name ILIKE %(q)s"))
        params["q"] = "%" + zq.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if zq.zone_ids is not None:
        zone_conds.append(S.SQL("z.id = ANY(%(zone_ids)s)"))
        params["zone_ids"] = zq.zone_ids
    near = S.SQL("")
    if zq.bbox:
        # The zones with any version in the box, found through the spatial index first, so that the cost
        # follows the size of the answer and not the number of zones (the exact test on the version shown is
        # `in_box` below, so the bounding boxes suffice here).
        near = S.SQL("near AS MATERIALIZED (SELECT DISTINCT nv.zone_id FROM zone_version nv WHERE {}),").format(
            _bbox_match(zq, "nv", exact=False))
        zone_conds.append(S.SQL("z.id IN (SELECT zone_id FROM near)"))
        params.update(dict(zip(("x0", "y0", "x1", "y1"), zq.bbox, strict=True)))
    # The exact bbox test on the version that shows the zone, computed where that version is picked (tested on
    # the page's rows it made PostgreSQL scan the spatial index a second time to join by version: 11 of 87 ms
    # for a page of 1,000 zones at 10,000, bench/ogc.py).
    in_box = _bbox_match(zq, "v") if zq.bbox else S.SQL("TRUE")
    # the head of the three listings that keep the latest matching version of each zone (ORDER BY below)
    latest_per_zone = S.SQL("SELECT DISTINCT ON (z.id) z.id AS zone_id, v.id AS version_id, {} AS in_box\n"
                            "            FROM zone_version v JOIN zone z ON z.id = v.zone_id").format(in_box)

    if zq.published_as_of is not None:
        # What the public map showed at that moment: published by then, in force then, and not yet
        # revoked or amended away as far as anyone had recorded by then.
        params["asof"] = zq.published_as_of
        picked = S.SQL(
            """
            {latest_per_zone}
            WHERE v.state = 'published' AND v.published_at <= %(asof)s AND v.valid @> %(asof)s
              AND NOT (v.ended_at IS NOT NULL AND v.ended_at <= %(asof)s AND v.ended_recorded_at <= %(asof)s)
              AND NOT (z.revoked_at IS NOT NULL AND z.revoked_at <= %(asof)s
                       AND z.revoked_recorded_at <= %(asof)s)
              AND z.visibility = 'public' AND {conds}
            ORDER BY z.id, lower(v.valid) DESC
            """
        ).format(conds=S.SQL(" AND ").join(zone_conds), latest_per_zone=latest_per_zone)
    elif zq.during is not None:
        # In force at some moment of [start, end]: the latest such designation represents the zone.
        params["during_from"], params["during_to"] = zq.during
        picked = S.SQL(
            """
            {latest_per_zone}
            WHERE v.state = 'published'
              AND v.effective && tstzrange(%(during_from)s::timestamptz, %(during_to)s::timestamptz, '[]')
              AND {conds}
            ORDER BY z.id, lower(v.valid) DESC
            """
        ).format(conds=S.SQL(" AND ").join(zone_conds), latest_per_zone=latest_per_zone)
    elif zq.in_force_only:
        picked = S.SQL(
            """
            {latest_per_zone}
            WHERE v.state = 'published' AND v.effective @> %(t)s AND {conds}
            ORDER BY z.id, lower(v.valid) DESC
            """
        ).format(conds=S.SQL(" AND ").join(zone_conds), latest_per_zone=latest_per_zone)
    else:
        draft_cond = S.SQL("") if zq.access.drafts else S.SQL("AND v.state = 'published'")
        picked = S.SQL(
            """
            SELECT z.id AS zone_id, v.id AS version_id, v.in_box
            FROM zone z
            CROSS JOIN LATERAL (
                SELECT v.id, v.politikreds_code, {in_box} AS in_box
                FROM zone_version v WHERE v.zone_id = z.id {draft_cond}
                ORDER BY {order} LIMIT 1
            ) v
            WHERE {conds}
            """
        ).format(draft_cond=draft_cond, order=S.SQL(PICK_VERSION_ORDER), conds=S.SQL(" AND ").join(zone_conds),
                 in_box=in_box)

    outer: list[S.Composable] = [S.SQL("p.in_box")]
    status = STATUS_AS_KNOWN if zq.published_as_of is not None else STATUS_NOW
    if zq.statuses:
        outer.append(S.SQL("{} = ANY(%(statuses)s)").format(status["status"]))
        params["statuses"] = zq.statuses
    if zq.sector:
        outer.append(S.SQL("ST_Intersects(v.geom, (SELECT s.geom FROM patrol_sector s WHERE s.code = %(sector)s"
                           " AND s.valid @> %(t)s::timestamptz))"))
        params["sector"] = zq.sector
    if zq.where is not None:
        outer.append(zq.where)
        params.update(zq.where_params)

    feature: S.Composable = S.SQL(query("zone_feature")).format(
        geometry=_geometry_expr(zq.simplify_m, zq.srid), precision=S.Literal(_precision(zq.simplify_m, zq.srid)),
        more_properties=zq.extras.properties if zq.extras else S.SQL(""),
        more_members=zq.extras.members if zq.extras else S.SQL(""),
        **(status if zq.published_as_of is not None else FEATURE_STATUS_NOW))
    # The page is chosen (and counted) first; the Features, with their status functions, are built only for
    # the rows of the page. Every picked row has its zone, version and kind: as LEFT JOINs PostgreSQL leaves out
    # those the page's conditions do not use (the name order alone needs only the zone).
    statement = S.SQL(
        """
        WITH {near} picked AS ({picked}),
        page AS (
            SELECT p.zone_id, p.version_id, count(*) OVER () AS total
            FROM picked p
            LEFT JOIN zone z ON z.id = p.zone_id
            LEFT JOIN zone_version v ON v.id = p.version_id
            LEFT JOIN zone_kind k ON k.code = z.kind
            WHERE {outer}
            ORDER BY z.name, z.id
            LIMIT %(limit)s OFFSET %(offset)s
        )
        SELECT coalesce(json_agg({feature} ORDER BY z.name, z.id), '[]'::json)::text AS features,
               coalesce(max(page.total), 0) AS total,
               count(*) AS returned
        FROM page
        JOIN zone z ON z.id = page.zone_id
        JOIN zone_version v ON v.id = page.version_id
        JOIN zone_kind k ON k.code = z.kind
        {chain_end_once}
        """
    ).format(near=near, picked=picked, feature=feature, outer=S.SQL(" AND ").join(outer),
             chain_end_once=S.SQL("") if zq.published_as_of is not None else CHAIN_END_ONCE)
    return statement, params


# A bbox at most this large (in its CRS's units squared; about 2 x 2 km) asks about a few streets: a map
# at street zoom, an OGC client's point query. See select_features.
SMALL_BOX = {4326: 0.0005, STORAGE_SRID: 4_000_000.0}


def is_small_box_query(zq: ZoneQuery) -> bool:
    """A listing of the zones at one moment in a small box, with nothing else to narrow it: the one shape whose
    generic plan is known to be right (it starts from the spatial index of the `near` CTE)."""
    if zq.bbox is None or zq.bbox_srid not in SMALL_BOX:
        return False
    x0, y0, x1, y1 = zq.bbox
    return ((x1 - x0) * (y1 - y0) <= SMALL_BOX[zq.bbox_srid] and zq.published_as_of is None and zq.during is None
            and zq.where is None and not zq.q and zq.zone_ids is None and zq.sector is None and zq.offset == 0)


async def select_features(conn: AsyncConnection, zq: ZoneQuery) -> tuple[str, int, int]:
    """(features as a JSON array text, number matched, number returned)."""
    statement, params = build_zone_query(zq)
    if is_small_box_query(zq):
        # Planning this statement costs 2-3 ms, most of a small box's answer (bench/ogc.py: 3.1 ms planned, 0.9
        # ms with the generic plan). For a small box the generic plan is the right one, so the statement is
        # prepared and the generic plan forced for it alone: both statements go in one pipeline, whose implicit
        # transaction ends at its Sync, and a setting made local ends with it (one round trip).
        async with conn.pipeline():
            await conn.execute(GENERIC_PLAN, prepare=False)
            cur = await conn.execute(statement, params, prepare=True)
        row = await cur.fetchone()
    else:
        # Otherwise never prepared: psycopg prepares a statement after its fifth run, and PostgreSQL then soon
        # switches to a generic plan, which cannot see the bbox or the moment and reads every zone in force (at
        # 10,000 zones 2.7 s instead of 0.1 s; bench/ogc.py shows both plans).
        row = await (await conn.execute(statement, params, prepare=False)).fetchone()
    assert row is not None
    total = int(row["total"])
    if row["returned"] == 0 and zq.offset > 0:
        # numberMatched must still be right past the last page
        count_stmt, count_params = build_zone_query(ZoneQuery(**{**zq.__dict__, "offset": 0, "limit": 1}))
        again = await (await conn.execute(count_stmt, count_params, prepare=False)).fetchone()
        total = int(again["total"]) if again else 0
    return row["features"], total, int(row["returned"])


async def zone_row(conn: AsyncConnection, zone_id: int, *, for_update: bool = False) -> dict[str, Any] | None:
    lock = " FOR UPDATE" if for_update else ""
    cur = await conn.execute(f"SELECT * FROM zone WHERE id = %s{lock}", (zone_id,))
    return await cur.fetchone()


async def version_rows(conn: AsyncConnection, zone_id: int) -> list[dict[str, Any]]:
    cur = await conn.execute(
        """
        SELECT id, zone_id, version_no, change, continues_version_id, state, valid, ended_at, ended_reason,
               lower(valid) AS valid_from, upper(valid) AS valid_to,
               lower(effective) AS effective_from, upper(effective) AS effective_to,
               isempty(effective) AS never_effective,
               decision_ref, decided_by, legal_basis, reason, boundary_text, published_at, published_by,
               override_rule, override_reason, created_at, created_by, politikreds_code
        FROM zone_version WHERE zone_id = %s ORDER BY version_no
        """,
        (zone_id,),
    )
    return await cur.fetchall()


INSERT_ZONE = """
    INSERT INTO zone (kind, name, description, visibility, illustrative, politikreds_code, list_edition,
                      source_key, properties, created_by)
    VALUES (%(kind)s, %(name)s, %(description)s, %(visibility)s, %(illustrative)s, %(politikreds_code)s,
            %(list_edition)s, %(source_key)s, %(properties)s, %(created_by)s)
    RETURNING id
"""
ZONE_DEFAULTS: dict[str, Any] = {"source_key": None, "properties": "{}"}

INSERT_VERSION = """
    INSERT INTO zone_version (zone_id, version_no, change, continues_version_id, state, geom, valid,
                              decision_ref, decided_by, legal_basis, reason, boundary_text, published_at,
                              published_by, override_rule, override_reason, created_by)
    VALUES (%(zone_id)s,
            coalesce(%(version_no)s, (SELECT coalesce(max(version_no), 0) + 1 FROM zone_version
                                      WHERE zone_id = %(zone_id)s)),
            %(change)s, %(continues_version_id)s, %(state)s,
            ST_SetSRID(ST_GeomFromWKB(%(wkb)s), 25832),
            tstzrange(%(valid_from)s, coalesce(%(valid_to)s, 'infinity'::timestamptz), '[)'),
            %(decision_ref)s, %(decided_by)s, %(legal_basis)s, %(reason)s, %(boundary_text)s, %(published_at)s,
            %(published_by)s, %(override_rule)s, %(override_reason)s, %(created_by)s)
    RETURNING id
"""
VERSION_DEFAULTS: dict[str, Any] = {
    "version_no": None,
    "continues_version_id": None,
    "published_at": None,
    "published_by": None,
    "override_rule": None,
    "override_reason": None,
    "boundary_text": None,
}


async def insert_zone(conn: AsyncConnection, values: dict[str, Any]) -> int:
    return (await insert_zones(conn, [values]))[0]


async def insert_version(conn: AsyncConnection, values: dict[str, Any]) -> int:
    return (await insert_versions(conn, [values]))[0]


async def _insert_many(conn: AsyncConnection, statement: str, rows: list[dict[str, Any]]) -> list[int]:
    """Each row inserted by the same statement (one round trip for all, row triggers as for one), ids in order."""
    if not rows:
        return []
    ids: list[int] = []
    async with conn.cursor() as cur:
        await cur.executemany(statement, rows, returning=True)
        while True:
            row = await cur.fetchone()
            assert row is not None
            ids.append(int(row["id"]))
            if not cur.nextset():
                break
    return ids


async def insert_zones(conn: AsyncConnection, rows: list[dict[str, Any]]) -> list[int]:
    return await _insert_many(conn, INSERT_ZONE, [{**ZONE_DEFAULTS, **r} for r in rows])


async def insert_versions(conn: AsyncConnection, rows: list[dict[str, Any]]) -> list[int]:
    return await _insert_many(conn, INSERT_VERSION, [{**VERSION_DEFAULTS, **r} for r in rows])


async def same_geometry(conn: AsyncConnection, version_id: int, wkb: bytes, tolerance_m: float = 0.05) -> bool:
    cur = await conn.execute(
        "SELECT ST_HausdorffDistance(geom, ST_SetSRID(ST_GeomFromWKB(%s), 25832)) <= %s AS same"
        " FROM zone_version WHERE id = %s",
        (wkb, tolerance_m, version_id),
    )
    row = await cur.fetchone()
    return bool(row and row["same"])


async def update_zone_fields(conn: AsyncConnection, zone_id: int, fields: dict[str, Any]) -> None:
    if not fields:
        return
    assignments = S.SQL(", ").join(
        S.SQL("{} = {}").format(S.Identifier(name), S.Placeholder(name)) for name in fields
    )
    await conn.execute(
        S.SQL("UPDATE zone SET {} WHERE id = %(zone_id)s").format(assignments), {**fields, "zone_id": zone_id}
    )


async def update_version_fields(conn: AsyncConnection, version_id: int, fields: dict[str, Any]) -> None:
    """Update a version. `wkb`, `valid_from` and `valid_to` are translated into geom and valid."""
    parts: list[S.Composable] = []
    params: dict[str, Any] = {"version_id": version_id}
    for name, value in fields.items():
        if name == "wkb":
            parts.append(S.SQL("geom = ST_SetSRID(ST_GeomFromWKB(%(wkb)s), 25832)"))
        elif name == "period":
            parts.append(S.SQL(
                "valid = tstzrange(%(valid_from)s, coalesce(%(valid_to)s, 'infinity'::timestamptz), '[)')"))
            params["valid_from"], params["valid_to"] = value
            continue
        else:
            parts.append(S.SQL("{} = {}").format(S.Identifier(name), S.Placeholder(name)))
        params[name] = value
    if parts:
        await conn.execute(
            S.SQL("UPDATE zone_version SET {} WHERE id = %(version_id)s").format(S.SQL(", ").join(parts)), params
        )


async def revoke(
    conn: AsyncConnection, zone_id: int, *, at: dt.datetime, reason: str, decision_ref: str | None, actor: str,
    recorded_at: dt.datetime | None = None,
) -> None:
    params = {"at": at, "reason": reason, "decision_ref": decision_ref, "actor": actor, "zone_id": zone_id,
              "recorded": recorded_at}
    await conn.execute(
        """
        UPDATE zone SET revoked_at = %(at)s, revoked_recorded_at = coalesce(%(recorded)s, now()),
                        revoked_by = %(actor)s, revoke_reason = %(reason)s, revoke_decision_ref = %(decision_ref)s
        WHERE id = %(zone_id)s
        """,
        params,
    )
    # The version in force at the revocation stops there (also one an amendment had already cut to a later
    # moment); one that has not started by then is withdrawn: it ends at its own start, so it was never in
    # force and no version ends before it begins.
    await conn.execute(
        """
        UPDATE zone_version
        SET ended_at = CASE WHEN lower(valid) >= %(at)s THEN lower(valid) ELSE %(at)s END,
            ended_recorded_at = coalesce(%(recorded)s, now()),
            ended_reason = CASE WHEN lower(valid) >= %(at)s THEN 'withdrawn' ELSE 'revoked' END
        WHERE zone_id = %(zone_id)s AND state = 'published' AND NOT isempty(effective) AND upper(effective) > %(at)s
        """,
        params,
    )


async def state_tag(conn: AsyncConnection, zone_id: int) -> str:
    """A tag of everything recorded about a zone: it changes with every audited change of the zone, its versions
    and its overrides (each writes an audit row), and says nothing about them (a digest)."""
    cur = await conn.execute(
        "SELECT count(*) AS n, max(seq) AS last FROM audit_log WHERE zone_id = %s", (zone_id,))
    row = await cur.fetchone()
    assert row is not None
    return hashlib.sha256(f"zone:{zone_id}:{row['n']}:{row['last']}".encode()).hexdigest()[:20]


async def version_with_decision(conn: AsyncConnection, zone_id: int, decision_ref: str | None
                                ) -> dict[str, Any] | None:
    """The version of a zone already recorded under this decision reference (compared by decision_key():
    Unicode-normalised, white space collapsed, case-insensitive)."""
    if not decision_ref or not decision_ref.strip():
        return None
    cur = await conn.execute(
        """
        SELECT id, version_no, state, change, published_at FROM zone_version
        WHERE zone_id = %s AND decision_key(decision_ref) = decision_key(%s)
        """,
        (zone_id, decision_ref),
    )
    return await cur.fetchone()


INSERT_OVERRIDE = """
    INSERT INTO rule_override (zone_id, version_id, action, rules, rule_text, reason, actor)
    VALUES (%(zone_id)s, %(version_id)s, %(action)s, %(rules)s, %(rule_text)s, %(reason)s, %(actor)s)
"""


async def record_override(conn: AsyncConnection, *, zone_id: int, version_id: int | None, action: str,
                          rules: tuple[str, ...], rule_text: str, reason: str, actor: str) -> None:
    """One admin override in the append-only override log (migrations/0110), which the validity report lists."""
    await record_overrides(conn, [{"zone_id": zone_id, "version_id": version_id, "action": action,
                                   "rules": list(rules), "rule_text": rule_text, "reason": reason, "actor": actor}])


async def record_overrides(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        async with conn.cursor() as cur:
            await cur.executemany(INSERT_OVERRIDE, rows)


async def placement(conn: AsyncConnection, wkb: bytes) -> dict[str, Any]:
    """The politikreds holding most of a geometry, and the boundary point farthest from Denmark's police
    districts: code, distance_m (None when no reference areas are loaded), lon, lat."""
    return (await placements(conn, [wkb]))[0]


async def placements(conn: AsyncConnection, wkbs: list[bytes]) -> list[dict[str, Any]]:
    """placement() of many geometries in one statement, in their order."""
    if not wkbs:
        return []
    cur = await conn.execute(query("geometry_placement"), {"wkbs": wkbs})
    return [dict(row) for row in await cur.fetchall()]


async def politikreds_for(conn: AsyncConnection, wkb: bytes) -> tuple[str | None, float | None]:
    """The politikreds holding most of a geometry, and how far its boundary strays from Denmark's police
    districts in metres (0 on land; None when no reference areas are loaded)."""
    row = await placement(conn, wkb)
    return row["code"], row["distance_m"]


async def end_version(conn: AsyncConnection, version_id: int, *, at: dt.datetime, reason: str) -> None:
    """Cut a published version short from `at` (an amendment takes over, or a revocation)."""
    await conn.execute(
        "UPDATE zone_version SET ended_at = %s, ended_recorded_at = now(), ended_reason = %s WHERE id = %s",
        (at, reason, version_id),
    )


async def copy_geometry_wkb(conn: AsyncConnection, version_id: int) -> bytes:
    cur = await conn.execute("SELECT ST_AsBinary(geom) AS wkb FROM zone_version WHERE id = %s", (version_id,))
    row = await cur.fetchone()
    assert row is not None
    return bytes(row["wkb"])


async def publish_version(
    conn: AsyncConnection, version_id: int, *, start: dt.datetime, decision_ref: str | None, actor: str,
    override_rule: str | None, override_reason: str | None,
) -> None:
    await conn.execute(
        """
        UPDATE zone_version
        SET state = 'published', published_at = now(), published_by = %(actor)s,
            valid = tstzrange(%(start)s, upper(valid), '[)'),
            decision_ref = coalesce(%(decision_ref)s, decision_ref),
            override_rule = coalesce(%(override_rule)s, override_rule),
            override_reason = coalesce(%(override_reason)s, override_reason)
        WHERE id = %(id)s
        """,
        {"actor": actor, "start": start, "decision_ref": decision_ref, "override_rule": override_rule,
         "override_reason": override_reason, "id": version_id},
    )


async def archive(conn: AsyncConnection, zone_id: int, actor: str) -> None:
    await conn.execute("UPDATE zone SET archived_at = now(), archived_by = %s WHERE id = %s", (actor, zone_id))


async def zone_status(conn: AsyncConnection, zone_id: int, t: dt.datetime) -> str:
    cur = await conn.execute("SELECT zone_status_at(%s, %s) AS status", (zone_id, t))
    row = await cur.fetchone()
    assert row is not None
    return str(row["status"])


async def history_versions(conn: AsyncConnection, zone_id: int, t: dt.datetime, drafts: bool,
                           district: str | None = None) -> str:
    """Every version (drafts only when asked); with `district`, only the versions whose boundary lies there."""
    cur = await conn.execute(query("zone_history"), {"zone_id": zone_id, "t": t, "drafts": drafts,
                                                     "district": district})
    row = await cur.fetchone()
    assert row is not None
    return row["body"]


async def audit_events(conn: AsyncConnection, zone_id: int) -> list[dict[str, Any]]:
    cur = await conn.execute(
        """
        SELECT id, at, actor, action, entity, entity_id, before, after, reason
        FROM audit_log WHERE zone_id = %s ORDER BY id
        """,
        (zone_id,),
    )
    return await cur.fetchall()
