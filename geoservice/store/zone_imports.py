"""SQL for zone file imports: the import batches (migrations/0170) and what an import compares a file with."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb


async def politikredse(conn: AsyncConnection) -> list[dict[str, Any]]:
    cur = await conn.execute("SELECT code, name FROM reference_area WHERE area_type = 'politikreds' ORDER BY code")
    return await cur.fetchall()


async def begin_import(conn: AsyncConnection, values: dict[str, Any]) -> int:
    """The batch row, first in the import's transaction; everything the import writes from here on carries its
    id (geoservice.import_id, read by the columns' default, current_zone_import())."""
    cur = await conn.execute(
        """
        INSERT INTO zone_import (source, file_name, file_sha256, historical, override_reason, imported_by, report)
        VALUES (%(source)s, %(file_name)s, %(sha256)s, %(historical)s, %(override_reason)s, %(by)s, '{}')
        RETURNING id
        """,
        values,
    )
    row = await cur.fetchone()
    assert row is not None
    await conn.execute("SELECT set_config('geoservice.import_id', %s, true)", (str(row["id"]),))
    return int(row["id"])


async def finish_import(conn: AsyncConnection, import_id: int, report: dict[str, Any]) -> None:
    await conn.execute("UPDATE zone_import SET report = %s WHERE id = %s", (Jsonb(report), import_id))


async def zones_by_source_key(conn: AsyncConnection, keys: list[str]) -> dict[str, dict[str, Any]]:
    """The zones already imported under these keys, with their versions (boundary as WKB, EPSG:25832)."""
    cur = await conn.execute(
        """
        SELECT z.id, z.source_key, z.name, z.kind, z.description, z.visibility, z.illustrative, z.list_edition,
               z.revoked_at, z.archived_at, z.properties,
               coalesce(json_agg(json_build_object(
                   'id', v.id, 'version_no', v.version_no, 'state', v.state,
                   'valid_from', lower(v.valid), 'valid_to', nullif(upper(v.valid), 'infinity'),
                   'effective_to', upper(v.effective), 'never_effective', isempty(v.effective),
                   'decision_ref', v.decision_ref, 'decided_by', v.decided_by, 'legal_basis', v.legal_basis,
                   'boundary_text', v.boundary_text, 'reason', v.reason,
                   'wkb', encode(ST_AsBinary(v.geom), 'hex')) ORDER BY v.version_no), '[]') AS versions
        FROM zone z JOIN zone_version v ON v.zone_id = z.id
        WHERE z.source_key = ANY(%s)
        GROUP BY z.id
        """,
        (keys,),
    )
    return {row["source_key"]: row for row in await cur.fetchall()}


async def list_imports(conn: AsyncConnection, limit: int) -> list[dict[str, Any]]:
    cur = await conn.execute(
        """
        SELECT id, source, file_name, file_sha256, historical, imported_by, imported_at,
               report -> 'counts' AS counts
        FROM zone_import ORDER BY id DESC LIMIT %s
        """,
        (limit,),
    )
    return await cur.fetchall()


async def get_import(conn: AsyncConnection, import_id: int) -> dict[str, Any] | None:
    cur = await conn.execute(
        "SELECT id, source, file_name, file_sha256, historical, override_reason, imported_by, imported_at, report"
        " FROM zone_import WHERE id = %s",
        (import_id,),
    )
    return await cur.fetchone()
