"""The validity report, over the API and from the CLI (which exits non-zero when something is overdue)."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from fastapi.testclient import TestClient

from geoservice.settings import REPO_ROOT
from tests.conftest import bearer
from tests.helpers import GOTHERSGADE, offset, square, zone_feature

AT = "2026-11-22T12:00:00+01:00"


def test_report_sections_on_the_demo_data(demo_client: TestClient, tokens: dict) -> None:
    response = demo_client.get("/api/v1/validity/report", params={"at": AT}, headers=bearer(tokens["legal"]))
    assert response.status_code == 200
    body = response.json()
    assert body["at"] == AT
    expiring = {z["name"]: z for z in body["expiring"]}
    # Vestergade ends 15 December 2026: inside the 30-day warning of a nightlife zone, 22.5 days left
    assert expiring["Nattelivszone Vestergade"]["days_left"] == 22.5
    assert expiring["Nattelivszone Vestergade"]["warning_days"] == [90, 30, 7]
    # which reminder is due: the 30-day window has been crossed for Vestergade, only the 90-day one for Jomfru Ane
    assert expiring["Nattelivszone Vestergade"]["warning_window_days"] == 30
    assert expiring["Nattelivszone Jomfru Ane Gade"]["warning_window_days"] == 90
    assert expiring["Nattelivszone Jomfru Ane Gade"]["designation_end"] == "2027-01-01T00:00:00+01:00"
    assert "Nattelivszone Gothersgade" not in expiring  # extended to 2027-07-01: no warning yet
    expired = {z["name"] for z in body["expired_still_published"]}
    assert {"Visitationszone Aalborg Midtby", "Midlertidig nattelivszone Distortion 2025"} <= expired
    assert "Visitationszone Nørrebro" not in expired  # revoked, not expired
    assert body["overdue"] == len(body["expired_still_published"])


def test_missing_decision_reference_is_reported(client: TestClient, tokens: dict) -> None:
    body = zone_feature(square(*offset(*GOTHERSGADE, -12000, 2000), 150), kind="sub_omraade", decision_ref=None,
                        name="Uden afgørelse", valid_from="2026-01-01T00:00", valid_to=None)
    zone_id = client.post("/api/v1/zones", json=body, headers=bearer(tokens["admin"])).json()["id"]
    report = client.get("/api/v1/validity/report", headers=bearer(tokens["legal"])).json()
    assert zone_id in [z["zone_id"] for z in report["missing_decision_ref"]]
    # a report at a moment before it was published does not list it (it was recorded later)
    then = client.get("/api/v1/validity/report", params={"at": "2026-06-01T12:00"},
                      headers=bearer(tokens["legal"])).json()
    assert zone_id not in [z["zone_id"] for z in then["missing_decision_ref"]]
    # filling in the missing reference is the one change a published decision accepts
    patched = client.patch(f"/api/v1/zones/{zone_id}", json={"decision_ref": "SUB-2026-7"},
                           headers=bearer(tokens["admin"]))
    assert patched.status_code == 200
    report = client.get("/api/v1/validity/report", headers=bearer(tokens["legal"])).json()
    assert zone_id not in [z["zone_id"] for z in report["missing_decision_ref"]]


def test_report_formats_and_roles(client: TestClient, tokens: dict) -> None:
    legal = bearer(tokens["legal"])
    text = client.get("/api/v1/validity/report", params={"at": AT, "format": "text"}, headers=legal)
    assert text.headers["content-type"].startswith("text/plain")
    assert "Udløber snart / expiring" in text.text and "Nattelivszone Vestergade" in text.text
    rows = list(csv.DictReader(io.StringIO(client.get(
        "/api/v1/validity/report", params={"at": AT, "format": "csv"}, headers=legal).text)))
    assert {"section", "zone_id", "name", "kind", "status", "designation_end", "days_left", "warning_window_days",
            "gap_from", "gap_to", "detail", "at"} <= set(rows[0])
    vestergade = next(r for r in rows if r["section"] == "expiring" and r["name"] == "Nattelivszone Vestergade")
    assert vestergade["status"] == "expiring" and vestergade["days_left"] == "22.5"
    assert vestergade["designation_end"] == "2026-12-15T00:00:00+01:00" and vestergade["at"] == AT
    assert vestergade["warning_window_days"] == "30" and vestergade["kind"] == "nattelivszone"
    aalborg = next(r for r in rows if r["name"] == "Visitationszone Aalborg Midtby")
    assert aalborg["section"] == "expired_still_published" and aalborg["designation_end"].startswith("2025-09-29")
    assert aalborg["gap_from"] == "" and float(aalborg["days_left"]) < 0
    for who in ("officer", "analyst"):
        assert client.get("/api/v1/validity/report", headers=bearer(tokens[who])).status_code == 403
    assert client.get("/api/v1/validity/report").status_code == 401


def test_cli_report_exit_codes(make_db) -> None:
    env = {**os.environ, "GEOSERVICE_DB_NAME": make_db()}  # the demo data alone, nothing other tests added

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "geoservice.cli", "validity", "report", *args], env=env,
                              capture_output=True, text=True, timeout=120)

    overdue = run("--at", AT)
    assert overdue.returncode == 1 and "expired but still published" in overdue.stdout
    before_any_expiry = run("--at", "2025-05-01T12:00", "--format", "json")
    assert before_any_expiry.returncode == 0, before_any_expiry.stdout[-500:]
    assert run("--at", AT, "--fail-on", "never").returncode == 0
    # during Distortion 2025 its event zone is expiring (a finding) but nothing is overdue yet
    assert run("--at", "2025-06-06T12:00").returncode == 0
    assert run("--at", "2025-06-06T12:00", "--fail-on", "any").returncode == 1
    assert run("--at", "2024-01-15T12:00", "--fail-on", "any").returncode == 0
    # on 1 May 2025 the nightlife zones' extensions (published 18 June) were not yet recorded: as the register
    # stood then, Gothersgade and Vesterbrogade were inside their 90-day warning
    may = run("--at", "2025-05-01T12:00", "--fail-on", "any", "--format", "json")
    assert may.returncode == 1 and {z["name"] for z in json.loads(may.stdout)["expiring"]} == {
        "Nattelivszone Gothersgade", "Nattelivszone Vesterbrogade"}
    bad = run("--format", "xml")
    assert bad.returncode == 2 and "--format" in bad.stderr
    # the database down: exit 3 (not 1, "overdue"), one line, quickly
    started = time.monotonic()
    down = subprocess.run([sys.executable, "-m", "geoservice.cli", "validity", "report"],
                          env={**env, "GEOSERVICE_PG_PORT": "1"}, capture_output=True, text=True, timeout=120)
    assert down.returncode == 3 and time.monotonic() - started < 15
    assert down.stderr.startswith("error: database unavailable") and down.stderr.count("\n") == 1
    assert "Traceback" not in down.stderr
    audit_down = subprocess.run([sys.executable, "-m", "geoservice.cli", "audit", "verify"],
                                env={**env, "GEOSERVICE_PG_PORT": "1"}, capture_output=True, text=True, timeout=120)
    assert audit_down.returncode == 3 and "Traceback" not in audit_down.stderr


def test_cli_report_uses_the_kind_rules_of_the_file(make_db, tmp_path: Path) -> None:
    """A rule changed in layers/kinds.yaml applies to the next cron run without `db migrate`."""
    layers = tmp_path / "layers"
    shutil.copytree(REPO_ROOT / "layers", layers)
    kinds = layers / "kinds.yaml"
    text = kinds.read_text(encoding="utf-8")
    assert text.count("warning_days: [90, 30, 7]") == 1
    kinds.write_text(text.replace("warning_days: [90, 30, 7]", "warning_days: [30, 7]"), encoding="utf-8")
    env = {**os.environ, "GEOSERVICE_DB_NAME": make_db(), "GEOSERVICE_LAYERS_DIR": str(layers)}
    result = subprocess.run([sys.executable, "-m", "geoservice.cli", "validity", "report", "--at", AT,
                             "--format", "json", "--fail-on", "never"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    expiring = {z["name"]: z for z in json.loads(result.stdout)["expiring"]}
    assert "Nattelivszone Jomfru Ane Gade" not in expiring  # 39.5 days left: outside a 30-day window
    assert expiring["Nattelivszone Vestergade"]["warning_days"] == [30, 7]
