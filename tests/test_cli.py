"""The `geoservice` command line, run as a real process against the test database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from fastapi.testclient import TestClient

from tests.conftest import bearer
from tests.helpers import GOTHERSGADE, offset, square, zone_feature


@pytest.fixture(scope="module")
def cli(db_name: str):
    env = {**os.environ, "GEOSERVICE_DB_NAME": db_name}

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", "geoservice.cli", *args], env=env, capture_output=True,
                                text=True, timeout=120)
        if ok:
            assert result.returncode == 0, result.stderr
        return result

    return run


def test_users_add_prints_a_working_token_once(cli, client: TestClient) -> None:
    result = cli("users", "add", "cli-analyst", "--role", "analyst")
    token = result.stdout.strip()
    assert token.startswith("gs_") and "shown only once" in result.stderr
    response = client.get("/api/v1/zones", params={"status": "expired"}, headers=bearer(token))
    assert response.status_code == 200
    again = cli("users", "add", "cli-analyst", "--role", "analyst", ok=False)
    assert again.returncode != 0 and "exists" in again.stderr
    second = cli("users", "token", "cli-analyst").stdout.strip()
    assert second != token and client.get("/api/v1/zones", headers=bearer(second)).status_code == 200
    cli("users", "revoke-tokens", "cli-analyst")
    assert client.get("/api/v1/zones", headers=bearer(second)).status_code == 401


def test_users_add_checks_the_organisation(cli) -> None:
    no_kreds = cli("users", "add", "cli-officer", "--role", "officer", ok=False)
    assert no_kreds.returncode != 0 and "--politikreds" in no_kreds.stderr
    bad_sector = cli("users", "add", "cli-officer", "--role", "officer", "--sector", "NOPE", ok=False)
    assert bad_sector.returncode != 0 and "unknown sector" in bad_sector.stderr
    fine = cli("users", "add", "cli-officer", "--role", "officer", "--sector", "KBH-AMAGER-22")
    assert fine.stdout.startswith("gs_")
    listing = cli("users", "list").stdout
    assert "cli-officer" in listing and "kreds=11" in listing


def test_zones_list(cli) -> None:
    result = cli("zones", "list", "--as", "public", "--at", "2025-09-02T12:00", "--format", "json")
    zones = json.loads(result.stdout)
    names = {z["name"] for z in zones}
    assert "Visitationszone Aalborg Midtby" in names
    assert not [z for z in zones if z["visibility"] != "public"]
    table = cli("zones", "list", "--kind", "sub_omraade").stdout
    assert "Mjølnerparken" in table and "sub_omraade" in table


def test_zones_export_geojson_and_geopackage(cli, tmp_path: Path) -> None:
    geojson = tmp_path / "zones.geojson"
    cli("zones", "export", "-o", str(geojson), "--at", "2026-06-01T12:00")
    fc = json.loads(geojson.read_text(encoding="utf-8"))
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) >= 10
    assert all(f["properties"]["visibility"] == "public" for f in fc["features"])
    gpkg = tmp_path / "zones.gpkg"
    cli("zones", "export", "-o", str(gpkg), "--at", "2026-06-01T12:00")
    frame = pyogrio.read_dataframe(gpkg)
    assert len(frame) == len(fc["features"])
    assert frame.crs.to_epsg() == 4326
    assert set(frame["name"]) == {f["properties"]["name"] for f in fc["features"]}
    info = pyogrio.read_info(gpkg)
    dtypes = dict(zip(info["fields"], info["dtypes"], strict=True))
    assert info["geometry_type"] == "MultiPolygon"
    assert all(dtypes[name].startswith("datetime64") for name in ("valid_from", "valid_to", "published_at"))
    first = fc["features"][0]["properties"]
    row = frame[frame["name"] == first["name"]].iloc[0]
    assert row["valid_from"] == pd.Timestamp(first["valid_from"])  # the same moment, as a date-time field
    # nothing to export still gives a layer with the polygon type and every column
    empty = tmp_path / "empty.gpkg"
    assert "wrote 0 zone(s)" in cli("zones", "export", "-o", str(empty), "--at", "1990-01-01T12:00").stdout
    empty_info = pyogrio.read_info(empty)
    assert empty_info["features"] == 0 and empty_info["geometry_type"] == "MultiPolygon"
    assert list(empty_info["fields"]) == list(info["fields"])
    bad = cli("zones", "export", "-o", str(tmp_path / "zones.shp"), ok=False)
    assert bad.returncode != 0 and "unsupported output" in bad.stderr


def test_bad_time_is_a_message_not_a_traceback(cli) -> None:
    result = cli("zones", "list", "--at", "tomorrow", ok=False)
    assert result.returncode == 2
    assert "not an ISO 8601 date-time" in result.stderr and "Traceback" not in result.stderr


def test_zones_list_times_carry_their_offset(cli) -> None:
    table = cli("zones", "list", "--kind", "visitationszone").stdout
    # the demo's zone (the real history has an "Aalborg Midtby" of 2007 too)
    line = next(row for row in table.splitlines() if "Visitationszone Aalborg Midtby" in row)
    assert "16:00+02:00" in line  # 2025-09-29 16:00 summer time, not a bare local time


def test_lifecycle_options_are_checked_as_messages(cli, client: TestClient, tokens: dict) -> None:
    geometry = square(*offset(*GOTHERSGADE, -6000, -9000), 200)
    zone_id = client.post("/api/v1/zones", headers=bearer(tokens["admin"]), json=zone_feature(
        geometry, name="CLI-kæde", valid_from="2030-01-01T00:00", valid_to="2031-01-01T00:00")).json()["id"]
    short = cli("zones", "revoke", str(zone_id), "--reason", "ab", ok=False)
    assert short.returncode == 2 and "Traceback" not in short.stderr
    assert short.stderr.startswith("error: --reason:") and "at least 3 characters" in short.stderr
    cli("zones", "extend", str(zone_id), "--to", "2031-12-31", "--decision-ref", "CLI-2", "--draft")
    early = cli("zones", "publish", str(zone_id), "--effective-from", "2030-12-01T00:00", ok=False)
    assert early.returncode == 2 and "continuity" in early.stderr
    cli("zones", "publish", str(zone_id), "--effective-from", "2030-12-01T00:00", "--allow-overlap")
    history = client.get(f"/api/v1/zones/{zone_id}/history", headers=bearer(tokens["legal"])).json()
    assert [v["valid_from"] for v in history["versions"]] == ["2030-01-01T00:00:00+01:00",
                                                              "2030-12-01T00:00:00+01:00"]


def test_migrate_is_idempotent(cli) -> None:
    assert "applied 0 migration(s)" in cli("db", "migrate").stdout


def test_import_refused_names_each_line_and_writes_the_report(cli, tmp_path: Path) -> None:
    """`overlays import-incidents bad.csv --rejected-report r.csv` (all or nothing): every bad row by line on the
    terminal, exit 2, and r.csv written although nothing was imported."""
    bad = tmp_path / "bad.csv"
    bad.write_text("id,category,occurred_at,lat,lon\n"
                   "c1,vold,2025-08-01T01:30:00+02:00,55.68,12.579\n"
                   "c2,,2025-08-01T01:30:00+02:00,55.68,12.579\n"
                   "c3,alien,2025-08-01T01:30:00+02:00,55.68,12.579\n"
                   "c4,vold,,55.68,12.579\n", encoding="utf-8")
    report = tmp_path / "r.csv"
    result = cli("overlays", "import-incidents", str(bad), "--source", "cli-proc", "--quiet",
                 "--rejected-report", str(report), ok=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "3 of 4 rows rejected, nothing was imported" in result.stderr
    assert "line 3: category: missing category" in result.stderr
    assert "line 4: category: unknown category" in result.stderr
    assert "line 5: occurred_at: missing time" in result.stderr
    assert [line.split(",")[0] for line in report.read_text(encoding="utf-8").splitlines()] == ["line", "3", "4", "5"]
