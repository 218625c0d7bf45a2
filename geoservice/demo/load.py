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
import yaml
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from geoservice import timeutil
from geoservice.access import Principal, Role
from geoservice.db import Actor, OneTransaction, connect_async, set_audit_context
from geoservice.demo.build import DemoData, DemoZone
from geoservice.errors import GeoserviceError
from geoservice.layers import Layers, get_layers
from geoservice.rules import Period, check_period
from geoservice.settings import Settings
from geoservice.store import demo as demo_store
from geoservice.store import zones as zone_store

DEMO_ACTOR = Actor(name="demo-loader", role="admin")
ILLUSTRATIVE_NOTE = {
    "da": "Illustrativ afgrænsning afledt af offentlige data; ikke den officielle grænse.",
    "en": "Illustrative boundary derived from public data; not the official boundary.",
}

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
    history: list[Any] = field(default_factory=list)  # zone import reports (geoservice.zonefiles.apply)

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
            report.areas_changed += await demo_store.upsert_area(conn, {
                "area_type": area.area_type, "code": area.code, "name": area.name,
                "parent_code": area.parent_code, "source": area.source, "wkb": _wkb(area.geom),
            })
        for station in data.stations:
            report.stations_changed += await demo_store.upsert_station(conn, {
                "code": station.code, "name": station.name, "kreds": station.politikreds or data.politikreds,
                "address": station.address, "phone": station.phone, "email": station.email,
                "wkb": _wkb(station.point),
            })
        for sector in data.sectors:
            report.sectors_changed += await demo_store.upsert_sector(conn, {
                "code": sector.code, "name": sector.name, "station": sector.station_code,
                "kreds": sector.politikreds or data.politikreds,
                "kommune": sector.kommune_code, "wkb": _wkb(sector.geom)})
            for officer in sector.officers:
                report.officers_changed += await demo_store.upsert_officer(conn, {"sector": sector.code, **officer})
        places = data.places
        report.places_added = await demo_store.add_places(
            conn, zip(places.ids.tolist(), places.names, places.categories, places.x.tolist(), places.y.tolist(),
                      strict=True), places.source)
        authorities = {a.code: a.name for a in data.reference if a.area_type == "politikreds"}
        for zone in data.zones:
            if await demo_store.zone_exists(conn, zone.key):
                report.zones_kept.append(zone.key)
                continue
            await _insert_zone(conn, zone, layers, authorities)
            report.zones_added.append(zone.key)
    return report


async def _insert_zone(conn: AsyncConnection, zone: DemoZone, layers: Layers, authorities: dict[str, str]) -> None:
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
            "decided_by": authorities.get(kreds or "", "Politiet"),  # the district the zone lies in decided it
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



DEMO_PRINCIPAL = Principal(role=Role.admin, username=DEMO_ACTOR.name)


async def load_history(conn: AsyncConnection, settings: Settings) -> list[Any]:
    """The real zone history of layers/demo/history.yaml, through the zone file import (every rule, override and
    audit step as for any import); a second load finds every zone unchanged and writes nothing."""
    from geoservice.zonefiles.apply import import_zones
    from geoservice.zonefiles.options import build_options, mapping_file

    spec = yaml.safe_load((settings.layers_dir / "demo" / "history.yaml").read_text(encoding="utf-8"))
    reports = []
    for item in spec["imports"]:
        options = build_options(mapping_file(settings.layers_dir / item["mapping"]))
        reports.append(await import_zones(OneTransaction(conn), DEMO_PRINCIPAL,
                                          settings.shared_data_dir / item["file"], options))
    return reports


async def load_demo(settings: Settings, dbname: str | None = None) -> LoadReport:
    """Build the demo data (zones and their world, then the overlays on them) and load what is missing."""
    from geoservice.demo.build import build
    from geoservice.overlays.demo import build_overlays, load_overlays

    data = build(settings.shared_data_dir, settings.layers_dir)
    conn = await connect_async(settings, dbname)
    try:
        report = await load(conn, data, get_layers())
        report.history = await load_history(conn, settings)
        overlays = await asyncio.to_thread(build_overlays, data, settings.shared_data_dir, settings.layers_dir,
                                             settings.demo_today)
        report.overlays = await load_overlays(conn, overlays)
        return report
    finally:
        await conn.close()
