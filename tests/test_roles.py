"""Every role boundary, tried from the wrong side."""

from __future__ import annotations

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.conftest import bearer
from tests.helpers import EXCLUSION_CENTRE, GOTHERSGADE, SYDHAVNEN_INTERNAL, offset, square, zone_feature

NOW_IN_DEMO = "2026-11-15T12:00:00+01:00"  # internal, restricted and public demo zones are all in force
NEVER_PUBLIC = {"INTERN: Visitationszone Sydhavnen (forberedt)", "Opholdsforbud § 6 g (demo-sag)",
                "Nattelivszone Nyhavn (udkast)"}


def zone_id(conn: psycopg.Connection, name: str) -> int:
    row = conn.execute("SELECT id FROM zone WHERE name = %s", (name,)).fetchone()
    assert row
    return int(row[0])


def listed(client: TestClient, headers: dict | None = None, **params: str) -> set[str]:
    response = client.get("/api/v1/zones", params={"limit": 1000, **params}, headers=headers or {})
    assert response.status_code == 200, response.text
    return {f["properties"]["name"] for f in response.json()["features"]}


@pytest.mark.parametrize("params", [{}, {"at": NOW_IN_DEMO}, {"at": "2027-06-01T12:00"}, {"q": "INTERN"},
                                    {"kind": "opholdsforbud,visitationszone,nattelivszone"},
                                    {"published_as_of": NOW_IN_DEMO}, {"bbox": "12.5,55.6,12.7,55.7"}])
def test_public_never_lists_internal_restricted_or_draft_zones(client: TestClient, params: dict) -> None:
    assert not listed(client, **params) & NEVER_PUBLIC


def test_public_cannot_fetch_hidden_zones_by_id(client: TestClient, conn: psycopg.Connection) -> None:
    for name in NEVER_PUBLIC:
        response = client.get(f"/api/v1/zones/{zone_id(conn, name)}", params={"at": NOW_IN_DEMO})
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


def test_public_cannot_ask_for_other_statuses(client: TestClient) -> None:
    response = client.get("/api/v1/zones", params={"status": "draft"})
    assert response.status_code == 403
    assert client.get("/api/v1/zones", params={"status": "expired"}).status_code == 403


def test_public_lookup_hides_the_internal_zone_that_officers_see(client: TestClient, tokens: dict) -> None:
    lon, lat = SYDHAVNEN_INTERNAL
    params = {"lat": lat, "lon": lon, "at": NOW_IN_DEMO}
    public = client.get("/api/v1/lookup", params=params).json()
    assert not [z for z in public["zones"] if z["visibility"] != "public"]
    officer = client.get("/api/v1/lookup", params=params, headers=bearer(tokens["officer"])).json()
    assert "INTERN: Visitationszone Sydhavnen (forberedt)" in [z["name"] for z in officer["zones"]]


@pytest.mark.parametrize(
    ("who", "sees_restricted"),
    [(None, False), ("officer", True), ("officer_nj", False), ("analyst", False), ("legal", True),
     ("admin", True)],
)
def test_restricted_exclusion_zone_only_for_legal_admin_and_its_own_district(
    client: TestClient, tokens: dict, who: str | None, sees_restricted: bool
) -> None:
    headers = bearer(tokens[who]) if who else {}
    lon, lat = EXCLUSION_CENTRE
    lookup = client.get("/api/v1/lookup", params={"lat": lat, "lon": lon, "at": NOW_IN_DEMO}, headers=headers).json()
    in_lookup = "Opholdsforbud § 6 g (demo-sag)" in [z["name"] for z in lookup["zones"]]
    in_list = "Opholdsforbud § 6 g (demo-sag)" in listed(client, headers, at=NOW_IN_DEMO)
    assert in_lookup is sees_restricted
    assert in_list is sees_restricted


@pytest.mark.parametrize(("who", "sees_drafts"), [("officer", False), ("analyst", False), ("legal", True),
                                                   ("admin", True)])
def test_drafts_only_for_legal_and_admin(client: TestClient, tokens: dict, who: str, sees_drafts: bool) -> None:
    assert ("Nattelivszone Nyhavn (udkast)" in listed(client, bearer(tokens[who]))) is sees_drafts


@pytest.mark.parametrize("who", [None, "officer", "analyst", "legal"])
def test_only_admin_creates_or_changes_zones(client: TestClient, tokens: dict, conn: psycopg.Connection,
                                             who: str | None) -> None:
    headers = bearer(tokens[who]) if who else {}
    body = zone_feature(square(*offset(*GOTHERSGADE, 0, -6000)), name=f"Ikke tilladt {who}")
    before = conn.execute("SELECT count(*) FROM zone").fetchone()[0]
    created = client.post("/api/v1/zones", json=body, headers=headers)
    assert created.status_code == (401 if who is None else 403)
    assert created.headers["content-type"] == "application/problem+json"
    target = zone_id(conn, "Nattelivszone Kødbyen")
    patched = client.patch(f"/api/v1/zones/{target}", json={"name": "Hacked"}, headers=headers)
    assert patched.status_code == (401 if who is None else 403)
    assert conn.execute("SELECT count(*) FROM zone").fetchone()[0] == before
    assert conn.execute("SELECT name FROM zone WHERE id = %s", (target,)).fetchone()[0] == "Nattelivszone Kødbyen"


