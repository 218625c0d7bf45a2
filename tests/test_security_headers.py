"""Browser hardening: a strict Content-Security-Policy on every page (Chromium reports no violation on any of
them), the folium export's own policy with its data escaped, nosniff, Referrer-Policy, no framing, no caching
of token answers, and no server banner."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from starlette.responses import PlainTextResponse
from starlette.testclient import TestClient as BareClient

from geoservice.api.hardening import Hardening
from geoservice.settings import Settings
from tests.conftest import bearer, serving
from tests.helpers import offset, square, zone_feature

PAGES = ["/", "/officer", "/analyst", "/legal"]
ALWAYS = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "x-frame-options": "DENY"}


def directives(policy: str) -> dict[str, str]:
    return {part.split()[0]: " ".join(part.split()[1:]) for part in policy.split("; ")}


def test_pages_carry_a_strict_policy(client: TestClient) -> None:
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200
        for name, value in ALWAYS.items():
            assert response.headers[name] == value, (path, name)
        policy = directives(response.headers["content-security-policy"])
        assert policy["default-src"] == "'self'" and policy["script-src"] == "'self'", path
        assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'", path
        assert policy["frame-ancestors"] == "'none'" and policy["form-action"] == "'self'", path
        assert "unsafe-inline" not in policy["script-src"] and "unsafe-eval" not in response.headers[
            "content-security-policy"], path


def test_swagger_ui_runs_its_start_script_by_hash_only(client: TestClient) -> None:
    response = client.get("/docs")
    policy = directives(response.headers["content-security-policy"])
    sources = policy["script-src"].split()
    assert sources[0] == "'self'" and len(sources) == 2 and sources[1].startswith("'sha256-")
    assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'"


def test_api_answers_carry_the_headers_and_token_answers_are_never_cached(client: TestClient, tokens: dict) -> None:
    public = client.get("/api/v1/zones", params={"limit": 1})
    for name, value in ALWAYS.items():
        assert public.headers[name] == value
    # the public answer's caching is the public cache's (geoservice.api.public_cache): short, revalidated by ETag
    assert public.headers["cache-control"].startswith("public, max-age=") and public.headers["etag"]
    assert "Authorization" in public.headers["vary"]
    assert "content-security-policy" not in public.headers  # not HTML
    for path in ("/api/v1/zones?limit=1", "/api/v1/me", "/api/v1/validity/report?format=csv", "/api/v1/nowhere",
                 "/api/v1/zones/1", "/"):
        for token in (tokens["legal"], "gs_not-a-token"):
            response = client.get(path, headers=bearer(token))
            assert response.headers["cache-control"] == "private, no-store", (path, response.status_code)
            assert "Authorization" in [v.strip() for v in response.headers["vary"].split(",")], path
            for name, value in ALWAYS.items():
                assert response.headers[name] == value, (path, name)
    problem = client.get("/api/v1/zones/999999")
    assert problem.headers["x-content-type-options"] == "nosniff"


def test_the_layer_keeps_a_public_cache_policy_and_forces_no_store_for_tokens(settings: Settings) -> None:
    async def app(scope, receive, send) -> None:
        response = PlainTextResponse("ok", headers={"Cache-Control": "public, max-age=60", "Vary": "Accept-Encoding",
                                                    "Server": "something"})
        await response(scope, receive, send)

    client = BareClient(Hardening(app, settings))
    public = client.get("/api/v1/x")
    assert public.headers["cache-control"] == "public, max-age=60"
    assert public.headers["vary"] == "Accept-Encoding, Authorization" and "server" not in public.headers
    staff = client.get("/api/v1/x", headers={"Authorization": "Bearer x"})
    assert staff.headers["cache-control"] == "private, no-store"
    assert staff.headers.get_list("cache-control") == ["private, no-store"]
    assert staff.headers["vary"] == "Accept-Encoding, Authorization"


def test_the_map_export_has_its_own_policy(client: TestClient) -> None:
    response = client.get("/api/v1/maps/export.html", params={"kind": "nattelivszone"})
    policy = directives(response.headers["content-security-policy"])
    assert policy["default-src"] == "'none'" and "connect-src" not in policy  # no request anywhere
    assert all(s.startswith("'sha256-") for s in policy["script-src"].split())
    assert policy["img-src"] == "data:" and policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy["script-src"]
    # the file carries the policy too, for when it is opened from disk
    assert '<meta http-equiv="Content-Security-Policy"' in response.text


@pytest.mark.slow
def test_the_served_cli_names_no_server(settings: Settings, make_db) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "GEOSERVICE_DB_NAME": make_db()}
    server = subprocess.Popen([sys.executable, "-m", "geoservice.cli", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/kinds", timeout=2) as response:
                    headers = {k.lower() for k in response.headers}
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        assert "server" not in headers and "x-content-type-options" in headers
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_the_test_server_names_no_server(live_server: str) -> None:
    with urllib.request.urlopen(live_server + "/") as response:
        assert response.headers.get("server") is None


# --- in Chromium: no CSP violation on any page ---------------------------------------------------------------

WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(
    e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sourceFile || '') + ':' + e.lineNumber));
window.__xss = window.__xss || [];
"""


