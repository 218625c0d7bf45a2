"""Regressions found in review: each test failed before its fix."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import psycopg
from fastapi.testclient import TestClient

from geoservice import timeutil
from geoservice.validity import CSV_COLUMNS
from tests.conftest import bearer
from tests.helpers import GOTHERSGADE, offset, square, zone_feature

BASE = offset(*GOTHERSGADE, -14000, -3000)  # Glostrup/Albertslund: away from demo zones and other tests
_n = iter(range(100))


def spot(size: float = 300.0) -> tuple[tuple[float, float], dict]:
    i = next(_n)
    centre = offset(*BASE, 800 * (i % 5), -800 * (i // 5))
    return centre, square(*centre, size)


def in_force_ids(client: TestClient, point: tuple[float, float], at: str, headers: dict | None = None) -> list[int]:
    body = client.get("/api/v1/lookup", params={"lon": point[0], "lat": point[1], "at": at},
                      headers=headers or {}).json()
    return [z["id"] for z in body["zones"]]


PAPER = "Afgørelse truffet dengang, indført efterfølgende"


def test_revocation_before_a_later_amendment_ends_everything(client: TestClient, tokens: dict) -> None:
    centre, geometry = spot()
    admin = bearer(tokens["admin"])
    zone_id = client.post("/api/v1/zones", headers=admin, json=zone_feature(
        geometry, valid_from="2026-01-01T00:00", valid_to="2027-01-01T00:00")).json()["id"]
    # history recorded after the fact: an admin records the paper decisions (no_retroactive_effect overridden)
    amended = client.post(f"/api/v1/zones/{zone_id}/amend", headers=admin, json={
        "effective_from": "2026-09-01T00:00", "geometry": square(*centre, 150), "decision_ref": "A",
        "override_reason": PAPER})
    assert amended.status_code == 201
    revoked = client.post(f"/api/v1/zones/{zone_id}/revoke", headers=admin, json={
        "at": "2026-06-01T00:00", "reason": "Ophævet", "override_reason": PAPER})
    assert revoked.status_code == 200, revoked.text
    assert in_force_ids(client, centre, "2026-05-31T23:59") == [zone_id]
    for moment in ("2026-07-01T12:00", "2026-10-01T12:00"):
        assert zone_id not in in_force_ids(client, centre, moment)
    listed = client.get("/api/v1/zones", params={"at": "2026-07-01T12:00", "limit": 1000}).json()
    assert zone_id not in [f["id"] for f in listed["features"]]


def test_a_scheduled_version_is_revoked_only_from_the_revocation(client: TestClient, tokens: dict) -> None:
    _, geometry = spot()
    soon = lambda days: timeutil.isoformat_local(timeutil.now() + dt.timedelta(days=days))  # noqa: E731
    zone_id = client.post("/api/v1/zones", headers=bearer(tokens["admin"]), json=zone_feature(
        geometry, valid_from=soon(20), valid_to=soon(200))).json()["id"]
    revoked = client.post(f"/api/v1/zones/{zone_id}/revoke", headers=bearer(tokens["legal"]),
                          json={"at": soon(5), "reason": "Trukket tilbage"})
    assert revoked.status_code == 200, revoked.text
    before = client.get(f"/api/v1/zones/{zone_id}/history", params={"at": soon(2)},
                        headers=bearer(tokens["legal"])).json()
    assert before["zone"]["status"] == "scheduled" and before["versions"][0]["status"] == "scheduled"
    after = client.get(f"/api/v1/zones/{zone_id}/history", params={"at": soon(6)},
                       headers=bearer(tokens["legal"])).json()
    # it had not begun: withdrawn (never in force), from the moment the revocation took effect
    assert after["versions"][0]["status"] == "withdrawn" and after["zone"]["status"] == "revoked"


def test_draft_extension_can_be_published_after_an_amendment(client: TestClient, tokens: dict) -> None:
    centre, geometry = spot()
    admin, legal = bearer(tokens["admin"]), bearer(tokens["legal"])
    zone_id = client.post("/api/v1/zones", headers=admin, json=zone_feature(
        geometry, valid_from="2026-01-01T00:00", valid_to="2027-01-01T00:00")).json()["id"]
    draft = client.post(f"/api/v1/zones/{zone_id}/extend", headers=legal,
                        json={"valid_to": "2027-12-31", "decision_ref": "E", "publish": False})
    assert draft.status_code == 201
    amended = client.post(f"/api/v1/zones/{zone_id}/amend", headers=admin, json={
        "effective_from": "2026-06-01T00:00", "geometry": square(*centre, 150), "decision_ref": "A",
        "override_reason": PAPER})
    assert amended.status_code == 201, amended.text
    published = client.post(f"/api/v1/zones/{zone_id}/publish", headers=legal, json={})
    assert published.status_code == 200, published.text
    assert in_force_ids(client, centre, "2027-06-01T12:00") == [zone_id]


def test_publishing_an_extension_early_needs_allow_overlap(client: TestClient, tokens: dict) -> None:
    _, geometry = spot()
    admin, legal = bearer(tokens["admin"]), bearer(tokens["legal"])
    zone_id = client.post("/api/v1/zones", headers=admin, json=zone_feature(
        geometry, valid_from="2026-01-01T00:00", valid_to="2027-01-01T00:00")).json()["id"]
    client.post(f"/api/v1/zones/{zone_id}/extend", headers=legal,
                json={"valid_to": "2027-12-31", "decision_ref": "E", "publish": False})
    early = client.post(f"/api/v1/zones/{zone_id}/publish", headers=legal,
                        json={"effective_from": "2026-12-01T00:00"})
    assert early.status_code == 422 and early.json()["rules"][0]["rule"] == "continuity"
    allowed = client.post(f"/api/v1/zones/{zone_id}/publish", headers=legal,
                          json={"effective_from": "2026-12-01T00:00", "allow_overlap": True})
    assert allowed.status_code == 200


def test_a_new_boundary_moves_the_zone_to_its_district(client: TestClient, tokens: dict,
                                                       conn: psycopg.Connection) -> None:
    admin = bearer(tokens["admin"])
    aalborg = square(9.93, 57.04, 300)
    zone_id = client.post("/api/v1/zones", headers=admin, json=zone_feature(
        square(*spot()[0], 300), kind="opholdsforbud", visibility="restricted",
        valid_from="2026-05-01T00:00", valid_to="2026-05-20T00:00")).json()["id"]
    district = lambda: conn.execute("SELECT politikreds_code FROM zone WHERE id = %s",  # noqa: E731
                                    (zone_id,)).fetchone()[0]
    assert district() == "10"  # Københavns Vestegn
    moved = client.post(f"/api/v1/zones/{zone_id}/amend", headers=admin, json={
        "effective_from": "2026-05-10T00:00", "geometry": aalborg, "decision_ref": "flyttet", "override_reason": PAPER})
    assert moved.status_code == 201
    assert district() == "1"  # Nordjylland: its officers see it now, Vestegnen's no longer


def test_restricted_zone_without_a_district_is_hidden_from_staff_without_one(
    client: TestClient, tokens: dict, conn: psycopg.Connection
) -> None:
    _, geometry = spot()
    zone_id = client.post("/api/v1/zones", headers=bearer(tokens["admin"]), json=zone_feature(
        geometry, kind="opholdsforbud", visibility="restricted",
        valid_from="2026-05-01T00:00", valid_to="2026-05-20T00:00")).json()["id"]
    conn.execute("UPDATE zone SET politikreds_code = NULL WHERE id = %s", (zone_id,))  # e.g. placed at sea
    assert client.get(f"/api/v1/zones/{zone_id}/history", headers=bearer(tokens["analyst"])).status_code == 404
    assert client.get(f"/api/v1/zones/{zone_id}/history", headers=bearer(tokens["legal"])).status_code == 200


def test_patch_refuses_null_for_required_fields(client: TestClient, tokens: dict) -> None:
    zone_id = client.get("/api/v1/zones", params={"q": "Kødbyen"}).json()["features"][0]["id"]
    response = client.patch(f"/api/v1/zones/{zone_id}", json={"illustrative": None},
                            headers=bearer(tokens["admin"]))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "illustrative"


def test_admin_overrides_are_not_shown_to_the_public(client: TestClient, tokens: dict) -> None:
    _, geometry = spot()
    zone_id = client.post("/api/v1/zones", headers=bearer(tokens["admin"]), json=zone_feature(
        geometry, valid_from="2026-01-01T00:00", valid_to="2028-03-01T00:00",
        override_reason="Intern begrundelse")).json()["id"]
    public = client.get(f"/api/v1/zones/{zone_id}", params={"at": "2026-06-01T12:00"}).json()
    assert public["properties"]["override"] is None
    staff = client.get(f"/api/v1/zones/{zone_id}", params={"at": "2026-06-01T12:00"},
                       headers=bearer(tokens["analyst"])).json()
    assert staff["properties"]["override"]["reason"] == "Intern begrundelse"


def test_zone_list_with_status_and_time_from_the_cli(db_name: str) -> None:
    env = {**os.environ, "GEOSERVICE_DB_NAME": db_name}
    result = subprocess.run([sys.executable, "-m", "geoservice.cli", "zones", "list", "--at", "2026-06-01T12:00",
                             "--status", "expired"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Visitationszone Aalborg Midtby" in result.stdout


def test_validity_report_as_csv_from_the_cli(db_name: str) -> None:
    env = {**os.environ, "GEOSERVICE_DB_NAME": db_name}
    result = subprocess.run([sys.executable, "-m", "geoservice.cli", "validity", "report", "--format", "csv",
                             "--fail-on", "never"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == ",".join(CSV_COLUMNS)
    assert result.stdout.splitlines()[0].startswith("section,zone_id,name,kind,status,designation_end,days_left")
