"""SQL that loads the demo data set: upserts that change a row only when it differs, so a reload writes
nothing (and the audit log stays as it was)."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

UPSERT_AREA = """
INSERT INTO reference_area (area_type, code, name, parent_code, source, geom)
VALUES (%(area_type)s, %(code)s, %(name)s, %(parent_code)s, %(source)s, ST_SetSRID(ST_GeomFromWKB(%(wkb)s), 25832))
ON CONFLICT (area_type, code) DO UPDATE
SET name = EXCLUDED.name, parent_code = EXCLUDED.parent_code, source = EXCLUDED.source, geom = EXCLUDED.geom
WHERE (reference_area.name, reference_area.parent_code, reference_area.source, ST_AsBinary(reference_area.geom))
      IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.parent_code, EXCLUDED.source, ST_AsBinary(EXCLUDED.geom))
"""

UPSERT_STATION = """
INSERT INTO police_station (code, name, politikreds_code, address, phone, email, illustrative, geom)
VALUES (%(code)s, %(name)s, %(kreds)s, %(address)s, %(phone)s, %(email)s, true,
        ST_SetSRID(ST_GeomFromWKB(%(wkb)s), 25832))
ON CONFLICT (code) DO UPDATE
SET name = EXCLUDED.name, politikreds_code = EXCLUDED.politikreds_code, address = EXCLUDED.address,
    phone = EXCLUDED.phone, email = EXCLUDED.email, geom = EXCLUDED.geom
WHERE (police_station.name, police_station.address, police_station.phone, police_station.email,
       ST_AsBinary(police_station.geom))
      IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.address, EXCLUDED.phone, EXCLUDED.email, ST_AsBinary(EXCLUDED.geom))
"""

FIND_SECTOR = """
SELECT id, name, station_code, ST_AsBinary(geom) AS wkb FROM patrol_sector
WHERE code = %s AND upper(valid) = 'infinity'
"""

INSERT_SECTOR = """
INSERT INTO patrol_sector (code, name, station_code, politikreds_code, kommune_code, illustrative, geom)
VALUES (%(code)s, %(name)s, %(station)s, %(kreds)s, %(kommune)s, true, ST_SetSRID(ST_GeomFromWKB(%(wkb)s), 25832))
"""

UPDATE_SECTOR = """
UPDATE patrol_sector SET name = %(name)s, station_code = %(station)s, geom = ST_SetSRID(ST_GeomFromWKB(%(wkb)s), 25832)
WHERE id = %(id)s
"""

UPSERT_OFFICER = """
INSERT INTO officer (sector_code, name, phone, email, illustrative)
VALUES (%(sector)s, %(name)s, %(phone)s, %(email)s, true)
ON CONFLICT (sector_code, name) DO UPDATE SET phone = EXCLUDED.phone, email = EXCLUDED.email
WHERE (officer.phone, officer.email) IS DISTINCT FROM (EXCLUDED.phone, EXCLUDED.email)
"""



async def upsert_area(conn: AsyncConnection, values: dict[str, Any]) -> int:
    return (await conn.execute(UPSERT_AREA, values)).rowcount


async def upsert_station(conn: AsyncConnection, values: dict[str, Any]) -> int:
    return (await conn.execute(UPSERT_STATION, values)).rowcount


async def upsert_officer(conn: AsyncConnection, values: dict[str, Any]) -> int:
    return (await conn.execute(UPSERT_OFFICER, values)).rowcount


async def zone_exists(conn: AsyncConnection, source_key: str) -> bool:
    cur = await conn.execute("SELECT 1 FROM zone WHERE source_key = %s", (source_key,))
    return await cur.fetchone() is not None


async def upsert_sector(conn: AsyncConnection, values: dict[str, Any]) -> int:
    """Insert the sector, or update the current one when its name, station or boundary changed."""
    row = await (await conn.execute(FIND_SECTOR, (values["code"],))).fetchone()
    if row is None:
        await conn.execute(INSERT_SECTOR, values)
        return 1
    if (row["name"], row["station_code"], bytes(row["wkb"])) != (values["name"], values["station"], values["wkb"]):
        await conn.execute(UPDATE_SECTOR, {**values, "id": row["id"]})
        return 1
    return 0


async def add_places(conn: AsyncConnection, rows: Any, source: str) -> int:
    """COPY into a temporary table, then add the ones not there yet (a reload adds nothing)."""
    await conn.execute("CREATE TEMP TABLE place_in (id bigint, name text, category text, x float8, y float8)"
                       " ON COMMIT DROP")
    async with conn.cursor().copy("COPY place_in (id, name, category, x, y) FROM STDIN") as copy:
        for row in rows:
            await copy.write_row(row)
    cur = await conn.execute(
        """
        INSERT INTO place (id, name, category, geom, source)
        SELECT id, name, category, ST_SetSRID(ST_MakePoint(x, y), 25832), %s FROM place_in
        ON CONFLICT (id) DO NOTHING
        """,
        (source,),
    )
    return cur.rowcount
