"""The first public map at /: real Leaflet in real Chromium, only local requests, no hidden zones."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.browser


def test_public_map_draws_the_zones_in_force_with_danish_popups(page, live_server: str, client: TestClient) -> None:
    expected = client.get("/api/v1/zones", params={"limit": 1000}).json()["numberMatched"]
    page.goto(live_server + "/")
    page.wait_for_selector("body[data-ready=true]")
    shapes = page.locator(".leaflet-overlay-pane path.leaflet-interactive")
    assert shapes.count() == expected > 0
    assert page.locator("#legend li").count() >= 1
    # Leaflet itself comes from our server
    assert page.evaluate("typeof L.version") == "string"
    shapes.first.dispatch_event("click")
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    assert " kl. " in text and " – " in text  # "1. juli 2025 kl. 00.00 – 1. juli 2027 kl. 00.00"
    assert "Illustrativ afgrænsning" in text
    assert page.watch.console_errors == []
    assert page.watch.blocked == [], "the page tried to reach the internet"


def test_internal_zones_never_reach_the_public_page(page, live_server: str) -> None:
    page.goto(live_server + "/")
    page.wait_for_selector("body[data-ready=true]")
    everything = b"".join(body for _, body in page.watch.bodies)
    for secret in ("INTERN: Visitationszone Sydhavnen", "Opholdsforbud", "Nyhavn (udkast)"):
        assert secret.encode() not in everything
    assert all(url.startswith(live_server) for url in page.watch.requests)
