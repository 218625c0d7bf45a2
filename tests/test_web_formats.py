"""Danish that reads right, and the staff maps explained: dates, numbers and areas the Danish way, singular and
plural, "8 af 14 zoner vist", API errors in Danish, the officer map's legend on screen and on paper, the analyst's
survey and heat layers readable, and the legal page on a phone."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

import pytest

from geoservice.settings import Settings
from tests.conftest import serving

pytestmark = pytest.mark.browser

ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


@pytest.fixture(scope="module")
def demo_server(settings: Settings, make_db: Callable[[], str]) -> Iterator[str]:
    with serving(settings, make_db()) as base:
        yield base


def login(page, token: str) -> None:
    page.fill("input[name=token]", token)
    page.click("form.login button")
    page.wait_for_selector("body[data-ready=true]")


def test_officer_sheet_in_danish_formats_with_a_legend_on_screen_and_paper(page, demo_server: str,
                                                                          tokens: dict) -> None:
    page.goto(f"{demo_server}/officer#sector=KBH-AMAGER-22")
    login(page, tokens["officer"])
    page.wait_for_selector("#open-reports li")
    meta = page.locator("#sector-meta").inner_text()
    assert re.search(r"\b\d+,\d{1,2} km²", meta), meta  # "3,49 km²", not "3.49 km²"
    sheet = page.locator("#sheet").inner_text()
    assert not ISO_DATE.search(sheet), ISO_DATE.search(sheet)  # "17. november 2026", never "2026-11-17"
    assert re.search(r"\d{1,2}\. (januar|februar|marts|april|maj|juni|juli|august|september|oktober|november|"
                     r"december) \d{4}: ", page.locator("#open-reports").inner_text())
    summary = page.locator("#recent-summary").inner_text()
    assert re.match(r"^(1 hændelse|\d[\d.]* hændelser) .* til og med .*; (1 åben utryghedsmelding|\d+ åbne "
                    r"utryghedsmeldinger)$", summary), summary
    legend = page.locator("#map-legend").inner_text()
    for text in ("Sektorens grænse", "Nabosektorer", "Hændelse", "Åben utryghedsmelding"):
        assert text in legend
    assert page.locator("#map-legend svg").count() >= 4
    page.emulate_media(media="print")
    assert page.locator("#map-legend").is_visible()  # on the printed sheet too
    page.emulate_media(media="screen")


def test_public_counts_say_how_many_of_how_many_and_errors_in_danish(page, demo_server: str) -> None:
    page.goto(f"{demo_server}/#z=12&c=55.67900,12.57000&t=2026-06-01T12:00")
    page.wait_for_selector("body[data-ready=true]")
    total = int(re.search(r"(\d+) zoner i kraft", page.locator("#status").inner_text()).group(1))
    page.uncheck("#layer-nattelivszone")
    status = page.locator("#status").inner_text()
    shown = re.search(r"(\d+) af (\d+) zoner vist", status)
    assert shown and int(shown.group(2)) == total and int(shown.group(1)) < total, status
    # one zone: the singular
    page.goto(f"{demo_server}/#z=14&c=57.04800,9.92000&t=2025-09-02T12:00&hide=nattelivszone")
    page.wait_for_selector("body[data-ready=true]")
    page.click("#tab-list")
    caption = page.locator("#zone-table caption").inner_text()
    assert re.fullmatch(r"(1 zone i kraft|\d+ zoner i kraft)", caption) and caption != "1 zoner i kraft"
    # an API error in English is said in Danish on the Danish page
    page.route("**/api/v1/lookup?*", lambda route: route.fulfill(status=422, content_type="application/problem+json",
               body=json.dumps({"title": "Invalid input", "status": 422, "detail": "the point lies outside Denmark",
                                "errors": [{"field": "lat", "reason": "outside Denmark"}]})))
    page.click("#tab-here")
    page.click("#lookup-centre")
    page.wait_for_selector("#here .error")
    error = page.locator("#here .error").inner_text()
    assert error == "Fejl: Ugyldig værdi i feltet «lat»." and "outside" not in error


def test_legal_page_on_a_phone_shows_every_fact_in_text(page, demo_server: str, tokens: dict) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{demo_server}/legal")
    login(page, tokens["legal"])
    page.fill("#report-at", "2026-11-22T12:00")
    page.locator("#report-at").dispatch_event("change")
    page.wait_for_selector("#report-table[data-report-at='2026-11-22T12:00:00+01:00']")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    row = page.locator("#report-table tbody tr", has_text="Nattelivszone Vestergade").first
    box = row.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390  # a card, not columns cut off
    days = row.locator("td[data-days]")
    assert days.inner_text() == "23 dage"
    assert days.evaluate("(td) => getComputedStyle(td, '::before').content") == '"Dage: "'  # each fact labelled
    page.locator("#report-table a", has_text="Visitationszone Aalborg Øst").click()
    page.wait_for_selector("ol.versions li")
    versions = page.locator("ol.versions li").all_inner_texts()
    period = re.compile(r"\d{4}( kl\. \d\d\.\d\d)? (–|til og med) \d")
    assert len(versions) == 3 and all(period.search(v) for v in versions), versions
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_analyst_survey_colour_is_the_share_only_and_heat_reads_over_it(page, demo_server: str,
                                                                         tokens: dict) -> None:
    page.goto(f"{demo_server}/analyst")
    login(page, tokens["analyst"])
    page.check("input[name=layer][value=survey]")
    page.wait_for_function("document.getElementById('status').textContent.startsWith('Tryghedsindeks')")
    page.select_option("#survey-by", "kommune")
    page.wait_for_function("document.getElementById('status').textContent.includes('98 områder')"
                           " || document.getElementById('status').textContent.includes('99 områder')")
    page.wait_for_selector("body[data-ready=true]")
    opacities = page.locator(".leaflet-overlay-pane path.leaflet-interactive").evaluate_all(
        "(paths) => [...new Set(paths.map((p) => p.getAttribute('fill-opacity')))]")
    # the width of the interval is not drawn as lightness (which reads as a lower share): one opacity for the
    # classed areas, one for those with too few answers
    assert len(opacities) <= 2, opacities
    legend = page.locator("#legend").inner_text()
    assert "Færre end 30 besvarelser" in legend and "Stiplet kant" in legend
    # the small kommuner do not stretch the classes: the lowest class starts at a share of a kommune with n ≥ 30
    data = page.evaluate("""async () => (await GS.api('/api/v1/overlays/survey?by=kommune&year=2016')).areas""")
    counted = [a["unsafe"]["share"] for a in data if isinstance(a["n"], int) and a["n"] >= 30 and a["unsafe"]]
    low = float(legend.split("–")[0].strip().replace(" %", "").replace(",", ".")) / 100
    assert abs(low - min(counted)) < 0.0006, (low, min(counted))
    page.check("#heat")
    page.wait_for_selector("canvas.leaflet-heatmap-layer")
    page.wait_for_selector("body[data-ready=true]")
    faint = page.locator(".leaflet-overlay-pane path.leaflet-interactive").evaluate_all(
        "(paths) => paths.filter((p) => p.getAttribute('fill-opacity') === '0.75').length")
    assert faint == 0  # under the heat layer the areas are drawn faintly
