"""The real history of Danish visitation zones (visitationszone.dk, 2007–2025), loaded with the demo data through
the zone file import as a historical record: the figures, what a lookup and the map show then, the honest
registration time, the credit, and the validity report that groups it instead of drowning in it."""

from __future__ import annotations

import itertools
import json

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.conftest import bearer

VOLLSMOSE = {"lat": 55.4075, "lon": 10.4310}   # inside the Vollsmose zone of 19 August – 3 September 2025
CREDIT = "Visitationszoner: visitationszone.dk (CC BY 3.0 / ODbL)"


def history(conn: psycopg.Connection) -> dict:
    row = conn.execute("SELECT id, report FROM zone_import WHERE historical AND source = 'visitationszone.dk'"
                       ).fetchall()
    assert len(row) == 1, "the demo load imports the history once"
    return {"id": row[0][0], **row[0][1]}


def test_247_periods_become_169_zones_with_every_repair_reported(conn: psycopg.Connection, settings) -> None:
    report = history(conn)
    counts = report["counts"]
    assert counts["features_read"] == 247 and counts["features_rejected"] == 0
    assert counts["periods"] == counts["versions_created"] == 247
    assert counts["zones"] == counts["created"] == 169
    assert counts["overrides"] == 247 and counts["archived"] == 169
    assert counts["rings_closed"] == 205 and counts["times_repaired"] == 1 and counts["made_valid"] == 0
    assert counts["local_times_resolved"] == 0   # no time of the file falls in a skipped or repeated hour
    notes = report["notes"]
    source = json.loads((settings.shared_data_dir / "visitationszoner" / "visitationszoner_2007_2025.geojson"
                         ).read_text(encoding="utf-8"))
    unclosed = {i for i, f in enumerate(source["features"], 1) if f["geometry"]["coordinates"][0][0]
                != f["geometry"]["coordinates"][0][-1]}
    closed = {n["feature"]: n["detail"] for n in notes["repairs"] if n["repair"] == "ring closed"}
    assert set(closed) == unclosed and len(unclosed) == 205
    assert all(d.startswith("1 ring(s) not closed (ring 1)") for d in closed.values())
    (minute,) = [n for n in notes["repairs"] if n["repair"] == "one-digit minutes read as tens"]
    assert (minute["feature"], minute["value"], minute["read_as"]) == (213, "2016-10-18 14:0", "2016-10-18 14:00")
    # 28 zones continue over several periods (78 links); 3 periods continue one of two that end where they start
    assert len(notes["links"]) == 28 and sum(len(n["features"]) - 1 for n in notes["links"]) == 78
    assert [m["feature"] for m in notes["merges"]] == [88, 121, 246]
    # every authority is one of today's politikredse, by name
    assert len(notes["authorities"]) == 10 and all(a["exact"] for a in notes["authorities"])
    assert notes["authority_elsewhere"] == []   # every boundary lies mostly in its authority's politikreds
    # the database holds what the report says
    zones, versions, extensions, illustrative = conn.execute(
        "SELECT count(DISTINCT z.id), count(*), count(*) FILTER (WHERE v.change = 'extension'),"
        " count(*) FILTER (WHERE z.illustrative) FROM zone z JOIN zone_version v ON v.zone_id = z.id"
        " WHERE z.import_id = %s", (report["id"],)).fetchone()
    assert (zones, versions, extensions, illustrative) == (169, 247, 78, 0)


def test_vollsmose_2025_is_found_then_and_not_after(demo_client: TestClient) -> None:
    then = demo_client.get("/api/v1/lookup", params={**VOLLSMOSE, "at": "2025-08-25T12:00:00+02:00"}).json()
    (zone,) = [z for z in then["zones"] if z["kind"] == "visitationszone"]
    assert zone["name"] == "Vollsmose"
    assert then["police_district"]["name"] == "Fyns Politi"
    after = demo_client.get("/api/v1/lookup", params={**VOLLSMOSE, "at": "2025-09-04T12:00:00+02:00"}).json()
    assert [z for z in after["zones"] if z["kind"] == "visitationszone"] == []
    feature = demo_client.get(f"/api/v1/zones/{zone['id']}", params={"at": "2025-08-25T12:00:00+02:00"}).json()
    props = feature["properties"]
    assert props["valid_from"] == "2025-08-19T16:00:00+02:00" and props["valid_to"] == "2025-09-03T16:00:00+02:00"
    assert props["illustrative"] is False and props["decided_by"] == "Fyns Politi"
    assert props["source"]["credit"] == CREDIT and props["source"]["geometry"].startswith("approximate")
    assert "omtrentlig" in props["description"] and props["boundary_text"]
    assert props["reason"]  # the register's background, kept


def test_the_map_of_autumn_2024_shows_the_real_copenhagen_zones(demo_client: TestClient) -> None:
    listing = demo_client.get("/api/v1/zones", params={"at": "2024-09-01T12:00:00+02:00",
                                                       "kind": "visitationszone"}).json()
    assert sorted(f["properties"]["name"] for f in listing["features"]) == ["Amager", "Nørrebro og Nordvest"]
    assert all(f["properties"]["politikreds"] == "11" for f in listing["features"])


