"""Wrong answers first: a page never shows a stale or an overtaken answer, and a year typed digit by digit is not a
question. Requests are held back with Playwright routing so that an older answer arrives after a newer one."""

from __future__ import annotations

import contextlib
import math

import pytest

from tests.helpers import AMAGER_FAELLED, GOTHERSGADE

pytestmark = pytest.mark.browser


def open_map(page, base: str, fragment: str) -> None:
    page.goto(f"{base}/{fragment}")
    page.wait_for_selector("body[data-ready=true]")


def hold_first(page, pattern: str) -> list:
    """Hold back the first request matching `pattern` (let every later one through) until released."""
    held: list = []

    def handler(route) -> None:
        if not held:
            held.append(route)
        else:
            route.continue_()

    page.route(pattern, handler)
    return held


def release(held: list) -> None:
    with contextlib.suppress(Exception):  # the page aborted it (AbortController): nothing left to answer
        held[0].continue_()


def pixel(lon: float, lat: float, zoom: float) -> tuple[float, float]:
    """Web Mercator pixel coordinates at a zoom level, as Leaflet computes them."""
    scale = 256 * 2 ** zoom
    siny = math.sin(math.radians(lat))
    return (lon + 180) / 360 * scale, (0.5 - math.log((1 + siny) / (1 - siny)) / (4 * math.pi)) * scale


def click_at(page, lonlat: tuple[float, float]) -> None:
    """A real click on the map at a place, from the view the permalink states."""
    view = dict(part.split("=", 1) for part in page.url.split("#", 1)[1].split("&"))
    lat0, lon0 = (float(v) for v in view["c"].split(","))
    zoom = float(view["z"])
    box = page.locator("#map").bounding_box()
    cx, cy = pixel(lon0, lat0, zoom)
    px, py = pixel(*lonlat, zoom)
    page.mouse.click(box["x"] + box["width"] / 2 + px - cx, box["y"] + box["height"] / 2 + py - cy)


def set_time(page, value: str) -> None:
    page.fill("#time", value)
    page.locator("#time").dispatch_event("change")


def test_am_i_in_a_zone_is_asked_again_for_a_new_moment_and_names_it(page, live_server: str) -> None:
    # Saturday night 01.30 in Gothersgade: the nightlife ban applies
    open_map(page, live_server, "#z=15&c=55.68150,12.57950&t=2026-05-02T01:30")
    click_at(page, GOTHERSGADE)
    here = page.locator("#here")
    page.wait_for_function("document.querySelector('#here .answer-for')?.textContent.includes('2. maj 2026 kl. 01.30')")
    assert "Nattelivsforbuddet gælder på det valgte tidspunkt" in here.inner_text()
    assert here.locator(".answer-for").inner_text() == "Svar for det valgte sted, på tidspunktet 2. maj 2026 kl. 01.30"
    # Tuesday 14.00: asked again for the same place, and the answer says for when
    set_time(page, "2026-05-05T14:00")
    page.wait_for_function("document.querySelector('#here .answer-for')?.textContent.includes('5. maj 2026 kl. 14.00')")
    text = here.inner_text()
    assert "ikke på det valgte tidspunkt" in text and "gælder på det valgte tidspunkt" not in text


def test_only_the_newest_place_is_answered(page, live_server: str) -> None:
    open_map(page, live_server, "#z=14&c=55.67000,12.58000&t=2026-05-02T01:30")
    held = hold_first(page, "**/api/v1/lookup?*")
    click_at(page, GOTHERSGADE)  # the first question: its answer is held back
    page.wait_for_function("() => true")
    click_at(page, AMAGER_FAELLED)  # the second: answered at once
    page.wait_for_function("document.getElementById('here').textContent.includes('Ikke i nogen zone')")
    release(held)
    page.wait_for_timeout(800)
    assert "Gothersgade" not in page.locator("#here").inner_text()
    assert "Ikke i nogen zone" in page.locator("#here").inner_text()


def test_only_the_newest_moment_is_drawn(page, live_server: str) -> None:
    open_map(page, live_server, "#z=8&c=56.4,10.8&t=2026-05-02T01:30")
    page.click("#tab-list")
    held = hold_first(page, "**/api/v1/zones?*")
    set_time(page, "2025-09-05T12:00")  # the Aalborg visitation zones are in force: held back
    set_time(page, "2025-08-01T12:00")  # before them
    page.wait_for_function("document.getElementById('status').textContent.includes('1. august 2025')")
    release(held)
    page.wait_for_timeout(800)
    status = page.locator("#status").inner_text()
    assert "1. august 2025" in status and "5. september" not in status
    assert "Visitationszone Aalborg Midtby" not in page.locator("#zone-table").inner_text()


