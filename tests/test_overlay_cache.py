"""The public count tables are published once per quarter and then frozen (a later row must not let anyone
subtract two versions), while zones that stop being public leave them at once and renamed zones are renamed;
`geoservice overlays republish` builds a quarter again on purpose. The public survey tables are cached until their
responses or the zones change. On a database of its own, because it changes demo zones and imports rows."""

from __future__ import annotations

import os
import subprocess
import sys

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
    assert builds["counts"] == 1  # the frozen table, without the zone's row
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


def test_a_late_row_does_not_change_a_published_quarter_until_it_is_republished(
        own_client: TestClient, own_conn, tokens: dict, settings, own_db: str) -> None:
    def kommuner() -> dict[str, dict]:
        response = own_client.get("/api/v1/overlays/counts", params={"by": "kommune", "period": PERIOD})
        assert response.status_code == 200, response.text
        return {a["key"]: a for a in response.json()["areas"]}

    before = kommuner()
    staff_before = own_conn.execute("SELECT count(*) FROM incident WHERE kommune_code = '0101' AND occurred_at >= "
                                    "'2025-07-01' AND occurred_at < '2025-10-01'").fetchone()[0]
    rows = "id,category,occurred_at,lat,lon\n" + "".join(
        f"late-{i},tyveri,2025-08-0{i + 1}T12:00:00+02:00,55.6761,12.5683\n" for i in range(6))
    response = own_client.post("/api/v1/imports/incidents", params={"source": "late"}, headers=bearer(tokens["admin"]),
                               files={"file": ("late.csv", rows.encode(), "text/csv")})
    assert response.status_code == 201, response.text
    # Staff see the new rows at once; the public table of the quarter stays as published.
    staff = own_client.get("/api/v1/overlays/counts", params={"by": "kommune", "period": PERIOD},
                           headers=bearer(tokens["analyst"])).json()
    assert next(a for a in staff["areas"] if a["key"] == "0101")["count"] == staff_before + 6
    assert kommuner() == before
    result = subprocess.run([sys.executable, "-m", "geoservice.cli", "overlays", "republish", "--period", PERIOD],
                            env={**os.environ, "GEOSERVICE_DB_NAME": own_db}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "republished" in result.stdout.lower() or "withdrawn" in result.stdout.lower()
    after = kommuner()
    assert after["0101"]["count"] != before["0101"]["count"]
