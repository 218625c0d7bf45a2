"""The public map at / in real Chromium: zones in force at a chosen moment, Danish popups, permalinks, place
search, the accessible list and its GeoJSON download, "am I in a zone?", payload size, and no request leaves
localhost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

AALBORG_VZ = {"Visitationszone Aalborg Midtby", "Visitationszone Vejgaard", "Visitationszone Aalborg Øst"}
SECRETS = ("INTERN: Visitationszone Sydhavnen", "Opholdsforbud", "Nyhavn (udkast)")


def open_map(page, base: str, fragment: str = "") -> None:
    page.goto(f"{base}/{fragment}")
    page.wait_for_selector("body[data-ready=true]")


def listed(page) -> set[str]:
    return set(page.locator("#zone-table tbody .zone-name").all_inner_texts())


def set_time(page, value: str, expect: str) -> None:
    page.fill("#time", value)
    page.locator("#time").dispatch_event("change")
    page.wait_for_function("(expect) => document.getElementById('status').textContent.includes(expect)", arg=expect)


def assert_clean(page) -> None:
    assert page.watch.console_errors == []
    assert page.watch.blocked == [], "the page tried to reach the internet"
    everything = b"".join(body for _, body in page.watch.bodies)
    for secret in SECRETS:
        assert secret.encode() not in everything


def test_draws_the_zones_in_force_with_danish_popups(page, live_server: str, client: TestClient) -> None:
    open_map(page, live_server)
    # the zones of the view (the map asks by viewport): as many as the API has there, the download the same
    expected = client.get(page.locator("#download").get_attribute("href")).json()["numberMatched"]
    assert page.locator(".leaflet-overlay-pane path.leaflet-interactive").count() == expected > 0
    assert page.evaluate("typeof L.version") == "string"  # Leaflet from our own server
    page.click("#tab-legend")
    legend = page.locator("#legend").inner_text()
    assert "Personer med nattelivsforbud må ikke opholde sig i zonen mellem kl. 00 og 05." in legend
    page.locator("path.leaflet-interactive").first.dispatch_event("click")
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    assert ((" kl. " in text and " – " in text) or " til og med " in text) and "Retsgrundlag" in text
    assert "Illustrativ afgrænsning" in text
    assert_clean(page)


def test_time_control_hides_aalborg_zones_before_and_after_their_period(page, live_server: str) -> None:
    open_map(page, live_server, "#z=8&c=56.4,10.8")
    page.click("#tab-list")
    set_time(page, "2025-09-01T15:59", "1. september 2025 kl. 15.59")
    assert not listed(page) & AALBORG_VZ
    set_time(page, "2025-09-01T16:00", "1. september 2025 kl. 16.00")
    assert listed(page) >= AALBORG_VZ
    period = page.locator("#zone-table tbody tr", has_text="Visitationszone Vejgaard").locator("td").nth(1)
    # the period of the version in force (its own decision), and the extension by a later decision on its own line
    assert period.locator(".period").inner_text() == "1. september 2025 kl. 16.00 – 15. september 2025 kl. 16.00"
    assert period.locator(".continues").inner_text() == "Forlænget til 29. september 2025 kl. 16.00"
    set_time(page, "2025-10-13T16:00", "13. oktober 2025 kl. 16.00")
    assert not listed(page) & AALBORG_VZ
    assert "t=2025-10-13T16:00" in page.url  # the view is a permalink
    assert_clean(page)


def test_popup_period_is_the_period_of_the_decision_shown(page, live_server: str) -> None:
    # 6 June 2025: Gothersgade runs on its 2023 decision until 1 July 2025; the 2025 decision extends it to 2027
    open_map(page, live_server, "#z=14&c=55.68150,12.57950&t=2025-06-06T12:00")
    page.click("#tab-list")
    page.locator("#zone-table tbody tr", has_text="Nattelivszone Gothersgade").locator("button").click()
    popup = page.locator(".leaflet-popup-content", has_text="Gothersgade").last
    popup.wait_for()
    rows = dict(zip(popup.locator("dt").all_inner_texts(), popup.locator("dd").all_inner_texts(), strict=True))
    assert rows["Afgørelse"] == "DEMO KBH-2023-NZ-01"
    # an end at local midnight reads as the day before "til og med"; the exact instant is in the tooltip
    assert rows["Periode"] == "1. juli 2023 til og med 30. juni 2025"
    period = popup.locator("dd .period")
    assert "1. juli 2025 kl. 00.00" in period.get_attribute("title")
    assert period.get_attribute("data-valid-to").startswith("2025-07-01T00:00:00+02:00")
    assert popup.locator(".continues").inner_text() == "Forlænget til og med 30. juni 2027"
    assert_clean(page)


def test_permalink_reproduces_the_view(page, live_server: str) -> None:
    open_map(page, live_server, "#z=14&c=57.04800,9.92000&t=2025-09-02T12:00&hide=nattelivszone&lang=en")
    assert "z=14" in page.url and "c=57.04800,9.92000" in page.url
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Showing zones in force at 2 September 2025 12:00" in page.locator("#status").inner_text()
    page.click("#tab-list")
    names = listed(page)
    assert "Visitationszone Aalborg Midtby" in names and not any(n.startswith("Nattelivszone") for n in names)
    assert page.locator("#layer-nattelivszone").is_checked() is False
    assert page.locator("#time").input_value() == "2025-09-02T12:00"
    assert_clean(page)


def test_place_search_and_am_i_in_a_zone(page, live_server: str) -> None:
    open_map(page, live_server, "#t=2026-05-02T01:30")
    page.fill("#search", "55.6815, 12.5795")
    page.wait_for_selector("#search-results li")
    page.keyboard.press("Enter")
    here = page.locator("#here")
    here.locator("h2").first.wait_for()
    text = here.inner_text()
    assert "Nattelivszone Gothersgade" in text
    # a chosen moment is not "now"; the ban is named, the times written the Danish way
    assert "Nattelivsforbuddet gælder på det valgte tidspunkt (kl. 00.00–05.00)" in text
    assert "Din Betjent" in text and "Nærpolitistation City" in text and "@demo.invalid" in text
    page.fill("#search", "Kødbyen")
    page.wait_for_selector("#search-results li")
    options = page.locator("#search-results li")
    assert options.first.inner_text().startswith("Kødbyen")  # the exact name first: the neighbourhood
    options.filter(has_text="Nattelivszone Kødbyen").click()
    page.locator(".leaflet-popup-content").wait_for()
    assert "Nattelivszone Kødbyen" in page.locator(".leaflet-popup-content").inner_text()
    assert_clean(page)


def test_a_click_on_a_zone_opens_its_popup_and_answers_am_i_in_a_zone(page, live_server: str,
                                                                       client: TestClient) -> None:
    zone = client.get("/api/v1/zones", params={"q": "Gothersgade", "at": "2026-05-02T01:30"}).json()["features"][0]
    open_map(page, live_server, "#z=15&c=55.68150,12.57950&t=2026-05-02T01:30")
    box = page.locator(f"path.gs-zone-{zone['id']}").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # a real click inside the zone
    page.locator(".leaflet-popup-content", has_text="Nattelivszone Gothersgade").first.wait_for()
    here = page.locator("#here")
    here.locator(".officers").wait_for()
    assert page.locator("#tab-here").get_attribute("aria-selected") == "true"
    text = here.inner_text()
    assert "Nattelivszone Gothersgade" in text and "Din Betjent Indre By Vest" in text and "@demo.invalid" in text
    assert_clean(page)


def test_public_page_on_a_phone(page, live_server: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    open_map(page, live_server, "#z=12&c=57.04,9.93&t=2025-09-05T12:00")
    # the header wraps, and the map and panel take what is left: no page taller or wider than the screen
    assert page.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]") == [390, 844]
    # the search field shows its whole placeholder
    fits = page.evaluate("""() => {
        const input = document.getElementById('search');
        const ctx = document.createElement('canvas').getContext('2d');
        ctx.font = getComputedStyle(input).font;
        return ctx.measureText(input.placeholder).width <= input.clientWidth;
    }""")
    assert fits
    page.click("#tab-list")
    row = page.locator("#zone-table tbody tr", has_text="Visitationszone Aalborg Midtby")
    period = row.locator("td").nth(1).bounding_box()
    assert period["x"] + period["width"] <= 390 and period["width"] > 100  # the period is on screen, readable
    assert "Visitationszone" in row.locator("th .kind-inline").inner_text()
    assert_clean(page)


def test_zones_too_small_to_see_get_markers_and_kommune_outlines_show_everywhere(page, live_server: str,
                                                                                 client: TestClient) -> None:
    expected = client.get("/api/v1/zones", params={"limit": 1000, "at": "2025-09-05T12:00"}).json()["numberMatched"]
    open_map(page, live_server, "#z=7&c=56.2,11.0&t=2025-09-05T12:00")  # all of Denmark: every zone a few pixels
    assert page.locator(".leaflet-overlay-pane path.leaflet-interactive").count() == expected
    assert page.locator("path.gs-zone-marker").count() == expected
    # a marker opens its zone: zoomed in, the zone is big enough and has no marker any more
    box = page.locator("path.gs-zone-marker").last.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    # the marker's popup, then the zone's own once zoomed in (the first may still be fading out)
    expect(page.locator(".leaflet-popup-content")).to_have_count(1, timeout=10_000)
    page.wait_for_function("document.querySelectorAll('path.gs-zone-marker').length === 0")
    # Aalborg in a street view: the kommune outlines are drawn there too (bydele exist only for Copenhagen)
    open_map(page, live_server, "#z=14&c=57.04800,9.92000&t=2025-09-05T12:00")
    page.wait_for_function("""() => [...document.querySelectorAll('.leaflet-reference-pane path')]
        .some((p) => { const r = p.getBoundingClientRect(); return r.width > 50 && r.height > 50; })""")
    assert_clean(page)


def test_list_view_is_accessible_and_download_is_exactly_what_is_shown(page, live_server: str, tmp_path: Path
                                                                       ) -> None:
    open_map(page, live_server, "#t=2026-06-01T12:00&hide=bobleromraade")
    page.click("#tab-list")
    rows = page.locator("#zone-table tbody tr")
    assert rows.count() > 0
    assert page.locator("#zone-table caption").inner_text().endswith("zoner i kraft")
    first_button = rows.first.locator("button")
    assert first_button.get_attribute("aria-label").startswith("Vis på kort: ")
    # The whole table fits the side panel on a desktop screen: no column is cut off.
    assert page.evaluate("(() => { const box = document.querySelector('#zone-table').parentElement;"
                         " return box.scrollWidth <= box.clientWidth + 1; })()")
    page.keyboard.press("Tab")  # keyboard reachable
    with page.expect_download() as download_info:
        page.click("#download")
    path = tmp_path / "zones.geojson"
    download_info.value.save_as(path)
    downloaded = {f["properties"]["name"] for f in json.loads(path.read_text(encoding="utf-8"))["features"]}
    assert downloaded == listed(page)
    assert not any(f.startswith("Tingbjerg") for f in downloaded)  # a hidden kind is not in the download
    assert_clean(page)


def test_english_toggle(page, live_server: str) -> None:
    open_map(page, live_server, "#z=15&c=55.68150,12.57950&t=2026-05-02T01:30")
    page.fill("#search", "55.6815, 12.5795")
    page.wait_for_selector("#search-results li")
    page.keyboard.press("Enter")
    page.locator("#here .officers").wait_for()
    page.click("#lang")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#tab-legend").inner_text() == "Legend"
    assert "People banned from nightlife" in page.locator("#legend").inner_text()
    assert "lang=en" in page.url
    # everything on the page follows: the last answer, the title, the map's label, the credits, search details
    here = page.locator("#here").inner_text()
    assert "What applies here" in here and "The nightlife ban applies at the chosen time (00:00–05:00)" in here
    assert page.title() == "Police zones – map"
    assert page.locator("#map").get_attribute("aria-label") == "Map of zones"
    assert page.locator("#credits").inner_text().startswith("Data sources: ")
    page.fill("#search", "Kødbyen")
    page.wait_for_selector("#search-results li")
    details = page.locator("#search-results li span").all_inner_texts()
    assert "Neighbourhood, København" in details and "Nightlife zone" in details
    page.click("#lang")
    assert "Her gælder" in page.locator("#here").inner_text() and page.title() == "Politiets zoner – kort"
    assert_clean(page)


def test_time_on_the_nights_the_clocks_change(page, live_server: str) -> None:
    open_map(page, live_server, "#z=15&c=55.68150,12.57950&t=2025-10-25T23:30")
    # 02.30 happens twice on 26 October 2025: the page asks with an offset, says which, and offers the other
    set_time(page, "2025-10-26T02:30", "26. oktober 2025 kl. 02.30 (sommertid, +02:00)")
    note = page.locator("#time-note")
    assert "findes to gange" in note.inner_text()
    assert "t=2025-10-26T02:30%2B02:00" in page.url
    note.locator("button", has_text="vintertid").click()
    page.wait_for_function("document.getElementById('status').textContent.includes('(vintertid, +01:00)')")
    assert "t=2025-10-26T02:30%2B01:00" in page.url
    # 02.30 does not exist on 30 March 2025: said, and the map moves to 03.00
    set_time(page, "2025-03-30T02:30", "30. marts 2025 kl. 03.00")
    assert "findes ikke" in note.inner_text()
    assert page.locator("#time").input_value() == "2025-03-30T03:00" and "t=2025-03-30T03:00" in page.url
    assert page.locator("path.leaflet-interactive").count() > 0
    assert_clean(page)


def test_a_permalink_pasted_into_the_same_tab_is_followed(page, live_server: str) -> None:
    open_map(page, live_server)
    page.evaluate("location.hash = '#z=13&c=57.04800,9.92000&t=2025-09-05T12:00&lang=en'")
    page.wait_for_function("document.getElementById('status').textContent.includes('5 September 2025 12:00')")
    assert page.locator("#time").input_value() == "2025-09-05T12:00"
    assert page.locator("html").get_attribute("lang") == "en"
    page.click("#tab-list")
    assert listed(page) >= AALBORG_VZ
    assert "c=57.04800,9.92000" in page.url and "z=13" in page.url
    assert_clean(page)


def test_payload_and_time_to_first_zone(page, live_server: str, artifacts: Path) -> None:
    sizes: list[int] = []
    page.on("requestfinished", lambda request: sizes.append(request.sizes()["responseBodySize"]))
    open_map(page, live_server)
    page.wait_for_load_state("networkidle")
    total = sum(sizes)
    first_zone_ms = page.evaluate("performance.getEntriesByName('gs:first-zone')[0].startTime")
    (artifacts / "public-map-metrics.json").write_text(json.dumps(
        {"transferred_bytes": total, "requests": len(sizes), "first_zone_ms": first_zone_ms}, indent=2))
    assert total < 500_000, f"the public page transferred {total} bytes"
    # the mark is set when the first zone is drawn, so it exists only if the page drew one
    assert 0 < first_zone_ms < 30_000
    assert page.locator("path.leaflet-interactive").count() > 0
    assert_clean(page)