def test_a_year_typed_digit_by_digit_is_not_sent(page, live_server: str) -> None:
    open_map(page, live_server, "#z=13&c=55.67900,12.57000&t=2026-06-01T12:00")
    drawn = page.locator("path.gs-zone").count()
    legend = page.locator("#legend").inner_text()
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url) if "/api/v1/" in request.url else None)
    for partial in ("0002-12-05T03:30", "0020-12-05T03:30", "0202-12-05T03:30"):
        page.evaluate("(v) => { const f = document.getElementById('time'); f.value = v;"
                      " f.dispatchEvent(new Event('input')); f.dispatchEvent(new Event('change')); }", partial)
    note = page.locator("#time-note")
    assert "firecifret årstal" in note.inner_text()  # said in Danish
    assert not [u for u in asked if "0002" in u or "0020" in u or "0202" in u]
    # the map and its legend still show the moment before, together
    assert page.locator("path.gs-zone").count() == drawn and page.locator("#legend").inner_text() == legend
    assert "1. juni 2026 kl. 12.00" in page.locator("#status").inner_text()
    page.evaluate("() => { const f = document.getElementById('time'); f.value = '2026-12-05T03:30';"
                  " f.dispatchEvent(new Event('change')); }")
    page.wait_for_function("document.getElementById('status').textContent.includes('5. december 2026 kl. 03.30')")
    assert note.is_hidden()


def test_only_the_newest_search_is_listed(page, live_server: str) -> None:
    open_map(page, live_server, "#z=13&c=55.67900,12.57000")
    held = hold_first(page, "**/api/v1/search?*")
    page.fill("#search", "Vester")
    for _ in range(100):  # past the typing pause: the request is made, and held (a busy machine may take a while)
        if held:
            break
        page.wait_for_timeout(50)
    assert held and "Vester" in held[0].request.url
    page.fill("#search", "Kødbyen")
    page.wait_for_selector("#search-results li[data-index]")
    release(held)
    page.wait_for_timeout(800)
    assert page.locator("#search-results li").first.inner_text().startswith("Kødbyen")
    assert "Vestergade" not in page.locator("#search-results").inner_text()
    # the combobox never points at an option that is gone
    page.keyboard.press("Escape")
    assert page.locator("#search").get_attribute("aria-activedescendant") is None


def test_legal_as_of_shows_only_the_newest_check(page, live_server: str, tokens: dict) -> None:
    page.goto(f"{live_server}/legal")
    page.fill("input[name=token]", tokens["legal"])
    page.click("form.login button")
    page.wait_for_selector("body[data-ready=true]")
    held = hold_first(page, "**/api/v1/lookup?*")
    page.fill("#asof-time", "2025-09-20T01:30")
    page.fill("#asof-place", "57.0480, 9.9200")  # Aalborg Midtby, in force then: held back
    page.wait_for_selector("#asof-results li[data-index]")
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    page.fill("#asof-time", "2025-10-20T14:00")
    page.locator("#asof-time").dispatch_event("change")
    page.wait_for_function("document.getElementById('asof-result').textContent.includes('20. oktober 2025 kl. 14.00')")
    release(held)
    page.wait_for_timeout(800)
    result = page.locator("#asof-result").inner_text()
    assert "20. oktober 2025 kl. 14.00" in result and "20. september" not in result


def test_the_map_follows_next_links_and_says_what_it_does_not_draw(page, live_server: str, client) -> None:
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url) if "/api/v1/zones?" in request.url else None)
    # pages of three zones: the map follows the `next` links to the end
    page.route("**/api/v1/zones?*",
               lambda route: route.continue_(url=route.request.url.replace("limit=1000", "limit=3")))
    open_map(page, live_server, "#z=7&c=56.2,11.0&t=2025-09-05T12:00")
    expected = client.get("/api/v1/zones", params={"limit": 1000, "at": "2025-09-05T12:00"}).json()["numberMatched"]
    assert expected > 6 and len(asked) >= expected // 3
    assert page.locator("path.gs-zone").count() == expected
    assert page.locator("#draw-note").is_hidden()
    page.unroute("**/api/v1/zones?*")

    # more zones in the view than the map draws (here: the server says so and stops giving pages): it is said
    def fewer(route) -> None:
        response = route.fetch()
        body = response.json()
        body["numberMatched"] += 7
        body["links"] = [link for link in body["links"] if link["rel"] != "next"]
        route.fulfill(response=response, json=body)

    page.route("**/api/v1/zones?*", fewer)
    page.fill("#time", "2025-09-06T12:00")
    page.locator("#time").dispatch_event("change")
    page.wait_for_function("!document.getElementById('draw-note').hidden")
    drawn = page.locator("path.gs-zone").count()
    assert page.locator("#draw-note").inner_text() == (
        f"Kortet tegner {drawn} af {drawn + 7} zoner i udsnittet; zoom ind for at se resten.")
