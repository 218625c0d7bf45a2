"""The officer's sector page and the legal view, in real Chromium: refused without a token (or with the wrong
role), working with one."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.conftest import bearer

pytestmark = pytest.mark.browser


def login(page, token: str) -> None:
    page.fill("input[name=token]", token)
    page.click("form.login button")


def assert_local_only(page) -> None:
    assert page.watch.blocked == [], "the page tried to reach the internet"
    assert page.watch.console_errors == [] or all("401" in e or "403" in e for e in page.watch.console_errors)


# ids without "/": the screenshot of each test is named after it
@pytest.mark.parametrize("path", ["/officer", "/legal"], ids=["officer", "legal"])
def test_staff_views_refuse_without_a_token(page, live_server: str, path: str) -> None:
    page.goto(live_server + path)
    page.wait_for_selector("body[data-ready=refused]")
    assert "Adgang nægtet" in page.locator("#auth").inner_text()
    requested = [u for u in page.watch.requests if "/api/v1/" in u]
    assert not [u for u in requested if "/sectors" in u or "/validity" in u or "/history" in u]
    assert_local_only(page)


@pytest.mark.parametrize(("path", "who", "role"),
                         [("/officer", "analyst", "analytiker"), ("/legal", "officer", "betjent")],
                         ids=["officer-as-analyst", "legal-as-officer"])
def test_staff_views_refuse_the_wrong_role(page, live_server: str, tokens: dict, path: str, who: str, role: str
                                           ) -> None:
    page.goto(live_server + path)
    page.wait_for_selector("form.login")
    login(page, tokens[who])
    page.wait_for_function("document.querySelector('form.login .message').textContent.includes('kræver rollen')")
    message = page.locator("form.login .message").inner_text()
    # a valid key of the wrong role: the role lacks access, the key is not called bad
    # the role named in Danish, not by its code, in a Danish sentence
    assert f"rollen {role} har ikke adgang" in message and "ikke godkendt" not in message and who not in message
    assert page.locator("#sheet, #content").first.is_hidden()


def test_officer_sector_page(page, live_server: str, tokens: dict, demo_client: TestClient) -> None:
    page.goto(live_server + "/officer")
    page.wait_for_selector("form.login")
    login(page, tokens["officer"])
    page.wait_for_selector("body[data-ready=true]")
    expected = demo_client.get("/api/v1/sectors/KBH-CITY-01", headers=bearer(tokens["officer"])).json()
    assert page.locator("#sector-name").inner_text() == "Din Betjent Indre By Vest"  # the officer's own sector
    contacts = page.locator("#contacts").inner_text()
    assert "Nærpolitistation City" in contacts
    for officer in expected["officers"]:
        assert officer["name"] in contacts
    assert page.locator("#zones-table tbody tr").count() == max(1, len(expected["zones_in_force"]["features"]))
    assert page.locator("path.gs-sector").count() == 1
    assert page.locator("path.gs-neighbour").count() == len(expected["neighbours"]["features"])
    assert page.locator("path.gs-zone").count() == len(expected["zones_in_force"]["features"])
    # the last 30 days of incidents, here up to the end of the demo year
    page.fill("#recent-until", "2025-12-31")
    page.locator("#recent-until").dispatch_event("change")
    page.wait_for_function("document.getElementById('recent-summary').textContent.includes('31. december 2025')")
    recent = demo_client.get("/api/v1/overlays/sectors/KBH-CITY-01/recent",
                             params={"until": "2025-12-31T23:59:59"}, headers=bearer(tokens["officer"])).json()
    assert recent["incidents"]["count"] > 0
    assert page.locator("#recent-summary").inner_text().startswith(f"{recent['incidents']['count']} hændelser")
    assert page.locator("path.gs-incident").count() == recent["incidents"]["listed"]
    # another sector from the picker
    page.select_option("#sector-select", "KBH-AMAGER-22")
    page.wait_for_function("document.getElementById('sector-name').textContent.includes('Amager')")
    assert "sector=KBH-AMAGER-22" in page.url
    # open insecurity reports from the tryghedsvandring along the SUB areas
    reports = demo_client.get("/api/v1/overlays/sectors/KBH-AMAGER-22/recent",
                              headers=bearer(tokens["officer"])).json()["open_reports"]["count"]
    assert reports > 0
    page.wait_for_function(f"document.querySelectorAll('#open-reports li').length === {reports}")
    assert page.locator("path.gs-report").count() == reports
    # a print stylesheet makes the one-page sector sheet
    page.emulate_media(media="print")
    assert page.locator("#controls").is_hidden()
    page.emulate_media(media="screen")
    assert_local_only(page)


def inside(inner: dict, outer: dict, slack: float = 1.0) -> bool:
    return (inner["x"] >= outer["x"] - slack and inner["y"] >= outer["y"] - slack
            and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + slack
            and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + slack)


def open_sector(page, live_server: str, token: str, sector: str) -> None:
    page.goto(f"{live_server}/officer#sector={sector}")
    page.wait_for_selector("form.login")
    login(page, token)
    page.wait_for_selector("body[data-ready=true]")


@pytest.mark.parametrize("sector", ["KBH-CITY-01", "KBH-AMAGER-22"])
def test_officer_print_sheet_is_one_a4_page_with_the_sector_fitted(page, live_server: str, tokens: dict,
                                                                    sector: str, artifacts) -> None:
    open_sector(page, live_server, tokens["officer"], sector)
    pages = re.compile(rb"/Type\s*/Page[^s]")
    assert len(pages.findall(page.pdf(format="A4"))) == 1  # printing straight away (beforeprint)
    page.emulate_media(media="print")  # as the browser does for printing: the page refits the map
    page.wait_for_function("document.getElementById('map').style.height === '95mm'")
    assert inside(page.locator("path.gs-sector").bounding_box(), page.locator("#map").bounding_box())
    pdf = page.pdf(format="A4")
    (artifacts / f"officer-sheet-{sector}.pdf").write_bytes(pdf)
    assert len(pages.findall(pdf)) == 1
    page.emulate_media(media="screen")
    page.wait_for_function("document.getElementById('map').style.height === ''")
    assert_local_only(page)


def test_officer_view_on_a_phone(page, live_server: str, tokens: dict) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    open_sector(page, live_server, tokens["officer"], "KBH-CITY-01")
    # no sideways scrolling, and the whole sector in the map although the header grew when the controls appeared
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    map_box = page.locator("#map").bounding_box()
    assert map_box["height"] > 200
    assert inside(page.locator("path.gs-sector").bounding_box(), map_box)
    assert page.locator("#sector-select").bounding_box()["x"] + page.locator("#sector-select").bounding_box()[
        "width"] <= 390
    assert_local_only(page)


def test_find_my_sector_says_what_happened(page, live_server: str, tokens: dict) -> None:
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": 55.6615, "longitude": 12.6180})  # Amager
    open_sector(page, live_server, tokens["officer"], "KBH-CITY-01")
    page.click("#locate")
    page.wait_for_function("document.getElementById('locate-status').textContent.includes('ligger i')")
    assert "Amager" in page.locator("#sector-name").inner_text()
    # Din Betjent is national: Aalborg has its sectors too
    page.context.set_geolocation({"latitude": 57.0480, "longitude": 9.9200})
    page.click("#locate")
    page.wait_for_function("document.getElementById('sector-name').textContent.includes('Aalborg')")
    # water off Amager, inside the coarse kommune outline but outside every sector
    page.context.set_geolocation({"latitude": 55.6150, "longitude": 12.5322})
    page.click("#locate")
    page.wait_for_function("document.getElementById('locate-status').textContent.includes('ikke i nogen')")
    page.context.clear_permissions()
    page.click("#locate")
    page.wait_for_function("document.getElementById('locate-status').textContent.includes('Kunne ikke finde')")
    assert_local_only(page)


def test_legal_view_report_timeline_and_as_of(page, live_server: str, tokens: dict) -> None:
    page.goto(live_server + "/legal")
    page.wait_for_selector("form.login")
    login(page, tokens["legal"])
    page.wait_for_selector("body[data-ready=true]")
    page.fill("#report-at", "2026-11-22T12:00")
    page.locator("#report-at").dispatch_event("change")
    page.wait_for_selector("#report-table[data-report-at='2026-11-22T12:00:00+01:00']")
    row = page.locator("#report-table tbody tr", has_text="Nattelivszone Vestergade")
    # Danish status labels and whole days (22.5 days left)
    assert row.locator(".badge").inner_text() == "Udløber snart" and "23 dage" in row.inner_text()
    expired = page.locator("#report-table tbody tr", has_text="Visitationszone Aalborg Midtby")
    assert expired.locator(".badge").inner_text() == "Udløbet"
    assert re.search(r"udløbet for \d+ dage siden", expired.inner_text())
    counts = page.locator("#counts").inner_text()
    assert "I kraft:" in counts and "in_force" not in counts and "expired" not in counts
    # sortable: days descending puts the longest-expired last when ascending, first when descending
    days_header = page.locator("#report-table th", has_text="Dage")
    days_header.locator("button").click()
    assert days_header.get_attribute("aria-sort") == "descending"
    # timeline of a zone with an extension chain
    page.locator("#report-table a", has_text="Visitationszone Aalborg Øst").click()
    page.wait_for_selector("svg.timeline g.version")
    assert page.locator("svg.timeline g.version").count() == 3
    # the whole decision reference and the change in Danish
    assert "DEMO NJ-2025-VZ-03-F2" in page.locator("svg.timeline g.version text").all_text_contents()
    assert "v2 forlængelse" in page.locator("svg.timeline g.version text").all_text_contents()
    assert "(Udløbet)" in page.locator("#timeline-zone").inner_text()
    assert "demo.load" in page.locator("#events").inner_text()
    # as-of: Gothersgade at 01:30 on a May night — the ban applied
    page.fill("#asof-time", "2026-05-02T01:30")
    page.fill("#asof-place", "55.6815, 12.5795")
    page.wait_for_selector("#asof-results li")
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('asof-result').textContent.includes('Gothersgade')")
    result = page.locator("#asof-result").inner_text()
    assert "forbuddet gjaldt på tidspunktet" in result and "DEMO KBH-2025-NZ-01" in result
    assert "Døgnvindue kl. 00.00–05.00" in result
    assert page.locator("#asof-place").get_attribute("placeholder") == "Sted, zone eller koordinater"
    # the zone search offers zones only: Enter on "Vestergade" opens the zone's timeline, not a shop
    page.fill("#zone-search", "Vestergade")
    page.wait_for_selector("#zone-search-results li[data-index]")
    assert page.locator("#zone-search-results li").all_inner_texts() == [
        t for t in page.locator("#zone-search-results li").all_inner_texts() if "Nattelivszone" in t]
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('timeline-zone').textContent.includes('Vestergade')")
    page.fill("#zone-search", "Kiosk")
    page.wait_for_selector("#zone-search-results li.empty")
    assert page.locator("#zone-search-results li.empty").inner_text() == "Ingen zone hedder sådan"
    # a repeated hour on the night summer time ends: resolved to the first, and said in Danish
    page.fill("#asof-time", "2025-10-26T02:30")
    page.locator("#asof-time").dispatch_event("change")
    page.wait_for_function("document.getElementById('asof-result').textContent.includes('findes to gange')")
    assert "sommertid (+02:00)" in page.locator("#asof-result").inner_text()
    assert_local_only(page)
