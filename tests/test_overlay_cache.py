"""The public tables (counts and survey) are computed once per quarter or year and cached until anything they
depend on changes: their rows, and the zones (visibility, name, boundary, period). On a database of its own,
because it changes demo zones."""

from __future__ import annotations

import psycopg
import pytest
from fastapi.testclient import TestClient

from geoservice.overlays import aggregates, survey
from tests.conftest import bearer

PERIOD = "2025Q3"




@pytest.fixture
def builds(monkeypatch) -> dict[str, int]:
    """How often each public table was computed (rather than served from the cache)."""
    calls = {"counts": 0, "survey": 0}
    assemble, withheld = aggregates._assemble_published, survey.withheld_cells

    def counted_assemble(*args, **kwargs):
        calls["counts"] += 1
        return assemble(*args, **kwargs)

    def counted_withheld(*args, **kwargs):
        calls["survey"] += 1
        return withheld(*args, **kwargs)

    monkeypatch.setattr(aggregates, "_assemble_published", counted_assemble)
    monkeypatch.setattr(survey, "withheld_cells", counted_withheld)
    return calls


def zone_id(conn: psycopg.Connection, name: str) -> str:
    return str(conn.execute("SELECT id FROM zone WHERE name = %s", (name,)).fetchone()[0])


def public_zones(client: TestClient) -> dict[str, dict]:
    response = client.get("/api/v1/overlays/counts", params={"by": "zone", "period": PERIOD})
    assert response.status_code == 200, response.text
    return {a["key"]: a for a in response.json()["areas"]}


def patch_zone(client: TestClient, tokens: dict, zid: str, body: dict) -> None:
    response = client.patch(f"/api/v1/zones/{zid}", json=body, headers=bearer(tokens["admin"]))
    assert response.status_code == 200, response.text


def test_a_zone_made_internal_leaves_the_public_table_at_once(own_client: TestClient, own_conn, tokens: dict,
                                                              builds: dict) -> None:
    zid = zone_id(own_conn, "Visitationszone Vejgaard")
    assert zid in public_zones(own_client)
    assert zid in public_zones(own_client)
    assert builds["counts"] == 1  # the second request was served from the cache
    patch_zone(own_client, tokens, zid, {"visibility": "internal"})
    assert zid not in public_zones(own_client)
    assert builds["counts"] == 2
    # Staff still count it.
    staff = own_client.get("/api/v1/overlays/counts", params={"by": "zone", "period": PERIOD},
                           headers=bearer(tokens["analyst"])).json()
    assert zid in {a["key"] for a in staff["areas"]}


def test_a_renamed_zone_is_renamed_in_the_public_table(own_client: TestClient, own_conn, tokens: dict) -> None:
    zid = zone_id(own_conn, "Visitationszone Aalborg Øst")
    assert public_zones(own_client)[zid]["name"] == "Visitationszone Aalborg Øst"
    patch_zone(own_client, tokens, zid, {"name": "Visitationszone Aalborg Øst (omdøbt)"})
    assert public_zones(own_client)[zid]["name"] == "Visitationszone Aalborg Øst (omdøbt)"


def test_the_public_survey_table_is_cached_and_follows_zone_changes(own_client: TestClient, own_conn, tokens: dict,
                                                                    builds: dict) -> None:
    def public_survey() -> dict[str, dict]:
        response = own_client.get("/api/v1/overlays/survey", params={"by": "zone", "year": 2016})
        assert response.status_code == 200, response.text
        return {a["key"]: a for a in response.json()["areas"]}

    zid = zone_id(own_conn, "Mjølnerparken inkl. Hothers Plads")
    first = public_survey()
    assert zid in first
    assert public_survey() == first
    assert builds["survey"] == 1  # computed once, then served from the cache
    patch_zone(own_client, tokens, zid, {"visibility": "internal"})
    assert zid not in public_survey()
    assert builds["survey"] == 2
