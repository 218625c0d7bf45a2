"""A query parameter a route does not take is a 400 naming it, on every route (OGC API – Features Part 1 asks it of
/ogc; /api/v1 follows the same rule): `datetime`, `filter` or `crs` on /api/v1/zones used to be ignored, and the
answer then was today's zones in EPSG:4326, not what was asked."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import bearer


@pytest.mark.parametrize(("path", "params"), [
    ("/api/v1/zones", {"datetime": "2025-09-01T16:00:00+02:00"}),
    ("/api/v1/zones", {"filter": "kind = 'visitationszone'"}),
    ("/api/v1/zones", {"crs": "EPSG:25832"}),
    ("/api/v1/zones", {"limit": "10", "sortby": "name"}),
    ("/api/v1/lookup", {"lat": "55.68", "lon": "12.58", "radius": "100"}),
    ("/api/v1/kinds", {"lang": "en"}),
    ("/api/v1/reference-areas", {"type": "kommune", "simplify": "50", "bbox": "12,55,13,56"}),
    ("/ogc/collections/zones/items", {"sort": "name"}),
])
def test_unknown_query_parameters_are_refused_by_name(client: TestClient, path: str, params: dict) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 400, response.text
    problem = response.json()
    known = {"limit", "lat", "lon", "type", "simplify"}
    named = [e["field"] for e in problem["errors"]]
    assert named and not set(named) & known and set(named) <= set(params)
    assert "unknown" in problem["detail"]


def test_known_parameters_still_answer(client: TestClient, tokens: dict) -> None:
    assert client.get("/api/v1/zones", params={"limit": 5, "at": "2025-09-02T12:00"}).status_code == 200
    assert client.get("/api/v1/lookup", params={"lat": 55.68, "lon": 12.58}).status_code == 200
    assert client.get("/api/v1/validity/report", params={"format": "json"},
                      headers=bearer(tokens["legal"])).status_code == 200
