"""Insecurity reports (utryghedsmeldinger): officers add and handle them in their own politikreds, and the
officer's sector view shows the last 30 days of incidents and the open reports."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from fastapi.testclient import TestClient

from geoservice import timeutil
from tests.conftest import bearer
from tests.helpers import AALBORG_MIDTBY, GOTHERSGADE, TO_WGS

URL = "/api/v1/overlays/insecurity-reports"


def report(lonlat: tuple[float, float], **extra: object) -> dict:
    lon, lat = lonlat
    return {"lat": lat, "lon": lon, "category": "belysning", "text": "Mørk sti bag skolen",
            "reported_on": "2026-04-22", "walk": "Tryghedsvandring test", **extra}


@pytest.fixture(scope="module")
def sector_point(conn: psycopg.Connection) -> tuple[float, float]:
    x, y = conn.execute("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM patrol_sector"
                        " WHERE code = 'KBH-CITY-01') s").fetchone()
    return TO_WGS.transform(x, y)


def test_an_officer_adds_and_handles_a_report_in_their_politikreds(client: TestClient, tokens: dict,
                                                                   conn: psycopg.Connection) -> None:
    created = client.post(URL, json=report(GOTHERSGADE), headers=bearer(tokens["officer"]))
    assert created.status_code == 201, created.text
    feature = created.json()
    rid = feature["properties"]["id"]
    assert created.headers["location"] == f"{URL}/{rid}"
    assert feature["properties"]["status"] == "open" and feature["properties"]["politikreds"] == "11"
    assert feature["geometry"]["coordinates"] == pytest.approx(list(GOTHERSGADE), abs=1e-6)
    handled = client.patch(f"{URL}/{rid}", json={"status": "handled", "status_note": "Lampen er skiftet"},
                           headers=bearer(tokens["officer"]))
    assert handled.status_code == 200
    props = handled.json()["properties"]
    assert props["status"] == "handled" and props["handled_at"] and props["updated_by"] == "test-officer"
    actions = [r[0] for r in conn.execute("SELECT action FROM audit_log WHERE entity = 'insecurity_report' AND"
                                          " entity_id = %s ORDER BY id", (rid,)).fetchall()]
    assert actions == ["insecurity_report.create", "insecurity_report.update"]
    reopened = client.patch(f"{URL}/{rid}", json={"status": "open"}, headers=bearer(tokens["analyst"])).json()
    assert reopened["properties"]["status"] == "open" and reopened["properties"]["handled_at"] is None


def test_who_may_add_read_and_change_reports(client: TestClient, tokens: dict) -> None:
    assert client.post(URL, json=report(GOTHERSGADE)).status_code == 401
    assert client.post(URL, json=report(GOTHERSGADE), headers=bearer(tokens["legal"])).status_code == 403
    assert client.post(URL, json=report(AALBORG_MIDTBY), headers=bearer(tokens["officer"])).status_code == 403
    nj = client.post(URL, json=report(AALBORG_MIDTBY), headers=bearer(tokens["officer_nj"]))
    assert nj.status_code == 201
    rid = nj.json()["properties"]["id"]
    assert client.get(f"{URL}/{rid}", headers=bearer(tokens["officer"])).status_code == 404
    assert client.get(f"{URL}/{rid}", headers=bearer(tokens["legal"])).status_code == 200
    assert client.get(f"{URL}/{rid}").status_code == 401
    assert client.patch(f"{URL}/{rid}", json={"status": "handled"}, headers=bearer(tokens["officer"])
                        ).status_code == 404
    assert client.patch(f"{URL}/{rid}", json={"status": "handled"}, headers=bearer(tokens["legal"])
                        ).status_code == 403
    listed = client.get(URL, params={"limit": 10_000}, headers=bearer(tokens["officer"])).json()
    assert listed["restricted_to_politikreds"] == "11"
    assert {f["properties"]["politikreds"] for f in listed["features"]} == {"11"}
    assert client.get(URL).status_code == 401


def test_an_officer_cannot_tell_another_kredss_report_from_a_missing_one(client: TestClient, tokens: dict) -> None:
    """PATCH answers like GET: 404 for a report of another politikreds, word for word as for an id that does not
    exist, naming no politikreds (a 403 "this one is in 11" told both that it exists and where)."""
    rid = client.post(URL, json=report(GOTHERSGADE), headers=bearer(tokens["officer"])).json()["properties"]["id"]
    missing = rid + 1_000_000
    nj = bearer(tokens["officer_nj"])
    answers = {
        "get": client.get(f"{URL}/{rid}", headers=nj),
        "patch": client.patch(f"{URL}/{rid}", json={"status": "handled"}, headers=nj),
        "get_missing": client.get(f"{URL}/{missing}", headers=nj),
        "patch_missing": client.patch(f"{URL}/{missing}", json={"status": "handled"}, headers=nj),
    }
    assert {k: r.status_code for k, r in answers.items()} == dict.fromkeys(answers, 404)
    details = {k: r.json()["detail"].replace(str(missing), "ID").replace(str(rid), "ID") for k, r in answers.items()}
    assert len(set(details.values())) == 1, details
    assert "11" not in answers["patch"].text.replace(str(rid), "")
    unchanged = client.get(f"{URL}/{rid}", headers=bearer(tokens["officer"])).json()
    assert unchanged["properties"]["status"] == "open"
    # The public still gets 401 and a reading-only role 403, whether or not the report exists.
    assert client.patch(f"{URL}/{missing}", json={"status": "handled"}).status_code == 401
    assert client.patch(f"{URL}/{missing}", json={"status": "handled"}, headers=bearer(tokens["legal"])
                        ).status_code == 403


@pytest.mark.parametrize(("body", "field"), [
    ({"category": "spøgelser"}, "category"),
    ({"lat": 48.85, "lon": 2.35}, "lat,lon"),
    ({"lat": 55.605, "lon": 13.0038}, "lat,lon"),  # Malmö
    ({"reported_on": "2099-01-01"}, "reported_on"),
    ({"reported_on": "22/4"}, "reported_on"),
    ({"text": ""}, "text"),
    ({"status": "lost"}, "status"),
    ({"colour": "red"}, "colour"),
])
def test_bad_reports_are_refused_naming_the_field(client: TestClient, tokens: dict, body: dict, field: str) -> None:
    response = client.post(URL, json=report(GOTHERSGADE, **body), headers=bearer(tokens["analyst"]))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


def test_officer_sector_view_shows_last_30_days_and_open_reports(client: TestClient, tokens: dict,
                                                                 sector_point) -> None:
    now = timeutil.now()
    lon, lat = sector_point
    rows = ["id,category,occurred_at,lat,lon"]
    for i, days in enumerate((1, 5, 29, 31, 60)):
        rows.append(f"recent-{i},vold,{(now - dt.timedelta(days=days)).isoformat()},{lat},{lon}")
    upload = client.post("/api/v1/imports/incidents", params={"source": "sector-view"},
                         headers=bearer(tokens["analyst"]),
                         files={"file": ("recent.csv", ("\n".join(rows) + "\n").encode(), "text/csv")})
    assert upload.status_code == 201, upload.text
    open_id = client.post(URL, json=report(sector_point, category="grupperinger"),
                          headers=bearer(tokens["officer"])).json()["properties"]["id"]
    done = client.post(URL, json=report(sector_point, status="handled"), headers=bearer(tokens["officer"]))
    body = client.get("/api/v1/overlays/sectors/KBH-CITY-01/recent", headers=bearer(tokens["officer"])).json()
    ids = {f["properties"]["external_id"] for f in body["features"] if f["properties"]["type"] == "incident"
           and f["properties"]["source"] == "sector-view"}
    assert ids == {"recent-0", "recent-1", "recent-2"}
    reports = {f["properties"]["id"] for f in body["features"] if f["properties"]["type"] == "insecurity_report"}
    assert open_id in reports and done.json()["properties"]["id"] not in reports
    assert body["days"] == 30 and body["sector"]["code"] == "KBH-CITY-01"
    assert body["incidents"]["by_group"]["personfarlig"] >= 3
    week = client.get("/api/v1/overlays/sectors/KBH-CITY-01/recent", params={"days": 7},
                      headers=bearer(tokens["officer"])).json()
    assert {f["properties"].get("external_id") for f in week["features"]} >= {"recent-0", "recent-1"}
    assert "recent-2" not in {f["properties"].get("external_id") for f in week["features"]}


# --- the sector view on a database of its own (these tests write rows that other tests' figures would see) ---




RECENT = {"until": "2025-12-31T23:59:59", "days": 60}


def test_sector_view_group_counts_are_of_all_incidents_not_the_listed_ones(own_client: TestClient,
                                                                            tokens: dict) -> None:
    full = own_client.get("/api/v1/overlays/sectors/KBH-CITY-01/recent", params=RECENT,
                          headers=bearer(tokens["officer"])).json()
    assert full["incidents"]["count"] > 10 and full["incidents"]["listed"] == full["incidents"]["count"]
    one = own_client.get("/api/v1/overlays/sectors/KBH-CITY-01/recent", params={**RECENT, "limit": 1},
                         headers=bearer(tokens["officer"])).json()
    assert one["incidents"]["listed"] == 1
    assert len([f for f in one["features"] if f["properties"]["type"] == "incident"]) == 1
    assert one["incidents"]["count"] == full["incidents"]["count"]
    assert one["incidents"]["by_group"] == full["incidents"]["by_group"]
    assert sum(one["incidents"]["by_group"].values()) == one["incidents"]["count"]


def test_sector_view_never_shows_an_officer_rows_of_another_politikreds(own_client: TestClient, own_conn,
                                                                        tokens: dict) -> None:
    """Defence in depth: rows inside a Copenhagen sector but recorded in another politikreds (a sector redrawn
    across a border, a point placed in the neighbouring kreds) are not shown to a Copenhagen officer."""
    own_conn.execute("""
        INSERT INTO incident (source, external_id, category, occurred_at, geom, kommune_code, politikreds_code)
        SELECT 'other-kreds', 'x-1', 'vold', timestamptz '2025-12-20 12:00+01', ST_PointOnSurface(geom), '0101', '1'
        FROM patrol_sector WHERE code = 'KBH-CITY-01'""")
    own_conn.execute("""
        INSERT INTO insecurity_report (category, text, reported_on, geom, kommune_code, politikreds_code, created_by)
        SELECT 'belysning', 'Rapport fra en anden kreds', date '2025-12-20', ST_PointOnSurface(geom), '0101', '1',
               'test' FROM patrol_sector WHERE code = 'KBH-CITY-01'""")

    def view(who: str) -> dict:
        response = own_client.get("/api/v1/overlays/sectors/KBH-CITY-01/recent", params=RECENT,
                                  headers=bearer(tokens[who]))
        assert response.status_code == 200, response.text
        return response.json()

    officer, analyst = view("officer"), view("analyst")
    kredse = {f["properties"]["politikreds"] for f in officer["features"]}
    assert kredse == {"11"}, kredse
    assert officer["restricted_to_politikreds"] == "11"
    assert "x-1" in {f["properties"].get("external_id") for f in analyst["features"]}
    assert "Rapport fra en anden kreds" in {f["properties"].get("text") for f in analyst["features"]}
    assert analyst["incidents"]["count"] == officer["incidents"]["count"] + 1
    assert analyst["open_reports"]["count"] == officer["open_reports"]["count"] + 1
    # An officer of another politikreds gets no Copenhagen sector at all (the contract stays 403).
    refused = own_client.get("/api/v1/overlays/sectors/KBH-CITY-01/recent", params=RECENT,
                             headers=bearer(tokens["officer_nj"]))
    assert refused.status_code == 403
    assert "features" not in refused.text