def test_registration_is_honest_published_as_of_before_the_import_does_not_show_them(
        demo_client: TestClient, conn: psycopg.Connection) -> None:
    imported_at = conn.execute("SELECT imported_at FROM zone_import WHERE historical").fetchone()[0]
    published = conn.execute("SELECT min(v.published_at), max(v.published_at) FROM zone_version v JOIN zone z"
                             " ON z.id = v.zone_id WHERE z.import_id IS NOT NULL AND z.source_key LIKE"
                             " 'visitationszone.dk:%'").fetchone()
    assert imported_at <= published[0] <= published[1]  # recorded at the import, not back-dated
    as_of = demo_client.get("/api/v1/zones", params={"published_as_of": "2025-08-25T12:00:00+02:00",
                                                     "kind": "visitationszone"}).json()
    assert "Vollsmose" not in [f["properties"]["name"] for f in as_of["features"]]
    assert as_of["numberMatched"] == 0


def test_a_linked_zone_keeps_each_decision_as_an_extension(demo_client: TestClient, tokens: dict) -> None:
    legal = bearer(tokens["legal"])
    at = "2022-01-10T12:00:00+01:00"
    found = demo_client.get("/api/v1/lookup", params={**VOLLSMOSE, "at": at}).json()
    (zone,) = [z for z in found["zones"] if z["kind"] == "visitationszone"]
    body = demo_client.get(f"/api/v1/zones/{zone['id']}/history", headers=legal).json()
    versions = body["versions"]
    assert [v["change"] for v in versions] == ["designation", "extension", "extension", "extension"]
    for before, after in itertools.pairwise(versions):
        assert after["valid_from"] == before["valid_to"]  # start = previous end
    assert all(v["override"]["reason"].startswith("Historisk registrering fra visitationszone.dk")
               for v in versions)
    # the place's later name is the zone's name; the earlier one is in the audit trail
    assert body["zone"]["name"] == "Vollsmose og Korsløkke" and body["zone"]["status"] == "expired"
    renamed = [e["changes"]["name"] for e in body["events"] if e["entity"] == "zone" and "name" in e["changes"]]
    assert renamed == [{"before": None, "after": "Vollsmose og dele af Korsløkke"},
                       {"before": "Vollsmose og dele af Korsløkke", "after": "Vollsmose og Korsløkke"}]


def test_the_validity_report_groups_the_historical_record(demo_client: TestClient, tokens: dict) -> None:
    legal = bearer(tokens["legal"])
    report = demo_client.get("/api/v1/validity/report", headers=legal).json()
    (record,) = report["historical_records"]
    assert record["source"] == "visitationszone.dk" and record["zones"] == 169 and record["versions"] == 247
    assert record["overrides"] == 247 and record["missing_decision_ref"] == 247
    assert record["rules"] == ["decision_required", "no_retroactive_effect"]
    assert record["reason"].startswith("Historisk registrering fra visitationszone.dk")
    assert not [o for o in report["overrides"] if o["reason"].startswith("Historisk registrering")]
    assert len(report["missing_decision_ref"]) < 10 and len(report["overrides"]) < 10
    assert not [z for z in report["expired_still_published"] if z["kind"] == "visitationszone"
                and z["name"] in ("Vollsmose", "Amager")]   # archived by the import
    listed = demo_client.get("/api/v1/validity/report", params={"historical": "list"}, headers=legal).json()
    assert len([o for o in listed["overrides"] if o["reason"].startswith("Historisk registrering")]) == 247
    text = demo_client.get("/api/v1/validity/report", params={"format": "text"}, headers=legal).text
    assert "historical records (imported past designations) (1)" in text and "169 zones" in text
    # a report at a moment before the import was recorded does not know the record
    before = demo_client.get("/api/v1/validity/report", params={"at": "2025-08-25T12:00:00+02:00"},
                             headers=legal).json()
    assert before["historical_records"] == [] and "Vollsmose" not in [z["name"] for z in before["expiring"]]


def test_loading_again_changes_nothing_and_the_import_can_be_listed(demo_client: TestClient, tokens: dict,
                                                                   conn: psycopg.Connection) -> None:
    record = history(conn)
    listing = demo_client.get("/api/v1/imports/zones", headers=bearer(tokens["admin"])).json()
    assert record["id"] in [i["id"] for i in listing["imports"]]
    one = demo_client.get(f"/api/v1/imports/zones/{record['id']}", headers=bearer(tokens["legal"])).json()
    assert one["historical"] and one["report"]["counts"]["zones"] == 169
    assert demo_client.get(f"/api/v1/imports/zones/{record['id']}").status_code == 401


def test_the_credit_is_on_every_map(demo_client: TestClient) -> None:
    assert CREDIT in demo_client.get("/api/v1/config").json()["credits"]


@pytest.mark.browser
def test_the_public_map_time_control_shows_the_real_zones(page, live_server: str) -> None:
    page.goto(f"{live_server}/#z=12&c=55.67,12.57&t=2024-09-01T12:00")
    page.wait_for_selector("body[data-ready=true]")
    names = set(page.locator("#zone-table tbody .zone-name").all_inner_texts())
    assert {"Amager", "Nørrebro og Nordvest"} <= names
    page.goto(f"{live_server}/#z=13&c=55.4075,10.4310&t=2025-08-25T12:00")
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_function("() => [...document.querySelectorAll('#zone-table tbody .zone-name')]"
                           ".some((e) => e.textContent === 'Vollsmose')")
    assert CREDIT in page.locator("#credits").inner_text()
    assert page.watch.blocked == [] and page.watch.console_errors == []
