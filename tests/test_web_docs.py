"""The OpenAPI documentation renders from local assets only."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.browser


def test_swagger_ui_is_served_locally(page, live_server: str) -> None:
    page.goto(live_server + "/docs")
    page.wait_for_selector(".swagger-ui .opblock-tag", timeout=30_000)
    assert "/api/v1/lookup" in page.content()
    assert page.watch.blocked == [], "the docs page tried to reach the internet"
    assert page.watch.console_errors == []


def test_openapi_names_every_endpoint(client: TestClient) -> None:
    paths = set(client.get("/openapi.json").json()["paths"])
    assert {"/api/v1/zones", "/api/v1/zones/{zone_id}", "/api/v1/lookup", "/api/v1/zones/{zone_id}/extend",
            "/api/v1/zones/{zone_id}/history", "/api/v1/validity/report", "/api/v1/check/track",
            "/api/v1/search", "/api/v1/maps/export.html"} <= paths


def test_page_routes_take_no_parameters(client: TestClient) -> None:
    """A page route once took its file as a default argument, which FastAPI exposed as ?file=."""
    for path in ("/", "/officer", "/legal", "/analyst"):
        response = client.get(path, params={"file": "/etc/passwd"})
        assert response.status_code == 200
        assert "root:" not in response.text and "<html" in response.text.lower()
