"""Zone imports from files, in a database of their own (`<db>_bench_zone_import`, rebuilt each run: migrations,
reference areas and the demo zones, no history).

1. The real visitation-zone history (247 periods, ../shared/data/visitationszoner) with its mapping
   (layers/imports/visitationszoner.yaml): first import, the same file again (all unchanged), and a dry run.
2. A generated GeoPackage of 10,000 zones (polygons of 24 vertices, 150 m across, around the kommuner of Denmark,
   EPSG:25832, drafts): the import through the service (read, check, plan, the rule check of every zone, placement,
   rows, audit) against the floor measured in the same run: the same rows, already prepared (EPSG:25832 WKB, the
   politikreds known), INSERTed straight into `zone` and `zone_version` from a staging table, with the audit
   triggers that any write of a zone fires. Then the same file again (all unchanged).
Targets: the history in seconds; 10,000 features in under 30 s.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import psycopg
import shapely

from geoservice import cluster
from geoservice.access import Principal, Role
from geoservice.db import Database, connect, connect_async
from geoservice.settings import get_settings

N = 10_000
HISTORY = "visitationszoner/visitationszoner_2007_2025.geojson"
BENCH = Principal(role=Role.admin, username="bench")


def _bench_db() -> str:
    from geoservice.cli import migrate_and_sync
    from geoservice.demo.build import build
    from geoservice.demo.load import load
    from geoservice.layers import get_layers

    settings = get_settings()
    name = f"{settings.db_name}_bench_zone_import"
    cluster.drop_database(settings, name)
    migrate_and_sync(settings, name)

    async def reference() -> None:
        conn = await connect_async(settings, name)
        try:
            await load(conn, build(settings.shared_data_dir, settings.layers_dir), get_layers())
        finally:
            await conn.close()

    asyncio.run(reference())
    return name


def _make_gpkg(dbname: str, path: Path) -> None:
    """10,000 small zones around points on land in every kommune (deterministic)."""
    with connect(get_settings(), dbname) as conn:
        points = np.array(conn.execute(
            "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM reference_area"
            " WHERE area_type = 'kommune' ORDER BY code").fetchall())
    rng = np.random.default_rng(10_000)
    centres = points[rng.integers(0, len(points), N)] + rng.normal(0, 800, (N, 2))
    frame = gpd.GeoDataFrame({
        "key": [f"bench-{i:05d}" for i in range(N)],
        "name": [f"Benchzone {i}" for i in range(N)],
        "kind": "visitationszone",
        "valid_from": "2027-03-01 16:00", "valid_to": "2027-03-15 16:00",
        "decision_ref": [f"BENCH-{i}" for i in range(N)],
        "boundary_text": "Gader omkring stedet",
    }, geometry=shapely.buffer(shapely.points(centres), 75, quad_segs=6), crs="EPSG:25832")
    frame.to_file(path, driver="GPKG", engine="pyogrio", layer="zoner")


async def _import(dbname: str, path: Path, options: Any) -> tuple[float, Any]:
    from geoservice.zonefiles.apply import import_zones

    db = Database(get_settings().model_copy(update={"db_name": dbname}))
    await db.open()
    try:
        start = time.perf_counter()
        report = await import_zones(db, BENCH, path, options)
        return time.perf_counter() - start, report
    finally:
        await db.close()


def _stages(dbname: str, path: Path, options: Any) -> dict[str, float]:
    """Reading, checking and planning alone (no database writes), to show where the time goes."""
    from geoservice.zonefiles.plan import plan_zones
    from geoservice.zonefiles.reading import read_zone_file
    from geoservice.zonefiles.records import Authorities, check_features

    with connect(get_settings(), dbname) as conn:
        rows = conn.execute("SELECT code, name FROM reference_area WHERE area_type = 'politikreds'").fetchall()
    authorities = Authorities.from_rows([{"code": c, "name": n} for c, n in rows])
    t0 = time.perf_counter()
    table = read_zone_file(path)
    t1 = time.perf_counter()
    checked = check_features(table, options, authorities)
    t2 = time.perf_counter()
    plan_zones(checked, options)
    t3 = time.perf_counter()
    return {"read_s": round(t1 - t0, 2), "check_s": round(t2 - t1, 2), "plan_and_validate_s": round(t3 - t2, 2)}


def _floor(dbname: str) -> float:
    """The imported rows again, prepared (WKB in EPSG:25832, politikreds known), inserted straight into zone and
    zone_version in one transaction, with the audit triggers: what PostgreSQL itself needs for them."""
    with connect(get_settings(), dbname, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT z.name, z.politikreds_code, z.source_key, ST_AsBinary(v.geom), v.decision_ref, v.boundary_text"
            " FROM zone z JOIN zone_version v ON v.zone_id = z.id WHERE z.source_key LIKE 'bench:%' ORDER BY z.id"
        ).fetchall()
        start = time.perf_counter()
        with conn.transaction():
            conn.execute("SELECT set_config('geoservice.actor', 'bench-floor', true)")
            conn.execute("CREATE TEMP TABLE floor_rows (name text, kreds text, key text, wkb bytea, ref text,"
                         " boundary text) ON COMMIT DROP")
            with conn.cursor().copy("COPY floor_rows FROM STDIN") as copy:
                for name, kreds, key, wkb, ref, boundary in rows:
                    copy.write_row((name, kreds, "floor-" + key, wkb, ref, boundary))
            conn.execute(
                "INSERT INTO zone (kind, name, visibility, politikreds_code, source_key, created_by)"
                " SELECT 'visitationszone', name, 'public', kreds, key, 'bench' FROM floor_rows")
            conn.execute(
                "INSERT INTO zone_version (zone_id, version_no, change, state, geom, valid, decision_ref,"
                " legal_basis, boundary_text, created_by)"
                " SELECT z.id, 1, 'designation', 'draft', ST_SetSRID(ST_GeomFromWKB(f.wkb), 25832),"
                " tstzrange('2027-03-01 16:00+01', '2027-03-15 16:00+01'), f.ref, 'Politiloven § 6', f.boundary,"
                " 'bench' FROM floor_rows f JOIN zone z ON z.source_key = f.key")
            elapsed = time.perf_counter() - start
            raise psycopg.Rollback()
    return elapsed


def run() -> dict:
    from geoservice.zonefiles.options import build_options, mapping_file

    settings = get_settings()
    dbname = _bench_db()
    history_options = build_options(mapping_file(settings.layers_dir / "imports" / "visitationszoner.yaml"))
    history_path = settings.shared_data_dir / HISTORY
    dry_s, dry = asyncio.run(_import(dbname, history_path, history_options.model_copy(update={"dry_run": True})))
    assert dry.counts["created"] == 169, dry.summary()
    first_s, first = asyncio.run(_import(dbname, history_path, history_options))
    again_s, again = asyncio.run(_import(dbname, history_path, history_options))
    assert first.counts["zones"] == 169 and again.counts["unchanged"] == 169, (first.summary(), again.summary())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "zones.gpkg"
        _make_gpkg(dbname, path)
        size_mb = path.stat().st_size / 1e6
        options = build_options(source="bench")
        stages = _stages(dbname, path, options)
        import_s, report = asyncio.run(_import(dbname, path, options))
        reimport_s, unchanged = asyncio.run(_import(dbname, path, options))
    assert report.counts["created"] == N and not report.rejected, report.summary()
    assert unchanged.counts["unchanged"] == N, unchanged.summary()
    floor_s = _floor(dbname)
    return {
        "history": {"periods": first.counts["periods"], "zones": first.counts["zones"],
                    "import_s": round(first_s, 2), "reimport_unchanged_s": round(again_s, 2),
                    "dry_run_s": round(dry_s, 2), "counts": first.counts},
        "gpkg_10k": {"features": N, "file_mb": round(size_mb, 2), "import_s": round(import_s, 2),
                     "features_per_s": round(N / import_s), "reimport_unchanged_s": round(reimport_s, 2),
                     "stages_without_writes": stages, "floor_insert_prepared_rows_s": round(floor_s, 2),
                     "ratio_to_floor": round(import_s / floor_s, 2), "target_s": 30},
    }


def report(result: dict) -> str:
    h, g = result["history"], result["gpkg_10k"]
    stages = ", ".join(f"{k.removesuffix('_s')} {v} s" for k, v in g["stages_without_writes"].items())
    return "\n".join([
        "zone import: the visitation-zone history and a 10,000-feature GeoPackage",
        f"  history  {h['periods']} periods -> {h['zones']} zones in {h['import_s']} s; the same file again "
        f"(unchanged) {h['reimport_unchanged_s']} s; dry run {h['dry_run_s']} s",
        f"  gpkg     {g['features']:,} features ({g['file_mb']} MB) in {g['import_s']} s = {g['features_per_s']:,}"
        f" features/s (target < {g['target_s']} s); floor (INSERT of the prepared rows with the audit triggers) "
        f"{g['floor_insert_prepared_rows_s']} s, ratio {g['ratio_to_floor']}x; again (unchanged) "
        f"{g['reimport_unchanged_s']} s",
        f"           without writing: {stages}",
    ])
