"""The analyst map at /analyst in real Chromium: the token login, a refusal without a valid staff token (and no
data drawn), the choropleth with its classed legend, the survey layer with its confidence, the heat layer."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def overlay_requests(page) -> list[str]:
    return [u for u in page.watch.requests if "/api/v1/overlays/" in u]


def test_without_a_token_the_page_refuses_and_draws_nothing(page, live_server: str) -> None:
    page.goto(live_server + "/analyst")
    page.wait_for_selector("body[data-ready=refused]")
    assert "logge ind" in page.locator("#login-message").inner_text()
    assert page.locator("#app").is_hidden()
    assert overlay_requests(page) == []
    assert page.locator(".leaflet-overlay-pane path").count() == 0


@pytest.mark.parametrize(("who", "text"), [("bogus", "Adgang nægtet"), ("officer", "rollen officer")])
def test_a_wrong_token_is_refused(page, live_server: str, tokens: dict, who: str, text: str) -> None:
    page.goto(live_server + "/analyst")
    page.wait_for_selector("body[data-ready=refused]")
    page.fill("#token", tokens.get(who, "gs_not-a-real-token"))
    page.click("#login-form button")
    page.wait_for_function("(t) => document.querySelector('#login-message').textContent.includes(t)", arg=text)
    assert page.locator("#app").is_hidden()
    assert [u for u in overlay_requests(page) if "/counts" in u] == []


def test_analyst_sees_choropleth_survey_and_heat(page, live_server: str, tokens: dict) -> None:
    page.goto(live_server + "/analyst")
    page.wait_for_selector("body[data-ready=refused]")
    page.fill("#token", tokens["analyst"])
    page.click("#login-form button")
    page.wait_for_selector("body[data-ready=true]")
    assert page.evaluate("sessionStorage.getItem('geoservice.token')") == tokens["analyst"]
    # 99 kommuner (with Christiansø) coloured, on top of the reference base layers
    shapes = page.locator(".leaflet-overlay-pane path.leaflet-interactive")
    assert shapes.count() == 99
    assert page.locator("#legend li").count() >= 4
    assert "i alt" in page.locator("#status").inner_text()
    # every API call carried the token
    counts = [u for u in overlay_requests(page) if "/counts" in u]
    assert counts and "from=2025-01-01" in counts[0] and "to=2026-01-01" in counts[0]

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
