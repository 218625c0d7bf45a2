"""The lifecycle of a zone: draft, publish, extend, amend, revoke, archive — and its history and audit log."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time

import psycopg
import pytest
from fastapi.testclient import TestClient

from geoservice import timeutil
from tests.conftest import bearer
from tests.helpers import GOTHERSGADE, offset, square, zone_feature

ORIGIN = offset(*GOTHERSGADE, 6000, -9000)  # Amager, away from demo zones and other tests
_slot = iter(range(100))


def spot(size: float = 400.0) -> tuple[tuple[float, float], dict]:
    n = next(_slot)
    centre = offset(*ORIGIN, 900 * (n % 6), -900 * (n // 6))
    return centre, square(*centre, size)


def lookup_ids(client: TestClient, point: tuple[float, float], at: str, headers: dict) -> list[int]:
    body = client.get("/api/v1/lookup", params={"lon": point[0], "lat": point[1], "at": at}, headers=headers).json()
    return [z["id"] for z in body["zones"]]


@pytest.fixture
def legal(tokens: dict) -> dict:
    return bearer(tokens["legal"])


@pytest.fixture
def admin(tokens: dict) -> dict:
    return bearer(tokens["admin"])


def draft(client: TestClient, admin: dict, geometry: dict, **props) -> int:
    body = zone_feature(geometry, publish=False, **props)
    response = client.post("/api/v1/zones", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_draft_publish_with_effect_moment(client: TestClient, admin: dict, legal: dict) -> None:
    centre, geometry = spot()
    zone_id = draft(client, admin, geometry, valid_from="2030-03-01T00:00", valid_to="2031-03-01T00:00")
    assert lookup_ids(client, centre, "2030-06-01T12:00", legal) == []  # a draft is never in force
    published = client.post(f"/api/v1/zones/{zone_id}/publish", headers=legal,
                            json={"effective_from": "2030-04-01T12:00", "decision_ref": "KBH-2030-99"})
    assert published.status_code == 200, published.text
    props = published.json()["properties"]
    assert props["valid_from"] == "2030-04-01T12:00:00+02:00" and props["decision_ref"] == "KBH-2030-99"
    assert props["published_at"] is not None
    assert lookup_ids(client, centre, "2030-04-01T11:59", legal) == []
    assert lookup_ids(client, centre, "2030-04-01T12:00", legal) == [zone_id]
    again = client.post(f"/api/v1/zones/{zone_id}/publish", headers=legal, json={})
    assert again.status_code == 409


def test_first_and_last_minute_of_a_period(client: TestClient, admin: dict, legal: dict) -> None:
    centre, geometry = spot()
    create = client.post("/api/v1/zones", headers=admin, json=zone_feature(
        geometry, kind="visitationszone", valid_from="2026-09-01T16:00", valid_to="2026-09-15T16:00"))
    zone_id = create.json()["id"]
    assert lookup_ids(client, centre, "2026-09-01T15:59:59", legal) == []
    assert lookup_ids(client, centre, "2026-09-01T16:00:00", legal) == [zone_id]
    assert lookup_ids(client, centre, "2026-09-15T15:59:00", legal) == [zone_id]
    assert lookup_ids(client, centre, "2026-09-15T16:00:00", legal) == []


@pytest.mark.parametrize(
    ("local_time", "applies"),
    [("2026-05-01T23:59", False), ("2026-05-02T00:00", True), ("2026-05-02T04:59", True),
     ("2026-05-02T05:00", False), ("2026-05-02T14:00", False)],
)
def test_daily_window_of_a_nightlife_zone(client: TestClient, local_time: str, applies: bool) -> None:
    body = client.get("/api/v1/lookup", params={"lon": GOTHERSGADE[0], "lat": GOTHERSGADE[1], "at": local_time}
                      ).json()
    (zone,) = [z for z in body["zones"] if z["kind"] == "nattelivszone"]
    assert zone["daily_window_applies"] is applies
    assert zone["in_force"] is True and zone["status"] in ("in_force", "expiring")


def test_extension_chain_with_a_boundary_change_in_the_middle(client: TestClient, admin: dict, legal: dict,
                                                            conn: psycopg.Connection) -> None:
    centre, wide = spot(600)
    narrow = square(*centre, 200)
    edge = offset(*centre, 250, 0)  # inside the wide boundary, outside the narrow one
    zone_id = client.post("/api/v1/zones", headers=admin, json=zone_feature(
        wide, name="Kæde", valid_from="2026-01-01T00:00", valid_to="2027-01-01T00:00",
        decision_ref="K-1")).json()["id"]
    # second designation continues without a gap
    second = client.post(f"/api/v1/zones/{zone_id}/extend", headers=legal,
                         json={"valid_to": "2028-12-31", "decision_ref": "K-2", "reason": "Fortsat uro"})
    assert second.status_code == 201, second.text
    # narrowed mid-term
    amended = client.post(f"/api/v1/zones/{zone_id}/amend", headers=legal, json={
        "effective_from": "2028-03-01T00:00", "geometry": narrow, "decision_ref": "K-2a",
        "reason": "Indsnævret til kerneområdet"})
    assert amended.status_code == 201, amended.text
    # third designation, from the narrowed boundary's end
    third = client.post(f"/api/v1/zones/{zone_id}/extend", headers=legal,
                        json={"valid_to": "2030-12-31", "decision_ref": "K-3"})
    assert third.status_code == 201, third.text

    assert edge_in(client, edge, "2026-06-01T12:00", legal, zone_id)        # first designation, wide
    assert edge_in(client, edge, "2027-06-01T12:00", legal, zone_id)        # second, still wide
    assert not edge_in(client, edge, "2028-06-01T12:00", legal, zone_id)    # narrowed
    assert edge_in(client, centre, "2028-06-01T12:00", legal, zone_id)      # the core is still in
    assert not edge_in(client, edge, "2030-06-01T12:00", legal, zone_id)    # the third keeps the narrow line
    assert not edge_in(client, centre, "2031-01-01T00:00", legal, zone_id)  # and then it ends

    history = client.get(f"/api/v1/zones/{zone_id}/history", headers=legal).json()
    versions = [(v["version"], v["change"], v["decision_ref"], v["continues_version"]) for v in history["versions"]]
    assert versions == [(1, "designation", "K-1", None), (2, "extension", "K-2", 1), (3, "amendment", "K-2a", 2),
                        (4, "extension", "K-3", 3)]
    v2 = history["versions"][1]
    assert v2["ended_at"] == "2028-03-01T00:00:00+01:00" and v2["ended_reason"] == "amended"
    then = client.get(f"/api/v1/zones/{zone_id}/history", params={"at": "2028-06-01T12:00"}, headers=legal).json()
    assert [v["status"] for v in then["versions"]] == ["expired", "superseded", "in_force", "scheduled"]
    assert then["zone"]["status"] == "in_force"
    assert all(v["geometry"]["type"] == "MultiPolygon" for v in history["versions"])
    assert history["versions"][2]["area_m2"] < history["versions"][1]["area_m2"]
    actions = [e["action"] for e in history["events"]]
    assert actions.count("zone.extend") == 2 and "zone.amend" in actions and actions[0] == "zone.create"
    amend_events = [e for e in history["events"] if e["action"] == "zone.amend"]
    assert {e["actor"] for e in amend_events} == {"test-legal (legal)"}
    assert any(e["changes"].get("ended_reason", {}).get("after") == "amended" for e in amend_events)
    # the report sees one unbroken chain
    report = client.get("/api/v1/validity/report", params={"at": "2027-06-01T12:00"}, headers=legal).json()
    assert zone_id not in [g["zone_id"] for g in report["chain_gaps"] + report["chain_overlaps"]]


def test_extension_chain_with_a_new_boundary_in_the_extension(client: TestClient, admin: dict, legal: dict
                                                              ) -> None:
    """Three designations; the second is an extension that brings its own, smaller boundary, which the third
    (an extension without a boundary) keeps."""
    centre, wide = spot(600)
    narrow = square(*centre, 200)
    edge = offset(*centre, 250, 0)  # inside the wide boundary, outside the narrow one
    zone_id = client.post("/api/v1/zones", headers=admin, json=zone_feature(
        wide, name="Kæde med ny grænse", valid_from="2030-01-01T00:00", valid_to="2031-01-01T00:00",
        decision_ref="G-1")).json()["id"]
    second = client.post(f"/api/v1/zones/{zone_id}/extend", headers=legal, json={
        "valid_to": "2032-12-31", "decision_ref": "G-2", "geometry": narrow, "reason": "Mindre område"})
    assert second.status_code == 201, second.text
    third = client.post(f"/api/v1/zones/{zone_id}/extend", headers=legal,
                        json={"valid_to": "2034-12-31", "decision_ref": "G-3"})
    assert third.status_code == 201, third.text
    assert edge_in(client, edge, "2030-12-31T23:59", legal, zone_id)          # the first, wide boundary
    assert not edge_in(client, edge, "2031-01-01T00:00", legal, zone_id)      # the extension's own boundary
    assert edge_in(client, centre, "2031-01-01T00:00", legal, zone_id)        # no gap at the core
    assert not edge_in(client, edge, "2034-06-01T12:00", legal, zone_id)      # the third keeps the narrow line
    assert edge_in(client, centre, "2034-06-01T12:00", legal, zone_id)
    history = client.get(f"/api/v1/zones/{zone_id}/history", headers=legal).json()
    assert [(v["version"], v["change"], v["continues_version"]) for v in history["versions"]] == [
        (1, "designation", None), (2, "extension", 1), (3, "extension", 2)]
    areas = [v["area_m2"] for v in history["versions"]]
    assert areas[1] < areas[0] and areas[2] == areas[1]
    report = client.get("/api/v1/validity/report", params={"at": "2031-06-01T12:00"}, headers=legal).json()
    assert zone_id not in [g["zone_id"] for g in report["chain_gaps"] + report["chain_overlaps"]]


def edge_in(client: TestClient, point: tuple[float, float], at: str, headers: dict, zone_id: int) -> bool:
    return zone_id in lookup_ids(client, point, at, headers)


def test_extension_rules(client: TestClient, admin: dict, legal: dict) -> None:
    _, geometry = spot()
    zone_id = client.post("/api/v1/zones", headers=admin, json=zone_feature(
        geometry, valid_from="2026-01-01T00:00", valid_to="2027-01-01T00:00")).json()["id"]
    gap = client.post(f"/api/v1/zones/{zone_id}/extend", headers=legal,
                      json={"valid_from": "2027-01-02T00:00", "valid_to": "2028-01-01", "decision_ref": "G"})
    assert gap.status_code == 422 and gap.json()["rules"][0]["rule"] == "continuity"
    assert "uden hul" in gap.json()["detail"]
    overlap = client.post(f"/api/v1/zones/{zone_id}/extend", headers=legal,
                          json={"valid_from": "2026-12-01T00:00", "valid_to": "2028-01-01", "decision_ref": "O"})
    assert overlap.status_code == 422 and "allow_overlap" in overlap.json()["detail"]
    too_long = client.post(f"/api/v1/zones/{zone_id}/extend", headers=legal,
                           json={"valid_to": "2029-01-01T00:01", "decision_ref": "L"})
    assert too_long.status_code == 422 and too_long.json()["rules"][0]["rule"] == "max_period"
    legal_override = client.post(f"/api/v1/zones/{zone_id}/extend", headers=legal, json={
        "valid_from": "2027-01-02T00:00", "valid_to": "2028-01-01", "decision_ref": "G",
        "override_reason": "legal may not"})
    assert legal_override.status_code == 422  # only an admin overrides
    overridden = client.post(f"/api/v1/zones/{zone_id}/extend", headers=admin, json={
        "valid_from": "2027-01-02T00:00", "valid_to": "2028-01-01", "decision_ref": "G",
        "override_reason": "Ny afgørelse efter kort pause, godkendt af chefjurist"})
    assert overridden.status_code == 201
    report = client.get("/api/v1/validity/report", params={"at": "2027-06-01T12:00"}, headers=legal).json()
    assert zone_id in [g["zone_id"] for g in report["chain_gaps"]]
    override = next(o for o in report["overrides"] if o["zone_id"] == zone_id and o["action"] == "zone.extend")
    assert "continuity" in override["rules"] and "chefjurist" in override["reason"]
    assert "continuity" in override["rule"] and override["version"] == 2 and override["by"] == "test-admin"


def test_draft_extension_then_publish(client: TestClient, admin: dict, legal: dict) -> None:
    centre, geometry = spot()
    zone_id = client.post("/api/v1/zones", headers=admin, json=zone_feature(
        geometry, valid_from="2026-01-01T00:00", valid_to="2027-01-01T00:00")).json()["id"]
    pending = client.post(f"/api/v1/zones/{zone_id}/extend", headers=legal,
                          json={"valid_to": "2028-01-01", "decision_ref": "D", "publish": False})
    assert pending.status_code == 201
    assert lookup_ids(client, centre, "2027-06-01T12:00", legal) == []  # not in force while a draft
    second = client.post(f"/api/v1/zones/{zone_id}/extend", headers=legal,
                         json={"valid_to": "2028-01-01", "decision_ref": "D2"})
    assert second.status_code == 409  # one draft decision at a time
    assert client.post(f"/api/v1/zones/{zone_id}/publish", headers=legal, json={}).status_code == 200
    assert lookup_ids(client, centre, "2027-06-01T12:00", legal) == [zone_id]


def test_revocation_mid_period_stops_the_scheduled_extension_too(client: TestClient, admin: dict, legal: dict
                                                                 ) -> None:
    centre, geometry = spot()
    zone_id = client.post("/api/v1/zones", headers=admin, json=zone_feature(
        geometry, valid_from=local(days=-30), valid_to=local(days=60))).json()["id"]
    client.post(f"/api/v1/zones/{zone_id}/extend", headers=legal, json={"valid_to": local(days=400)[:10],
                                                                        "decision_ref": "E"})
    at = local(days=10)
    revoked = client.post(f"/api/v1/zones/{zone_id}/revoke", headers=legal,
                          json={"at": at, "reason": "Grundlaget er bortfaldet", "decision_ref": "R"})
    assert revoked.status_code == 200, revoked.text
    assert lookup_ids(client, centre, local(days=9.99), legal) == [zone_id]
    assert lookup_ids(client, centre, at, legal) == []
    assert lookup_ids(client, centre, local(days=100), legal) == []  # the extension never takes effect
    history = client.get(f"/api/v1/zones/{zone_id}/history", params={"at": local(days=11)}, headers=legal).json()
    assert history["zone"]["status"] == "revoked" and history["zone"]["revoke_decision_ref"] == "R"
    # the extension had not begun: it is withdrawn (ends at its own start, never in force), not revoked into a
    # period that ends before it begins
    assert [v["ended_reason"] for v in history["versions"]] == ["revoked", "withdrawn"]
    assert [v["status"] for v in history["versions"]] == ["revoked", "withdrawn"]
    extension = history["versions"][1]
    assert extension["ended_at"] == extension["valid_from"]
    assert client.post(f"/api/v1/zones/{zone_id}/extend", headers=legal,
                       json={"valid_to": "2029-01-01", "decision_ref": "X"}).status_code == 409


def test_archive_only_after_expiry(client: TestClient, tokens: dict, admin: dict, legal: dict) -> None:
    _, geometry = spot()
    old = client.post("/api/v1/zones", headers=admin, json=zone_feature(
        geometry, valid_from="2024-01-01T00:00", valid_to="2024-06-01T00:00", name="Gammel")).json()["id"]
    report = client.get("/api/v1/validity/report", headers=legal).json()
    assert old in [z["zone_id"] for z in report["expired_still_published"]]
    assert client.post(f"/api/v1/zones/{old}/archive", headers=bearer(tokens["officer"]), json={}).status_code == 403
    time.sleep(1.1)
    published_then = local()
    time.sleep(1.1)
    archived = client.post(f"/api/v1/zones/{old}/archive", headers=legal, json={"reason": "Fjernet fra politi.dk"})
    assert archived.status_code == 200
    report = client.get("/api/v1/validity/report", headers=legal).json()
    assert old not in [z["zone_id"] for z in report["expired_still_published"]]
    before = client.get("/api/v1/validity/report", params={"at": published_then}, headers=legal).json()
    assert old in [z["zone_id"] for z in before["expired_still_published"]]  # still published back then
    earlier = client.get("/api/v1/validity/report", params={"at": local(minutes=-10)}, headers=legal).json()
    assert old not in [z["zone_id"] for z in earlier["expired_still_published"]]  # not yet recorded then
    _, live_geometry = spot()
    # in force now whatever the date the test runs: from yesterday to 100 days from now (created by an admin
    # recording the decision, so the start before "now" is no retroactive publication)
    live = client.post("/api/v1/zones", headers=admin, json=zone_feature(
        live_geometry, valid_from=local(days=-1), valid_to=local(days=100))).json()["id"]
    refused = client.post(f"/api/v1/zones/{live}/archive", headers=legal, json={})
    assert refused.status_code == 409 and refused.json()["zone_status"] == "in_force"


def local(**delta: float) -> str:
    """A moment relative to the real clock, in local time with offset (for rules that depend on "now")."""
    return timeutil.isoformat_local(timeutil.now() + dt.timedelta(**delta))


def rules_of(response) -> list[str]:
    return [r["rule"] for r in response.json().get("rules", [])]


def test_a_lapsed_zone_cannot_be_extended_back_dated(client: TestClient, admin: dict, legal: dict) -> None:
    centre, geometry = spot()
    zone_id = client.post("/api/v1/zones", headers=admin, json=zone_feature(
        geometry, name="Bortfaldet", valid_from="2025-01-01T00:00", valid_to="2025-06-09T00:00")).json()["id"]
    backdated = client.post(f"/api/v1/zones/{zone_id}/extend", headers=legal,
                            json={"valid_to": "2025-12-31", "decision_ref": "BACKDATED-1"})
    assert backdated.status_code == 422, backdated.text
    assert "no_retroactive_effect" in rules_of(backdated) and "tilbagedateres" in backdated.json()["detail"]
    assert "designate it anew from now" in backdated.json()["detail"]
    assert lookup_ids(client, centre, "2025-08-02T01:30", legal) == []  # nothing written
    # a new designation from now on is allowed; the gap runs to today and is listed in the report
    anew = client.post(f"/api/v1/zones/{zone_id}/extend", headers=legal,
                       json={"valid_from": local(minutes=1), "valid_to": local(days=200), "decision_ref": "NY-1"})
    assert anew.status_code == 201, anew.text
    history = client.get(f"/api/v1/zones/{zone_id}/history", headers=legal).json()
    assert [(v["change"], v["continues_version"]) for v in history["versions"]] == [
        ("designation", None), ("designation", None)]
    report = client.get("/api/v1/validity/report", params={"at": local(hours=1)}, headers=legal).json()
    (gap,) = [g for g in report["chain_gaps"] if g["zone_id"] == zone_id]
    assert gap["gap_from"].startswith("2025-06-09") and gap["gap_to"][:10] == local(minutes=1)[:10]


def test_publication_takes_effect_no_earlier_than_it_is_made(client: TestClient, admin: dict, legal: dict) -> None:
    centre, geometry = spot()
    zone_id = draft(client, admin, geometry, valid_from="2025-03-01T00:00", valid_to="2025-09-01T00:00")
    refused = client.post(f"/api/v1/zones/{zone_id}/publish", headers=legal,
                          json={"effective_from": "2025-04-01T00:00", "decision_ref": "P-1"})
    assert refused.status_code == 422 and rules_of(refused) == ["no_retroactive_effect"]
    default_start = client.post(f"/api/v1/zones/{zone_id}/publish", headers=legal, json={"decision_ref": "P-1"})
    assert default_start.status_code == 422 and rules_of(default_start) == ["no_retroactive_effect"]
    # a small clock difference between caller and server is tolerated
    skew_id = draft(client, admin, spot()[1], valid_from=local(days=1), valid_to=local(days=100))
    assert client.post(f"/api/v1/zones/{skew_id}/publish", headers=legal, json={
        "effective_from": local(minutes=-2), "decision_ref": "P-2"}).status_code == 200
    # recording a decision made on paper at the time: an admin override with a reason, shown in the report
    paper = client.post(f"/api/v1/zones/{zone_id}/publish", headers=admin, json={
        "decision_ref": "P-1", "override_reason": "Papirafgørelse af 1. marts 2025, indført efterfølgende"})
    assert paper.status_code == 200, paper.text
    assert lookup_ids(client, centre, "2025-04-01T12:00", legal) == [zone_id]
    report = client.get("/api/v1/validity/report", headers=legal).json()
    override = next(o for o in report["overrides"] if o["zone_id"] == zone_id)
    assert "no_retroactive_effect" in override["rule"] and "Papirafgørelse" in override["reason"]


def test_allow_overlap_still_needs_a_real_extension(client: TestClient, admin: dict, legal: dict) -> None:
    _, geometry = spot()
    zone_id = client.post("/api/v1/zones", headers=admin, json=zone_feature(
        geometry, valid_from="2030-01-01T00:00", valid_to="2031-01-01T00:00")).json()["id"]
    before = client.post(f"/api/v1/zones/{zone_id}/extend", headers=legal, json={
        "valid_from": "2029-01-01T00:00", "valid_to": "2029-12-31", "decision_ref": "WEIRD-1",
        "allow_overlap": True})
    assert before.status_code == 422 and set(rules_of(before)) == {"continuity"}
    assert {e["field"] for e in before.json()["errors"]} == {"valid_from", "valid_to"}
    inside = client.post(f"/api/v1/zones/{zone_id}/extend", headers=legal, json={
        "valid_from": "2030-03-01T00:00", "valid_to": "2030-12-01", "decision_ref": "WEIRD-2",
        "allow_overlap": True})
    assert inside.status_code == 422 and "slutte efter" in inside.json()["detail"]
    overlap = client.post(f"/api/v1/zones/{zone_id}/extend", headers=legal, json={
        "valid_from": "2030-12-01T00:00", "valid_to": "2032-01-01", "decision_ref": "OK-1", "allow_overlap": True})
    assert overlap.status_code == 201, overlap.text


def test_extending_an_archived_zone_brings_it_back_into_the_report(client: TestClient, admin: dict,
                                                                    legal: dict) -> None:
    _, geometry = spot()
    zone_id = client.post("/api/v1/zones", headers=admin, json=zone_feature(
        geometry, kind="visitationszone", name="Genoptaget", valid_from="2024-01-01T00:00",
        valid_to="2024-01-10T00:00")).json()["id"]
    assert client.post(f"/api/v1/zones/{zone_id}/archive", headers=legal, json={}).status_code == 200
    renewed = client.post(f"/api/v1/zones/{zone_id}/extend", headers=legal, json={
        "valid_from": local(minutes=1), "valid_to": local(days=10), "decision_ref": "V-2"})
    assert renewed.status_code == 201, renewed.text
    history = client.get(f"/api/v1/zones/{zone_id}/history", headers=legal).json()
    assert history["zone"]["archived_at"] is None
    unarchived = [e for e in history["events"] if "archived_at" in e["changes"]]
    assert unarchived[-1]["action"] == "zone.extend" and unarchived[-1]["changes"]["archived_at"]["after"] is None
    soon = client.get("/api/v1/validity/report", params={"at": local(days=8)}, headers=legal).json()
    assert zone_id in [z["zone_id"] for z in soon["expiring"]]
    later = client.get("/api/v1/validity/report", params={"at": local(days=11)}, headers=legal).json()
    assert zone_id in [z["zone_id"] for z in later["expired_still_published"]]


@pytest.mark.parametrize("who", ["officer", "analyst"])
def test_lifecycle_actions_need_legal_or_admin(client: TestClient, tokens: dict, admin: dict, who: str) -> None:
    _, geometry = spot()
    zone_id = draft(client, admin, geometry)
    headers = bearer(tokens[who])
    for action, body in (("publish", {}), ("extend", {"valid_to": "2029-01-01", "decision_ref": "x"}),
                         ("amend", {"effective_from": "2026-06-01T00:00", "geometry": geometry, "decision_ref": "x"}),
                         ("revoke", {"reason": "nej tak"}), ("archive", {})):
        response = client.post(f"/api/v1/zones/{zone_id}/{action}", headers=headers, json=body)
        assert response.status_code == 403, (action, response.text)
    assert client.get("/api/v1/zones/1/history").status_code == 401
    officer_view = client.get("/api/v1/zones/1/history", headers=headers).json()
    assert "events" not in officer_view  # the audit trail is for legal and admin


def test_audit_log_is_append_only(conn: psycopg.Connection) -> None:
    for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log",
                      "TRUNCATE audit_log"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute(statement)
    assert conn.execute("SELECT count(*) FROM audit_log").fetchone()[0] > 0


def test_audit_log_hash_chain_detects_a_rewrite(own_client: TestClient, own_conn: psycopg.Connection,
                                                own_db: str, tokens: dict) -> None:
    legal = bearer(tokens["legal"])
    intact = own_client.get("/api/v1/audit/verify", headers=legal)
    assert intact.status_code == 200 and intact.json()["ok"] is True and intact.json()["rows_checked"] > 0
    assert own_client.get("/api/v1/audit/verify", headers=bearer(tokens["officer"])).status_code == 403
    # an INSERT cannot choose its moment or its actor: the database sets both
    at, actor = own_conn.execute(
        "INSERT INTO audit_log (actor, action, entity, at) VALUES ('someone else', 'zone.create', 'zone',"
        " '2000-01-01') RETURNING at, actor").fetchone()
    assert at.year > 2000 and actor == "db:geoservice"
    assert own_client.get("/api/v1/audit/verify", headers=legal).json()["ok"] is True  # and it is chained
    # the owner can switch the triggers off; a row slipped in (or changed) then breaks the chain
    own_conn.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
    try:
        forged = own_conn.execute(
            "INSERT INTO audit_log (actor, action, entity, at) VALUES ('test-legal (legal)', 'zone.revoke', 'zone',"
            " '2025-01-01') RETURNING id").fetchone()[0]
    finally:
        own_conn.execute("ALTER TABLE audit_log ENABLE TRIGGER USER")
    broken = own_client.get("/api/v1/audit/verify", headers=legal)
    assert broken.status_code == 409 and broken.json()["broken_id"] == forged
    env = {**os.environ, "GEOSERVICE_DB_NAME": own_db}
    cli = subprocess.run([sys.executable, "-m", "geoservice.cli", "audit", "verify"], env=env, capture_output=True,
                         text=True, timeout=120)
    assert cli.returncode == 1 and f"row id {forged}" in cli.stderr
    # a rewrite of an earlier row under session_replication_role = replica is found too, at that row
    with own_conn.transaction():
        own_conn.execute("SET LOCAL session_replication_role = replica")
        first = own_conn.execute("SELECT min(id) FROM audit_log").fetchone()[0]
        own_conn.execute("UPDATE audit_log SET reason = 'omskrevet' WHERE id = %s", (first,))
    assert own_client.get("/api/v1/audit/verify", headers=legal).json()["broken_id"] == first


def test_published_as_of_reconstructs_the_public_map(client: TestClient, admin: dict, legal: dict,
                                                     conn: psycopg.Connection) -> None:
    _, geometry = spot()
    zone_id = client.post("/api/v1/zones", headers=admin, json=zone_feature(
        geometry, name="Rekonstruktion", valid_from="2026-01-01T00:00", valid_to="2027-01-01T00:00")).json()["id"]
    # pretend it was published on 15 January (the API stamps real time; history is what we test here)
    conn.execute("UPDATE zone_version SET published_at = '2026-01-15T12:00+01' WHERE zone_id = %s", (zone_id,))
    revoked = client.post(f"/api/v1/zones/{zone_id}/revoke", headers=admin, json={
        "at": "2026-03-01T00:00", "reason": "Ophævet", "override_reason": "Ophævet på papir 1. marts"})
    assert revoked.status_code == 200, revoked.text
    conn.execute("UPDATE zone SET revoked_recorded_at = '2026-03-10T09:00+01' WHERE id = %s", (zone_id,))
    conn.execute("UPDATE zone_version SET ended_recorded_at = '2026-03-10T09:00+01' WHERE zone_id = %s", (zone_id,))

    def shown(moment: str) -> bool:
        fc = client.get("/api/v1/zones", params={"published_as_of": moment, "q": "Rekonstruktion"}).json()
        return zone_id in [f["id"] for f in fc["features"]]

    assert not shown("2026-01-10T12:00")  # in force on paper, but not yet published
    assert shown("2026-01-20T12:00")
    assert shown("2026-03-05T12:00")      # revoked from 1 March, but nobody had recorded it yet
    assert not shown("2026-03-11T12:00")
    # a date alone means as at the end of that day: published at 12:00 on the 15th, on the map of the 15th
    assert not shown("2026-01-14") and shown("2026-01-15")

    # the properties are those known at that moment, not today's
    fc = client.get("/api/v1/zones", params={"published_as_of": "2026-03-05T12:00", "q": "Rekonstruktion"}).json()
    props = fc["features"][0]["properties"]
    assert props["status"] == "in_force" and props["version_status"] == "in_force"
    assert props["revoked_at"] is None and props["revoke_reason"] is None
    assert props["ended_at"] is None and props["ended_reason"] is None
    assert props["designation_end"] == "2027-01-01T00:00:00+01:00"
    # inside the warning window as it was then (90 days for a nightlife zone), not as it is today
    february = client.get("/api/v1/zones", params={"published_as_of": "2026-02-20", "q": "Rekonstruktion"}).json()
    assert february["features"][0]["properties"]["status"] == "in_force"
    # and today's listing still shows the revocation
    now = client.get(f"/api/v1/zones/{zone_id}", headers=legal).json()["properties"]
    assert now["status"] == "revoked" and now["revoke_reason"] == "Ophævet"
    # with nothing recorded later, the functions as known agree with the ordinary ones
    agree = conn.execute(
        "SELECT count(*) FROM zone z, generate_series('2024-01-01'::timestamptz, '2031-01-01', '97 days') t"
        " WHERE zone_status_known(z.id, t, 'infinity') IS DISTINCT FROM zone_status_at(z.id, t)"
        "    OR zone_chain_end_known(z.id, t, 'infinity') IS DISTINCT FROM zone_chain_end(z.id, t)").fetchone()[0]
    assert agree == 0
    versions = conn.execute(
        "SELECT count(*) FROM zone_version v, generate_series('2024-01-01'::timestamptz, '2031-01-01', '97 days') t"
        " WHERE version_status_known(v, t, 'infinity') IS DISTINCT FROM version_status_at(v, t)").fetchone()[0]
    assert versions == 0


def test_status_agrees_between_listing_and_report(client: TestClient, legal: dict, conn: psycopg.Connection) -> None:
    # at a moment to come: the statuses as everything stands (zone_status_at)
    ahead = local(days=3)
    report = client.get("/api/v1/validity/report", params={"at": ahead}, headers=legal).json()
    counts = dict(conn.execute("SELECT zone_status_at(id, %s::timestamptz) AS s, count(*) FROM zone GROUP BY 1",
                               (ahead,)).fetchall())
    assert report["status_counts"] == counts
    # at a past moment: as it was known then (zone_status_known), like published_as_of
    at = "2026-11-22T12:00:00+01:00"
    report = client.get("/api/v1/validity/report", params={"at": at}, headers=legal).json()
    # the zones recorded by then (the demo's visitation-zone history was imported later), as known then
    counts = dict(conn.execute(
        "SELECT zone_status_known(id, %(at)s::timestamptz, %(at)s::timestamptz) AS s, count(*) FROM zone z"
        " WHERE created_at <= %(at)s OR EXISTS (SELECT 1 FROM zone_version v WHERE v.zone_id = z.id"
        " AND v.state = 'published' AND v.published_at <= %(at)s) GROUP BY 1", {"at": at}).fetchall())
    assert report["status_counts"] == counts
