"""Load the demo data set into the database: idempotent, in one transaction.

Reference areas, stations, sectors and officers are upserted only where they differ; zones are keyed by
`source_key` and added when missing, so a second load changes nothing (and writes nothing to the audit log).
Every demo version is checked against the rules of its kind first, like any other zone.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import shapely
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from geoservice import timeutil
from geoservice.db import Actor, connect_async, set_audit_context
from geoservice.demo.build import DemoData, DemoZone, Places, Sector
from geoservice.errors import GeoserviceError
from geoservice.layers import Layers, get_layers
from geoservice.rules import Period, check_period
from geoservice.settings import Settings
from geoservice.store import zones as zone_store

DEMO_ACTOR = Actor(name="demo-loader", role="admin")
ILLUSTRATIVE_NOTE = {
    "da": "Illustrativ afgrænsning afledt af offentlige data; ikke den officielle grænse.",
    "en": "Illustrative boundary derived from public data; not the official boundary.",
}

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


@dataclass
class LoadReport:
    places_added: int = 0
    areas_changed: int = 0
    stations_changed: int = 0
    sectors_changed: int = 0
    officers_changed: int = 0
    zones_added: list[str] = field(default_factory=list)
    zones_kept: list[str] = field(default_factory=list)
    overlays: Any = None  # the overlay demo's report (geoservice.overlays.demo)

    def summary(self) -> str:
        return (
            f"reference areas changed: {self.areas_changed}, stations: {self.stations_changed}, "
            f"sectors: {self.sectors_changed}, officers: {self.officers_changed}, "
            f"zones added: {len(self.zones_added)}, already present: {len(self.zones_kept)}, "
            f"places added: {self.places_added}"
        )


def _wkb(geom: object) -> bytes:
    return shapely.to_wkb(geom, include_srid=False)


async def load(conn: AsyncConnection, data: DemoData, layers: Layers) -> LoadReport:
    report = LoadReport()
    async with conn.transaction():
        await set_audit_context(conn, DEMO_ACTOR, "demo.load", "demo data load")
        for area in data.reference:
            cur = await conn.execute(UPSERT_AREA, {
                "area_type": area.area_type, "code": area.code, "name": area.name,
                "parent_code": area.parent_code, "source": area.source, "wkb": _wkb(area.geom),
            })
            report.areas_changed += cur.rowcount
        for station in data.stations:
            cur = await conn.execute(UPSERT_STATION, {
                "code": station.code, "name": station.name, "kreds": data.politikreds,
                "address": station.address, "phone": station.phone, "email": station.email,
                "wkb": _wkb(station.point),
            })
            report.stations_changed += cur.rowcount
        for sector in data.sectors:
            report.sectors_changed += await _upsert_sector(conn, sector, data.politikreds)
            for officer in sector.officers:
                cur = await conn.execute(UPSERT_OFFICER, {"sector": sector.code, **officer})
                report.officers_changed += cur.rowcount
        report.places_added = await _load_places(conn, data.places)
        for zone in data.zones:
            exists = await (await conn.execute("SELECT id FROM zone WHERE source_key = %s", (zone.key,))).fetchone()
            if exists:
                report.zones_kept.append(zone.key)
                continue
            await _insert_zone(conn, zone, layers)
            report.zones_added.append(zone.key)
    return report


async def _load_places(conn: AsyncConnection, places: Places) -> int:
    """COPY into a temporary table, then add the ones not there yet (a reload adds nothing)."""
    await conn.execute("CREATE TEMP TABLE place_in (id bigint, name text, category text, x float8, y float8)"
                       " ON COMMIT DROP")
    async with conn.cursor().copy("COPY place_in (id, name, category, x, y) FROM STDIN") as copy:
        for row in zip(places.ids.tolist(), places.names, places.categories, places.x.tolist(), places.y.tolist(),
                       strict=True):
            await copy.write_row(row)
    cur = await conn.execute(
        """
        INSERT INTO place (id, name, category, geom, source)
        SELECT id, name, category, ST_SetSRID(ST_MakePoint(x, y), 25832), %s FROM place_in
        ON CONFLICT (id) DO NOTHING
        """,
        (places.source,),
    )
    return cur.rowcount


async def _upsert_sector(conn: AsyncConnection, sector: Sector, kreds: str) -> int:
    params = {"code": sector.code, "name": sector.name, "station": sector.station_code, "kreds": kreds,
              "kommune": sector.kommune_code, "wkb": _wkb(sector.geom)}
    row = await (await conn.execute(FIND_SECTOR, (sector.code,))).fetchone()
    if row is None:
        await conn.execute(INSERT_SECTOR, params)
        return 1
    if (row["name"], row["station_code"], bytes(row["wkb"])) != (sector.name, sector.station_code, params["wkb"]):
        await conn.execute(UPDATE_SECTOR, {**params, "id": row["id"]})
        return 1
    return 0


async def _insert_zone(conn: AsyncConnection, zone: DemoZone, layers: Layers) -> None:
    rules = layers.kind(zone.kind)
    if rules is None:
        raise GeoserviceError(f"demo zone {zone.key}: unknown kind {zone.kind}")
    periods = []
    for i, version in enumerate(zone.versions):
        start = timeutil.parse_instant(version.valid_from, f"{zone.key}.versions[{i}].valid_from")
        end = (timeutil.parse_instant(version.valid_to, f"{zone.key}.versions[{i}].valid_to")
               if version.valid_to else None)
        breaches = check_period(rules, Period(start, end), prefix=f"{zone.key}.versions[{i}].",
                                extension=version.change == "extension")
        if breaches:
            raise GeoserviceError(f"demo zone {zone.key} breaks a rule: {breaches[0].text}: {breaches[0].detail}")
        periods.append((start, end))
    wkb = _wkb(zone.geom)
    kreds, _ = await zone_store.politikreds_for(conn, wkb)
    zone_id = await zone_store.insert_zone(conn, {
        "kind": zone.kind,
        "name": zone.name,
        "description": zone.description,
        "visibility": zone.visibility or rules.default_visibility,
        "illustrative": True,
        "politikreds_code": kreds,
        "list_edition": zone.list_edition,
        "source_key": zone.key,
        "properties": Jsonb({"derived_from": zone.recipe, "illustrative_note": ILLUSTRATIVE_NOTE, "demo": True}),
        "created_by": DEMO_ACTOR.name,
    })
    previous: int | None = None
    for version, (start, end) in zip(zone.versions, periods, strict=True):
        published = not zone.draft
        previous = await zone_store.insert_version(conn, {
            "zone_id": zone_id,
            "change": version.change,
            "continues_version_id": previous if version.change != "designation" else None,
            "state": "published" if published else "draft",
            "wkb": wkb,
            "valid_from": start,
            "valid_to": end,
            "decision_ref": version.decision_ref,
            "decided_by": _authority(zone),
            "legal_basis": rules.legal_basis,
            "reason": version.reason,
            "published_at": timeutil.parse_instant(version.published_at, "published_at") if published else None,
            "published_by": DEMO_ACTOR.name if published else None,
            "created_by": DEMO_ACTOR.name,
        })
    if zone.revoked:
        r = zone.revoked
        await zone_store.revoke(
            conn, zone_id,
            at=timeutil.parse_instant(r["at"], "revoked.at"),
            reason=r["reason"], decision_ref=r.get("decision_ref"), actor=DEMO_ACTOR.name,
            recorded_at=timeutil.parse_instant(r["recorded_at"], "revoked.recorded_at"),
        )


def _authority(zone: DemoZone) -> str:
    return "Nordjyllands Politi" if zone.kommune == "0851" else "Københavns Politi"


async def load_demo(settings: Settings, dbname: str | None = None) -> LoadReport:
    """Build the demo data (zones and their world, then the overlays on them) and load what is missing."""
    from geoservice.demo.build import build
    from geoservice.overlays.demo import build_overlays, load_overlays

    data = build(settings.shared_data_dir, settings.layers_dir)
    conn = await connect_async(settings, dbname)
    try:
        report = await load(conn, data, get_layers())
        overlays = await asyncio.to_thread(build_overlays, data, settings.shared_data_dir, settings.layers_dir)
        report.overlays = await load_overlays(conn, overlays)
        return report
    finally:
        await conn.close()
