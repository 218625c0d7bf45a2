"""The demo data: real reference areas, illustrative zones and sectors, deterministic and idempotent."""

from __future__ import annotations

import asyncio

import psycopg
import shapely

from geoservice.db import connect
from geoservice.demo.build import build
from geoservice.demo.load import load_demo

TABLES = ["reference_area", "reference_area_part", "police_station", "patrol_sector", "officer", "zone_kind",
          "zone", "zone_version", "audit_log", "place",
          "incident", "insecurity_report", "survey_response", "overlay_import", "stat_kommune_quarter"]


def fingerprint(conn: psycopg.Connection) -> dict[str, tuple[int, str]]:
    result = {}
    for table in TABLES:
        row = conn.execute(
            psycopg.sql.SQL("SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
                            " FROM {} t").format(psycopg.sql.Identifier(table))
        ).fetchone()
        result[table] = (row[0], row[1])
    return result


def test_reference_areas_are_complete(conn: psycopg.Connection) -> None:
    counts = dict(conn.execute("SELECT area_type, count(*) FROM reference_area GROUP BY 1").fetchall())
    # 98 kommuner plus Christiansø, which DAGI carries as its own unit (it belongs to no kommune)
    assert counts == {"politikreds": 12, "kommune": 99, "bydel": 10}
    kredse = [r[0] for r in conn.execute(
        "SELECT name FROM reference_area WHERE area_type = 'politikreds' ORDER BY code::int").fetchall()]
    assert kredse[0] == "Nordjyllands Politi" and "Københavns Vestegns Politi" in kredse
    orphans = conn.execute("SELECT count(*) FROM reference_area WHERE area_type = 'kommune' AND parent_code IS NULL"
                           ).fetchone()[0]
    assert orphans == 0
    # the subdivided copies cover exactly the originals
    diff = conn.execute("""
        SELECT max(abs(a.area_km2 - p.km2)) FROM reference_area a
        JOIN (SELECT area_id, sum(ST_Area(geom)) / 1e6 AS km2 FROM reference_area_part GROUP BY area_id) p
          ON p.area_id = a.id""").fetchone()[0]
    assert diff < 1e-6


def test_copenhagen_din_betjent_organisation(conn: psycopg.Connection) -> None:
    stations = conn.execute("SELECT count(*) FROM police_station WHERE politikreds_code = '11'").fetchone()[0]
    assert stations == 5
    sectors, overlap = conn.execute("""
        SELECT count(*), (SELECT coalesce(sum(ST_Area(ST_Intersection(a.geom, b.geom))), 0)
                          FROM patrol_sector a JOIN patrol_sector b ON a.id < b.id AND ST_Intersects(a.geom, b.geom))
        FROM patrol_sector""").fetchone()
    assert sectors >= 20 and overlap < 1.0  # sectors do not overlap (less than 1 m² of rounding)
    bydele_covered = conn.execute("""
        SELECT ST_Area(ST_Difference(b.geom, s.geom)) FROM
            (SELECT ST_Union(geom) AS geom FROM reference_area WHERE area_type = 'bydel') b,
            (SELECT ST_Union(geom) AS geom FROM patrol_sector) s""").fetchone()[0]
    assert bydele_covered < 10.0  # every bydel of København lies in some sector
    officers = conn.execute("SELECT count(*), count(*) FILTER (WHERE email LIKE '%%@demo.invalid') FROM officer"
                            ).fetchone()
    assert officers[0] == officers[1] == sectors * 2


def test_demo_zones_are_labelled_illustrative(conn: psycopg.Connection) -> None:
    # the demo's own zones (the real visitation-zone history is loaded by a zone import: tests/test_zone_import.py)
    rows = conn.execute("SELECT name, illustrative, properties FROM zone WHERE source_key IS NOT NULL"
                        " AND import_id IS NULL").fetchall()
    names = {r[0] for r in rows}
    assert {"Nattelivszone Gothersgade", "Nattelivszone Vesterbrogade", "Nattelivszone Vestergade",
            "Nattelivszone Kødbyen", "Nattelivszone Jomfru Ane Gade", "Midlertidig nattelivszone Distortion 2025",
            "Visitationszone Aalborg Midtby", "Visitationszone Vejgaard", "Visitationszone Aalborg Øst",
            "Mjølnerparken inkl. Hothers Plads", "Remisevænget/Hørgården", "Holmbladsgade/Støberigården",
            "Tingbjerg-Husum Nord", "Blågården", "Folehaven", "Lundtoftegade", "Aldersrogade", "Bispeparken",
            } <= names
    assert all(r[1] for r in rows)
    assert all(r[2]["illustrative_note"]["da"].startswith("Illustrativ") for r in rows)
    internal = conn.execute("SELECT count(*) FROM zone WHERE visibility <> 'public' AND source_key IS NOT NULL"
                            " AND import_id IS NULL").fetchone()[0]
    assert internal >= 2


def test_aalborg_visitation_zones_start_1_september_2025_at_16(conn: psycopg.Connection) -> None:
    starts = conn.execute("""
        SELECT DISTINCT to_char(lower(v.valid) AT TIME ZONE 'Europe/Copenhagen', 'YYYY-MM-DD HH24:MI')
        FROM zone z JOIN zone_version v ON v.zone_id = z.id
        WHERE z.kind = 'visitationszone' AND z.politikreds_code = '1' AND v.version_no = 1
          AND z.import_id IS NULL""").fetchall()
    assert starts == [("2025-09-01 16:00",)]


def test_build_is_deterministic(settings) -> None:
    first = build(settings.shared_data_dir, settings.layers_dir)
    second = build(settings.shared_data_dir, settings.layers_dir)
    for a, b in zip(first.reference + first.sectors + first.zones,
                    second.reference + second.sectors + second.zones, strict=True):
        assert shapely.to_wkb(a.geom) == shapely.to_wkb(b.geom)


def test_loading_twice_gives_the_same_database(settings, make_db) -> None:
    name = make_db()  # a clone of the freshly loaded template
    with connect(settings, name, autocommit=True) as conn:
        before = fingerprint(conn)
    report = asyncio.run(load_demo(settings, name))
    assert report.zones_added == [] and report.areas_changed == 0 and report.sectors_changed == 0
    with connect(settings, name, autocommit=True) as conn:
        assert fingerprint(conn) == before
