"""The analyst map at /analyst in real Chromium: the shared staff login frame, a refusal without a valid staff token
(and no data drawn), the choropleth with its classed legend, the survey layer with its confidence, the heat layer;
and redraws that overtake each other never leave a stale layer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest

from geoservice.settings import Settings
from tests.conftest import serving

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_server(settings: Settings, make_db: Callable[[], str]) -> Iterator[str]:
    """A server on a clone holding only the demo data: the page picks the year of the latest incident, which the
    shared test database moves to today as other tests import recent incidents."""
    with serving(settings, make_db()) as base:
        yield base


def overlay_requests(page) -> list[str]:
    return [u for u in page.watch.requests if "/api/v1/overlays" in u]


def login(page, token: str) -> None:
    page.fill("form.login input[name=token]", token)
    page.click("form.login button")


def test_without_a_token_the_page_refuses_and_draws_nothing(page, demo_server: str) -> None:
    page.goto(demo_server + "/analyst")
    page.wait_for_selector("body[data-ready=refused]")
    assert "Adgang nægtet" in page.locator("#auth").inner_text()
    assert "kræver rollen" in page.locator("#refusal").inner_text()
    assert page.locator("form.login input[name=token]").is_visible()
    assert page.locator("#app").is_hidden()
    assert overlay_requests(page) == []
    assert page.locator(".leaflet-overlay-pane path").count() == 0


@pytest.mark.parametrize(("who", "text"), [("bogus", "ikke godkendt"), ("officer", "kræver rollen")])
def test_a_wrong_token_is_refused(page, demo_server: str, tokens: dict, who: str, text: str) -> None:
    page.goto(demo_server + "/analyst")
    page.wait_for_selector("body[data-ready=refused]")
    login(page, tokens.get(who, "gs_not-a-real-token"))
    page.wait_for_function("(t) => document.querySelector('form.login .message').textContent.includes(t)", arg=text)
    assert page.locator("#app").is_hidden()
    assert overlay_requests(page) == []
    assert page.evaluate("sessionStorage.getItem('geoservice.token')") is None


def test_analyst_sees_choropleth_survey_and_heat(page, demo_server: str, tokens: dict, settings: Settings) -> None:
    page.goto(demo_server + "/analyst")
    page.wait_for_selector("body[data-ready=refused]")
    login(page, tokens["analyst"])
    page.wait_for_selector("body[data-ready=true]")
    assert page.evaluate("sessionStorage.getItem('geoservice.token')") == tokens["analyst"]
    assert "test-analyst (analytiker)" in page.locator("#auth").inner_text()  # the role in Danish
    # 99 kommuner (with Christiansø) coloured, on top of the reference base layers
    shapes = page.locator(".leaflet-overlay-pane path.leaflet-interactive")
    assert shapes.count() == 99
    assert page.locator("#legend li").count() >= 4
    assert "i alt" in page.locator("#status").inner_text()
    # every API call carried the token
    counts = [u for u in overlay_requests(page) if "/counts" in u]
    # The twelve months up to the latest incident: the demo's rolling recent slice (the days before the load)
    # ends yesterday, so the window runs from a year ago today to the end of yesterday.
    today = settings.demo_today  # the day the demo was loaded for (conftest.py), not the clock's: midnight may pass
    assert today is not None
    start = today.replace(year=today.year - 1) if (today.month, today.day) != (2, 29) else dt.date(today.year - 1, 3, 1)
    assert counts and f"from={start.isoformat()}" in counts[0] and f"to={today.isoformat()}" in counts[0], counts

    page.evaluate("document.body.dataset.ready = 'busy'")
    page.check("input[name=layer][value=survey]")
    page.wait_for_selector("body[data-ready=true]")
    assert "Tryghedsindeks 2016" in page.locator("#status").inner_text()
    page.locator(".leaflet-overlay-pane path.leaflet-interactive").first.dispatch_event("click")
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert "95 %-interval" in popup.inner_text()
    assert "konfidensinterval" in page.locator("#legend").inner_text()

    page.evaluate("document.body.dataset.ready = 'busy'")
    page.check("input[name=layer][value=counts]")
    page.wait_for_selector("body[data-ready=true]")
    page.evaluate("document.body.dataset.ready = 'busy'")
    page.check("#heat")
    page.wait_for_selector("body[data-ready=true]")
    assert page.locator("canvas.leaflet-heatmap-layer").count() == 1
    assert any("by=grid100m" in u for u in overlay_requests(page))

    page.evaluate("document.body.dataset.ready = 'busy'")
    page.check("input[name=layer][value=straf11]")
    page.wait_for_selector("body[data-ready=true]")
    assert "STRAF11" in page.locator("#status").inner_text()
    assert page.watch.console_errors == []
    assert page.watch.blocked == [], "the page tried to reach the internet"


def test_a_late_answer_never_leaves_a_stale_layer(page, demo_server: str, tokens: dict) -> None:
    """Two redraws overtake each other: the first (by politikreds) is answered late, after the second (by kommune)
    has drawn. Only the latest may draw; each change sends one request (listeners attached once)."""
    page.goto(demo_server + "/analyst")
    page.wait_for_selector("body[data-ready=refused]")
    login(page, tokens["analyst"])
    page.wait_for_selector("body[data-ready=true]")
    shapes = page.locator(".leaflet-overlay-pane path.leaflet-interactive")
    assert shapes.count() == 99
    # Hold back every answer by politikreds for a while (the page's fetch, as a slow network would).
    page.evaluate("""() => {
        const original = window.fetch;
        window.fetch = (url, options) => {
            const answer = original(url, options);
            if (!String(url).includes("by=politikreds")) return answer;
            window.slowAnswered = false;
            return answer.then((r) => new Promise((resolve) => setTimeout(() => {
                window.slowAnswered = true;
                resolve(r);
            }, 1200)));
        };
    }""")
    before = len([u for u in page.watch.requests if "/overlays/counts" in u])
    page.select_option("#by", "politikreds")
    page.select_option("#by", "kommune")
    page.wait_for_function("window.slowAnswered === true")
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_timeout(300)  # and a stale answer would draw now
    assert shapes.count() == 99, "the late politikreds answer was drawn over the kommuner"
    assert page.locator("#status").inner_text().startswith("99 områder")
    assert len([u for u in page.watch.requests if "/overlays/counts" in u]) == before + 2
    assert page.watch.console_errors == []
