"""The legal staff's deadline calendar: parsed with the icalendar package; period ends and warning dates per kind;
the role boundary; secret addresses for clients that cannot send a token (made by API and CLI, revocable)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from urllib.parse import urlsplit

import psycopg
import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar

from geoservice import timeutil
from tests.conftest import bearer
from tests.helpers import AMAGER_FAELLED, offset, square, zone_feature

CALENDAR = "/api/v1/feeds/calendar.ics"
SECRETS = "/api/v1/feeds/calendar/secrets"


def local(moment: dt.datetime) -> str:
    return timeutil.isoformat_local(moment) or ""


def minute(moment: dt.datetime) -> dt.datetime:
    return moment.replace(second=0, microsecond=0)


@pytest.fixture(scope="module")
def zones(own_client: TestClient, tokens: dict[str, str]) -> dict[str, dict]:
    """A nightlife zone extended once (warnings 90/30/7 days), an event nightlife zone revoked from a later
    moment, and a restricted § 6 g zone (legal staff see everything)."""
    admin, legal = bearer(tokens["admin"]), bearer(tokens["legal"])
    now = minute(timeutil.now())
    made: dict[str, dict] = {}

    def create(name: str, dx: float, **props) -> int:
        response = own_client.post("/api/v1/zones", headers=admin, json=zone_feature(
            square(*offset(*AMAGER_FAELLED, dx, 900), 150), name=name, **props))
        assert response.status_code == 201, response.text
        return response.json()["id"]

    first_end = now + dt.timedelta(days=120)
    night = create("Kalenderzone Nat", 0, valid_from=local(now), valid_to=local(first_end))
    final_end = first_end + dt.timedelta(days=200)
    extended = own_client.post(f"/api/v1/zones/{night}/extend", headers=legal,
                               json={"valid_to": local(final_end), "decision_ref": "CAL-F1"})
    assert extended.status_code == 201, extended.text
    made["night"] = {"id": night, "end": final_end}

    event_end = now + dt.timedelta(days=10)
    event = create("Kalenderzone Festival", 300, kind="midlertidig_nattelivszone", valid_from=local(now),
                   valid_to=local(event_end))
    revoke_at = now + dt.timedelta(days=3)
    revoked = own_client.post(f"/api/v1/zones/{event}/revoke", headers=legal,
                              json={"reason": "Festivalen er aflyst", "at": local(revoke_at)})
    assert revoked.status_code == 200, revoked.text
    made["event"] = {"id": event, "end": revoke_at}

    restricted_end = now + dt.timedelta(days=20)
    restricted = create("Kalenderzone § 6 g", 600, kind="opholdsforbud", visibility="restricted",
                        valid_from=local(now), valid_to=local(restricted_end))
    made["restricted"] = {"id": restricted, "end": restricted_end}
    return made


def parse(body: bytes) -> Calendar:
    calendar = Calendar.from_ical(body)
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    return calendar


def events_of(calendar: Calendar, zone_id: int) -> dict[str, object]:
    return {str(e["UID"]): e for e in calendar.walk("VEVENT") if str(e["UID"]).startswith(f"zone-{zone_id}-run-")}


def test_only_legal_and_admin_get_the_calendar(own_client: TestClient, tokens: dict[str, str]) -> None:
    assert own_client.get(CALENDAR).status_code == 401
    for role in ("officer", "analyst"):
        response = own_client.get(CALENDAR, headers=bearer(tokens[role]))
        assert response.status_code == 403, role
        assert response.headers["content-type"] == "application/problem+json"
    for role in ("legal", "admin"):
        response = own_client.get(CALENDAR, headers=bearer(tokens[role]))
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/calendar")
        assert {"private", "no-store"} <= {p.strip() for p in response.headers["cache-control"].split(",")}
        parse(response.content)


def test_period_ends_and_warning_windows_per_kind(own_client: TestClient, tokens: dict[str, str],
                                                  zones: dict[str, dict]) -> None:
    body = own_client.get(CALENDAR, headers=bearer(tokens["legal"])).content
    calendar = parse(body)
    night = events_of(calendar, zones["night"]["id"])
    end = zones["night"]["end"]
    ends = [e for uid, e in night.items() if uid.split("@")[0].endswith("-end")]
    assert len(ends) == 1  # one run: the extension continues the designation, so its end moved
    assert ends[0]["DTSTART"].dt == end and ends[0]["DTSTART"].dt.tzinfo is not None  # UTC
    assert ends[0]["DTSTART"].to_ical().endswith(b"Z")
    assert str(ends[0]["SUMMARY"]) == "Udløber: Kalenderzone Nat" and int(ends[0]["SEQUENCE"]) == 1
    assert "CAL-F1" in str(ends[0]["DESCRIPTION"]) and ends[0]["DTSTAMP"]
    # nattelivszone: warning_days [90, 30, 7] in layers/kinds.yaml, each on the Copenhagen date it opens
    warnings = {uid.split("@")[0].rsplit("-", 1)[1]: e for uid, e in night.items() if "-warn-" in uid}
    assert sorted(warnings) == ["30d", "7d", "90d"]
    for days in (90, 30, 7):
        event = warnings[f"{days}d"]
        opens = timeutil.to_local(end).date() - dt.timedelta(days=days)  # calendar days, across a DST change too
        assert event["DTSTART"].dt == opens and event["DTEND"].dt == opens + dt.timedelta(days=1)
        assert str(event["SUMMARY"]).startswith(f"Varsel {days} dage: Kalenderzone Nat udløber ")

    # a revocation ends the event zone early: a deadline "Ophæves", and no warnings for it
    event = events_of(calendar, zones["event"]["id"])
    assert [str(e["SUMMARY"]) for e in event.values()] == ["Ophæves: Kalenderzone Festival"]
    assert next(iter(event.values()))["DTSTART"].dt == zones["event"]["end"]
    assert "Festivalen er aflyst" in str(next(iter(event.values()))["DESCRIPTION"])
    # legal staff see restricted zones; opholdsforbud warns 7 and 2 days before
    restricted = events_of(calendar, zones["restricted"]["id"])
    assert sorted(uid.split("@")[0].rsplit("-", 1)[1] for uid in restricted) == ["2d", "7d", "end"]
    # UIDs are unique and the body is stable while nothing changes
    uids = [str(e["UID"]) for e in calendar.walk("VEVENT")]
    assert len(uids) == len(set(uids))
    assert own_client.get(CALENDAR, headers=bearer(tokens["legal"])).content == body


def test_a_secret_address_serves_outlook_and_stops_when_revoked(own_client: TestClient, tokens: dict[str, str],
                                                                zones: dict[str, dict]) -> None:
    legal = bearer(tokens["legal"])
    made = own_client.post(SECRETS, headers=legal, json={"label": "Outlook"})
    assert made.status_code == 201, made.text
    secret, url = made.json()["secret"], made.json()["url"]
    assert secret.startswith("gscal_") and secret not in tokens.values()
    assert made.json()["webcal"].startswith("webcal://") and url.endswith(".ics")
    path = urlsplit(url).path
    answer = own_client.get(path)  # no Authorization header: what Outlook sends
    assert answer.status_code == 200 and answer.headers["cache-control"] == "private, no-store"
    assert events_of(parse(answer.content), zones["restricted"]["id"])
    # the API token is not a calendar secret, nor is a guess
    assert own_client.get(f"/api/v1/feeds/calendar/{tokens['legal']}.ics").status_code == 404
    assert own_client.get(f"/api/v1/feeds/calendar/{secret[:-2]}xx.ics").status_code == 404
    # listed without the secret; revoked: 404 from then on
    listed = own_client.get(SECRETS, headers=legal).json()["secrets"]
    assert any(s["id"] == made.json()["id"] and s["label"] == "Outlook" for s in listed)
    assert secret not in own_client.get(SECRETS, headers=legal).text
    assert own_client.delete(f"{SECRETS}/{made.json()['id']}", headers=legal).status_code == 204
    gone = own_client.get(path)
    assert gone.status_code == 404 and gone.headers["content-type"] == "application/problem+json"
    assert own_client.delete(f"{SECRETS}/{made.json()['id']}", headers=legal).status_code == 409


def test_only_legal_and_admin_have_calendar_secrets(own_client: TestClient, tokens: dict[str, str],
                                                    own_conn: psycopg.Connection) -> None:
    assert own_client.post(SECRETS, json={}).status_code == 401
    for role in ("officer", "analyst"):
        assert own_client.post(SECRETS, headers=bearer(tokens[role]), json={}).status_code == 403
        assert own_client.get(SECRETS, headers=bearer(tokens[role])).status_code == 403
    # legal may not make one for someone else; an admin may, but only for legal or admin users
    other = own_client.post(SECRETS, headers=bearer(tokens["legal"]), json={"username": "test-admin"})
    assert other.status_code == 403
    officer = own_client.post(SECRETS, headers=bearer(tokens["admin"]), json={"username": "test-officer"})
    assert officer.status_code == 409 and officer.json()["errors"][0]["field"] == "username"
    # someone who stops being legal loses the calendar, secret or not
    own_conn.execute("INSERT INTO app_user (username, role) VALUES ('cal-legal', 'legal')")
    made = own_client.post(SECRETS, headers=bearer(tokens["admin"]), json={"username": "cal-legal"})
    assert made.status_code == 201
    path = urlsplit(made.json()["url"]).path
    assert own_client.get(path).status_code == 200
    own_conn.execute("UPDATE app_user SET role = 'officer', politikreds_code = '11' WHERE username = 'cal-legal'")
    assert own_client.get(path).status_code == 404
    # an admin's listing has everyone's; the secret is never stored, only its hash
    assert any(s["username"] == "cal-legal" for s in
               own_client.get(SECRETS, headers=bearer(tokens["admin"])).json()["secrets"])
    stored = own_conn.execute("SELECT token_hash FROM calendar_secret WHERE id = %s", (made.json()["id"],)).fetchone()
    assert stored is not None and made.json()["secret"].encode() not in bytes(stored[0])
    audit = own_conn.execute("SELECT after::text FROM audit_log WHERE entity = 'calendar_secret'").fetchall()
    assert audit and all("token_hash" not in row[0] for row in audit)


def test_the_cli_makes_and_revokes_addresses(own_db: str, own_client: TestClient) -> None:
    env = {**os.environ, "GEOSERVICE_DB_NAME": own_db}

    def cli(*args: str) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", "geoservice.cli", "feeds", "calendar", *args], env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return result

    added = cli("add", "test-legal", "--label", "cli")
    url = added.stdout.strip()
    assert "/api/v1/feeds/calendar/gscal_" in url and "shown only once" in added.stderr
    listing = cli("list").stdout
    assert any("test-legal" in line and " cli " in line and "active" in line for line in listing.splitlines())
    assert url.rsplit("/", 1)[1].removesuffix(".ics") not in listing
    path = urlsplit(url).path
    assert own_client.get(path).status_code == 200
    assert "revoked" in cli("revoke", "test-legal").stdout
    assert own_client.get(path).status_code == 404
    refused = subprocess.run([sys.executable, "-m", "geoservice.cli", "feeds", "calendar", "add", "test-analyst"],
                             env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "only active legal and admin users" in refused.stderr
