"""Text from data is text: a zone, a Din Betjent sector, an insecurity report and an imported incident whose every
text field carries a script payload are shown on every page and in every interaction (popups, tooltips, small-zone
markers, labels, list, search, legal timeline, officer sheet, analyst popups) in real Chromium, and nothing runs."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect

from geoservice.settings import Settings
from tests.conftest import bearer, serving
from tests.helpers import GOTHERSGADE, offset, square, zone_feature

pytestmark = pytest.mark.browser

# Each payload sets window.__xss (or opens a dialog) if it ever becomes markup.
PAYLOADS = [
    '<img src=x onerror="window.__xss=(window.__xss||0)+1;alert(1)">',
    '"><script>window.__xss=(window.__xss||0)+1</script>',
    "<svg onload=\"window.__xss=(window.__xss||0)+1\"></svg>'",
]
NAME = f"Zone {PAYLOADS[0]}"
AT = "2027-02-01T12:00"  # inside the payload zones' period


@pytest.fixture(scope="module")
def poisoned(settings: Settings, own_db: str, own_client: TestClient, own_conn: psycopg.Connection,
             tokens: dict) -> Iterator[tuple[str, int]]:
    admin = bearer(tokens["admin"])
    ids = []
    where = offset(*GOTHERSGADE, 900, 400)
    for i, (lonlat, name) in enumerate([(where, NAME), (offset(*where, 300, 0), f"Ophævet {PAYLOADS[2]}")]):
        body = zone_feature(square(*lonlat, 120), name=name, decision_ref=PAYLOADS[1], decided_by=PAYLOADS[2],
                            legal_basis=PAYLOADS[0], reason=PAYLOADS[1], description=PAYLOADS[2],
                            valid_from="2027-01-01T00:00:00+01:00", valid_to="2027-06-01T00:00:00+02:00")
        created = own_client.post("/api/v1/zones", json=body, headers=admin)
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
        if i == 1:  # a revocation with a payload reason, for the legal timeline
            zone_id = created.json()["id"]
            revoked = own_client.post(f"/api/v1/zones/{zone_id}/revoke", headers=admin, json={
                "at": "2027-03-01T00:00", "reason": PAYLOADS[0], "decision_ref": f"Ophævelse {PAYLOADS[1]}"})
            assert revoked.status_code == 200, revoked.text
    # the Din Betjent texts an officer reads: sector, station, officers (there is no API to write them)
    own_conn.execute("UPDATE patrol_sector SET name = %s WHERE code = 'KBH-CITY-01'", (f"Sektor {PAYLOADS[0]}",))
    own_conn.execute("UPDATE police_station SET name = %s, address = %s, phone = %s, email = %s"
                     " WHERE code = 'KBH-CITY'",
                     (f"Station {PAYLOADS[1]}", PAYLOADS[2], '+45 1"><img src=x onerror=window.__xss=1>',
                      "a@b.dk\"><script>window.__xss=1</script>"))
    own_conn.execute("UPDATE officer SET name = %s || ' ' || id, title = %s WHERE sector_code = 'KBH-CITY-01'",
                     (f"Betjent {PAYLOADS[2]}", PAYLOADS[0]))
    lon, lat = GOTHERSGADE
    report = own_client.post("/api/v1/overlays/insecurity-reports", headers=admin, json={
        "lat": lat, "lon": lon, "category": "belysning", "text": f"Mørkt {PAYLOADS[0]}",
        "reported_on": "2026-04-22", "walk": PAYLOADS[1]})
    assert report.status_code == 201, report.text
    csv = ("id,category,occurred_at,lat,lon\n"
           f"\"{PAYLOADS[1].replace(chr(34), chr(34) * 2)}\",vold,2025-06-01T01:00:00+02:00,{lat},{lon}\n")
    imported = own_client.post("/api/v1/imports/incidents", params={"source": PAYLOADS[2]}, headers=admin,
                               files={"file": ("x.csv", csv.encode(), "text/csv")})
    assert imported.status_code == 201, imported.text
    with serving(settings, own_db) as base:
        yield base, ids[0]


def watch_scripts(page) -> list[str]:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    return dialogs


def nothing_ran(page, dialogs: list[str]) -> None:
    assert page.evaluate("window.__xss") is None, "a payload from the data ran as script"
    assert dialogs == []
    assert not page.locator("#map img[src='x'], .panel img[src='x'], svg[onload]").count()


def settled_popup(page, text: str):
    """The one popup left once the map has come to rest: a click may zoom, reload the zones (body
    data-loading while that is under way) and open the popup again while the first one fades out."""
    page.wait_for_function("""() => {
        const popups = document.querySelectorAll('.leaflet-popup');
        return popups.length === 1 && getComputedStyle(popups[0]).opacity === '1'
            && !document.querySelector('.leaflet-zoom-anim') && document.body.dataset.ready === 'true'
            && !document.body.dataset.loading;
    }""", timeout=15_000)
    popup = page.locator(".leaflet-popup-content", has_text=text)
    expect(popup).to_have_count(1, timeout=10_000)
    return popup


def open_popup_of(page, selector: str) -> None:
    box = page.locator(selector).first.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.locator(".leaflet-popup-content").first.wait_for()


def test_public_map_shows_payloads_as_text(page, poisoned: tuple[str, int]) -> None:
    poisoned, zone_id = poisoned
    dialogs = watch_scripts(page)
    # all of Denmark: the zone is a small-zone marker with a tooltip
    page.goto(f"{poisoned}/#z=8&c=56.0,11.0&t={AT}")
    page.wait_for_selector("body[data-ready=true]")
    marker = page.locator(f"path.gs-zone-marker-{zone_id}")
    marker.dispatch_event("mouseover")
    page.wait_for_selector(".leaflet-tooltip")
    assert PAYLOADS[0] in page.locator(".leaflet-tooltip").last.inner_text()
    marker.dispatch_event("click")
    # the click zooms to the zone and opens its popup there; the marker's first popup may still be fading out
    popup = settled_popup(page, "Zone <img")
    assert PAYLOADS[1] in popup.inner_text() and PAYLOADS[0] in popup.inner_text()
    nothing_ran(page, dialogs)
    # street zoom: the name as a label; the list; the search; am I in a zone there
    lon, lat = offset(*GOTHERSGADE, 900, 400)
    page.goto(f"{poisoned}/#z=17&c={lat:.5f},{lon:.5f}&t={AT}")
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector(".gs-zone-label")
    assert NAME in page.locator(".gs-zone-label").all_inner_texts()
    page.click("#tab-list")
    assert NAME in page.locator("#zone-table tbody").inner_text()
    page.locator("#zone-table tbody tr", has_text="Zone <img").locator("button").click()
    settled_popup(page, "Zone <img")
    page.fill("#search", "Zone <img")
    page.wait_for_selector("#search-results li[data-index]")
    assert NAME in page.locator("#search-results").inner_text()
    page.keyboard.press("Escape")
    page.click("#tab-here")
    page.locator("#lookup-centre").click()
    page.wait_for_function("document.getElementById('here').textContent.includes('Zone <img')")
    assert PAYLOADS[0] in page.locator("#here").inner_text()  # the Din Betjent officers there, too
    nothing_ran(page, dialogs)


def test_staff_pages_show_payloads_as_text(page, poisoned: tuple[str, int], tokens: dict) -> None:
    poisoned, _ = poisoned
    dialogs = watch_scripts(page)
    page.goto(f"{poisoned}/officer#sector=KBH-CITY-01")
    page.fill("input[name=token]", tokens["admin"])
    page.click("form.login button")
    page.wait_for_selector("body[data-ready=true]")
    sheet = page.locator("#sheet").inner_text()
    for text in (f"Sektor {PAYLOADS[0]}", f"Station {PAYLOADS[1]}", f"Betjent {PAYLOADS[2]}", f"Mørkt {PAYLOADS[0]}"):
        assert text in sheet
    assert f"Sektor {PAYLOADS[0]}" in page.locator("#sector-select").inner_text()
    open_popup_of(page, "path.gs-report")
    page.emulate_media(media="print")  # the printed sheet
    page.emulate_media(media="screen")
    nothing_ran(page, dialogs)
    # legal: the report, the timeline and its audit trail (the revocation reason), the as-of check
    page.goto(f"{poisoned}/legal")
    page.wait_for_selector("body[data-ready=true]")
    page.fill("#zone-search", "Ophævet")
    page.wait_for_selector("#zone-search-results li[data-index]")
    page.keyboard.press("Enter")
    page.wait_for_selector("svg.timeline g.version")
    assert PAYLOADS[0] in page.locator("#events").inner_text()
    assert PAYLOADS[1] in page.locator("svg.timeline").text_content()
    page.fill("#asof-time", AT)
    lon, lat = offset(*GOTHERSGADE, 900, 400)
    page.fill("#asof-place", f"{lat:.6f}, {lon:.6f}")
    page.wait_for_selector("#asof-results li[data-index]")
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('asof-result').textContent.includes('Zone <img')")
    nothing_ran(page, dialogs)
    # analyst: counts per zone, the payload zone's popup
    page.goto(f"{poisoned}/analyst")
    page.wait_for_selector("body[data-ready=true]")
    page.fill("#from", "2027-01-01")  # the payload zones' period: zones count while in force
    page.fill("#to", "2027-02-28")
    page.select_option("#by", "zone")
    page.wait_for_function("document.getElementById('status').textContent.includes('2027')")
    page.evaluate("""() => { state.layer.eachLayer((l) => { if (l.feature.properties.name.startsWith('Zone <img'))
        l.openPopup(); }); }""")
    page.locator(".leaflet-popup-content", has_text="Zone <img").wait_for()
    nothing_ran(page, dialogs)