def violations(page) -> list[str]:
    reported = page.evaluate("window.__csp || []")
    console = [m for m in page.watch.console_errors if "Content Security Policy" in m or "Refused to" in m]
    return reported + console


def login(page, token: str) -> None:
    page.fill("form.login input[name=token]", token)
    page.click("form.login button")
    page.wait_for_selector("body[data-ready=true]", timeout=60_000)


@pytest.mark.browser
@pytest.mark.parametrize(("path", "who"), [("/", None), ("/officer", "officer"), ("/analyst", "analyst"),
                                           ("/legal", "legal"), ("/docs", None)],
                         ids=["public", "officer", "analyst", "legal", "docs"])
def test_no_page_violates_its_policy(page, live_server: str, tokens: dict, path: str, who: str | None) -> None:
    page.add_init_script(WATCH_CSP)
    page.goto(live_server + path)
    if path == "/docs":
        page.wait_for_selector(".swagger-ui .opblock-tag", timeout=30_000)
        page.locator(".opblock-summary").first.click()  # an operation opens (rendered by the bundle)
        page.wait_for_selector(".opblock-body")
    elif who:
        page.wait_for_selector("form.login")
        login(page, tokens[who])
    else:
        page.wait_for_selector("body[data-ready=true]")
        page.locator("#tab-list").click()
    page.wait_for_timeout(500)
    assert violations(page) == []
    assert page.watch.blocked == []


XSS = '<img src=x onerror="window.__xss.push(1)"><script>window.__xss.push(2)</script>'


@pytest.fixture(scope="module")
def own_server(settings: Settings, own_db: str) -> Iterator[str]:
    with serving(settings, own_db) as base:
        yield base


@pytest.fixture(scope="module")
def hostile_zone(own_client: TestClient, tokens: dict) -> Iterator[int]:
    """A published zone whose every text carries a script (on a clone: the public map tests must not see it)."""
    response = own_client.post("/api/v1/zones", headers=bearer(tokens["admin"]), json=zone_feature(
        square(*offset(12.5795, 55.6815, 9000, -9000), 400), name="Zone " + XSS + "</script><b>x",
        decision_ref="J.nr. " + XSS, legal_basis="§ 6 b " + XSS, reason=XSS, description=XSS,
        decided_by="Politiet " + XSS, valid_from="2026-01-01T00:00", valid_to="2027-01-01T00:00"))
    assert response.status_code == 201, response.text
    yield response.json()["id"]


@pytest.mark.browser
def test_the_map_export_runs_no_script_from_data(page, own_server: str, hostile_zone: int) -> None:
    page.add_init_script(WATCH_CSP)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{own_server}/api/v1/maps/export.html?zone={hostile_zone}&at=2026-06-01T12:00")
    page.wait_for_selector("path.gs-zone", state="attached")
    shape = page.locator("path.gs-zone").first
    shape.hover(force=True)  # the tooltip
    page.wait_for_selector(".leaflet-tooltip")
    assert "<img" in page.locator(".leaflet-tooltip").inner_text()  # shown as text
    shape.click(force=True)  # the popup
    page.wait_for_selector(".leaflet-popup-content")
    popup = page.locator(".leaflet-popup-content").inner_text()
    assert "J.nr. <img" in popup and "<script>" in popup
    page.wait_for_timeout(300)
    assert page.evaluate("window.__xss") == [] and dialogs == []
    assert page.locator(".leaflet-popup-content img, .leaflet-tooltip img, #gs-legend img").count() == 0
    assert violations(page) == []
