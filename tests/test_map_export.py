"""folium map exports: a self-contained HTML file that renders its zones with the network blocked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient


def render_offline(browser, path: Path, artifacts: Path, name: str) -> tuple[int, list[str], list[str]]:
    """Open the file with every non-file request blocked; count the zone shapes Leaflet drew."""
    context = browser.new_context(offline=True, viewport={"width": 1100, "height": 800})
    attempted: list[str] = []

    def route(route_obj) -> None:
        if route_obj.request.url.startswith("file:"):
            route_obj.continue_()
        else:
            attempted.append(route_obj.request.url)
            route_obj.abort()

    context.route("**/*", route)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(path.as_uri())
    page.wait_for_selector("path.gs-zone", state="attached")
    shapes = page.locator("path.gs-zone").count()
    page.screenshot(path=str(artifacts / f"{name}.png"))
    context.close()
    return shapes, errors, attempted


@pytest.mark.browser
def test_exported_map_renders_offline(browser, client: TestClient, tmp_path: Path, artifacts: Path) -> None:
    params = {"kind": "nattelivszone,sub_omraade", "at": "2026-06-01T12:00"}
    response = client.get("/api/v1/maps/export.html", params=params)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    document = response.text
    assert "<script src=" not in document and 'rel="stylesheet" href' not in document  # everything inlined
    path = tmp_path / "zonekort.html"
    path.write_text(document, encoding="utf-8")
    expected = client.get("/api/v1/zones", params={**params, "limit": 1000}).json()["numberMatched"]
    shapes, errors, attempted = render_offline(browser, path, artifacts, "export-nightlife-sub")
    assert shapes == expected > 0
    assert errors == [] and attempted == []
    # the Danish period of each popup (folium writes the dash as \u2013)
    assert "1. juli 2025 kl. 00.00 \\u2013 1. juli 2027 kl. 00.00" in document


@pytest.mark.browser
def test_cli_exports_a_decision_annex(browser, db_name: str, client: TestClient, tmp_path: Path,
                                     artifacts: Path) -> None:
    zone_id = client.get("/api/v1/zones", params={"q": "Kødbyen"}).json()["features"][0]["id"]
    path = tmp_path / "annex.html"
    env = {**os.environ, "GEOSERVICE_DB_NAME": db_name}
    result = subprocess.run([sys.executable, "-m", "geoservice.cli", "map", "export", "--zone", str(zone_id),
                             "-o", str(path)], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Zonekort – Nattelivszone Kødbyen" in path.read_text(encoding="utf-8")
    shapes, errors, attempted = render_offline(browser, path, artifacts, "export-annex")
    assert shapes == 1 and errors == [] and attempted == []


def test_public_export_never_holds_hidden_zones(client: TestClient, tokens: dict) -> None:
    response = client.get("/api/v1/maps/export.html", params={"at": "2026-11-15T12:00"})
    assert response.status_code == 200
    document = response.text
    assert "Nattelivszone Gothersgade" in document  # the public zones are there
    staff = client.get("/api/v1/maps/export.html", params={"at": "2026-11-15T12:00"},
                       headers={"Authorization": f"Bearer {tokens['legal']}"}).text
    assert "INTERN: Visitationszone Sydhavnen" in staff  # and the same export for legal staff has the hidden ones
    for secret in ("INTERN: Visitationszone Sydhavnen", "Opholdsforbud", "Nyhavn (udkast)"):
        assert secret not in document
    assert client.get("/api/v1/maps/export.html", params={"kind": "bogus"}).status_code == 422


def test_exported_period_is_the_period_as_it_stands() -> None:
    from geoservice.maps import _continuation_text, _period_text

    revoked = {"valid_from": "2026-01-01T00:00:00+01:00", "valid_to": "2027-01-01T00:00:00+01:00",
               "ended_at": "2026-06-01T00:00:00+02:00", "designation_end": None}
    assert _period_text(revoked) == "1. januar 2026 kl. 00.00 – 1. juni 2026 kl. 00.00"
    extended = {**revoked, "ended_at": None, "designation_end": "2028-01-01T00:00:00+01:00", "status": "in_force"}
    # the version's own period next to its decision; the extension by a later decision is a line of its own
    assert _period_text(extended) == "1. januar 2026 kl. 00.00 – 1. januar 2027 kl. 00.00"
    assert _continuation_text(extended) == "Forlænget til 1. januar 2028 kl. 00.00"
    assert _continuation_text({**extended, "designation_end": "2027-01-01T00:00:00+01:00"}) is None
    assert _continuation_text({**revoked, "ended_reason": "revoked"}).startswith("Ophævet før tid")


def annex_page(browser, document: str, tmp_path: Path):
    path = tmp_path / "annex.html"
    path.write_text(document, encoding="utf-8")
    context = browser.new_context(offline=True, viewport={"width": 1100, "height": 800})
    page = context.new_page()
    page.goto(path.as_uri())
    page.wait_for_selector("path.gs-zone", state="attached")
    return context, page


@pytest.mark.browser
def test_annex_popup_legend_and_scale(browser, client: TestClient, tokens: dict, tmp_path: Path) -> None:
    zone_id = client.get("/api/v1/zones", params={"q": "Aalborg Midtby", "at": "2025-09-05T12:00"}).json()[
        "features"][0]["id"]
    document = client.get("/api/v1/maps/export.html", params={"zone": zone_id, "at": "2025-09-05T12:00"}).text
    context, page = annex_page(browser, document, tmp_path)
    page.locator("path.gs-zone").first.dispatch_event("click")
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    # the first decision with its own period, then the extension on a line of its own
    assert "DEMO NJ-2025-VZ-01\n" in text
    assert ("1. september 2025 kl. 16.00 – 15. september 2025 kl. 16.00\n"
            "Forlænget til 29. september 2025 kl. 16.00") in text
    assert page.locator("#gs-shown").inner_text() == "Zonen 5. september 2025 kl. 12.00: i kraft (version 1)"
    scale = page.locator(".leaflet-control-scale-line")
    assert scale.count() == 1 and scale.inner_text().endswith("m")  # metres, no miles or feet
    context.close()
    # the same annex after the zone ended says so instead of counting it as a zone in force
    later = client.get("/api/v1/maps/export.html", params={"zone": zone_id, "at": "2025-12-01T12:00"},
                       headers={"Authorization": f"Bearer {tokens['legal']}"}).text
    context, page = annex_page(browser, later, tmp_path)
    assert page.locator("#gs-shown").inner_text().startswith("Zonen 1. december 2025 kl. 12.00: udløbet")
    context.close()


def test_cli_refuses_an_unknown_kind(db_name: str, tmp_path: Path) -> None:
    path = tmp_path / "map.html"
    env = {**os.environ, "GEOSERVICE_DB_NAME": db_name}
    result = subprocess.run([sys.executable, "-m", "geoservice.cli", "map", "export", "--kind", "bogus",
                             "-o", str(path)], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "unknown zone kind(s) bogus" in result.stderr
    assert not path.exists()