@pytest.mark.parametrize("who", [None, "officer", "analyst"])
def test_only_legal_and_admin_revoke(client: TestClient, tokens: dict, conn: psycopg.Connection,
                                     who: str | None) -> None:
    headers = bearer(tokens[who]) if who else {}
    target = zone_id(conn, "Nattelivszone Vesterbrogade")
    response = client.post(f"/api/v1/zones/{target}/revoke", json={"reason": "forsøg"}, headers=headers)
    assert response.status_code == (401 if who is None else 403)
    assert conn.execute("SELECT revoked_at FROM zone WHERE id = %s", (target,)).fetchone()[0] is None


@pytest.mark.parametrize("path", ["/api/v1/zones", "/api/v1/lookup?lat=55.6815&lon=12.5795"])
@pytest.mark.parametrize("header", ["Bearer gs_not-a-real-token", "Bearer ", "Basic dXNlcjpwdw==", "gs_token"])
def test_bad_tokens_are_refused_not_downgraded_to_public(client: TestClient, header: str, path: str) -> None:
    response = client.get(path, headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["type"] == "urn:geoservice:problem:unauthorized"


def test_revoked_token_stops_working(client: TestClient, conn: psycopg.Connection) -> None:
    from tests.conftest import _add_user

    token = _add_user(conn, "test-short-lived", "analyst")
    assert client.get("/api/v1/zones", headers=bearer(token)).status_code == 200
    conn.execute("UPDATE api_token SET revoked_at = now() WHERE user_id = "
                 "(SELECT id FROM app_user WHERE username = 'test-short-lived')")
    assert client.get("/api/v1/zones", headers=bearer(token)).status_code == 401


def test_tokens_are_stored_hashed(conn: psycopg.Connection, tokens: dict) -> None:
    stored = [bytes(r[0]) for r in conn.execute("SELECT token_hash FROM api_token").fetchall()]
    assert all(len(h) == 32 for h in stored)
    assert not any(t.encode() in h for t in tokens.values() for h in stored)


@pytest.fixture(scope="module")
def cli(db_name: str):
    """The `geoservice` command as a real process on the test database."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "GEOSERVICE_DB_NAME": db_name}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "geoservice.cli", *args], env=env, capture_output=True,
                              text=True, timeout=120)

    return run


@pytest.mark.parametrize("name", ["", "   ", " padded "])
def test_cli_refuses_a_user_without_a_proper_name(cli, conn: psycopg.Connection, name: str) -> None:
    before = conn.execute("SELECT count(*) FROM app_user").fetchone()[0]
    result = cli("users", "add", name, "--role", "admin")
    assert result.returncode == 2 and not result.stdout
    assert "username" in result.stderr and "Internal error" not in result.stderr
    assert conn.execute("SELECT count(*) FROM app_user").fetchone()[0] == before


def test_store_refuses_a_blank_user_name(conn: psycopg.Connection) -> None:
    from geoservice.errors import InvalidInput
    from geoservice.store import users

    with pytest.raises(InvalidInput, match="needs a name"):
        users.add_user(conn, username=" ", role="admin", full_name=None, politikreds_code=None, sector_code=None)


def test_cli_usage_errors_are_not_called_internal(cli, tmp_path) -> None:
    officer = cli("users", "add", "cli-kredsløs", "--role", "officer")
    assert officer.returncode == 2
    assert officer.stderr.startswith("error: Invalid input: an officer needs --politikreds")
    shapefile = cli("zones", "export", "-o", str(tmp_path / "x.shp"))
    assert shapefile.returncode == 2
    assert shapefile.stderr.startswith("error: unsupported output x.shp") and "Internal" not in shapefile.stderr


def test_a_token_user_is_never_audited_as_anonymous(client: TestClient, conn: psycopg.Connection) -> None:
    """Even a user whose name is blank (made before names were checked, straight in the database) is named."""
    from geoservice.access import Principal, Role, new_token

    assert Principal(role=Role.admin, user_id=42, username=" ").actor.name == "user#42"
    assert Principal(role=Role.public).actor.name == "anonymous"
    user_id = conn.execute("INSERT INTO app_user (username, role) VALUES ('', 'admin') RETURNING id").fetchone()[0]
    token, digest, prefix = new_token()
    conn.execute("INSERT INTO api_token (user_id, token_hash, prefix) VALUES (%s, %s, %s)", (user_id, digest, prefix))
    created = client.post("/api/v1/zones", headers=bearer(token),
                          json=zone_feature(square(*offset(*GOTHERSGADE, -4000, -6000), 120), name="Navnløs"))
    assert created.status_code == 201, created.text
    actors = {r[0] for r in conn.execute("SELECT actor FROM audit_log WHERE zone_id = %s",
                                         (created.json()["id"],)).fetchall()}
    assert actors and "anonymous" not in actors and all(f"user#{user_id}" in a for a in actors), actors
