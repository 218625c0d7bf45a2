"""POST /api/v1/check/track: the zones in force at each timed point, and enter/exit events."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import bearer
from tests.helpers import GOTHERSGADE, offset, square, zone_feature

BASE = offset(*GOTHERSGADE, -4000, -11000)  # Valby/Hvidovre: no demo zones here


@pytest.fixture(scope="module")
def two_zones(client: TestClient, tokens: dict) -> tuple[int, int]:
    """Two neighbouring zones on a west-east line: a nightlife zone and a § 6 g exclusion circle."""
    admin = bearer(tokens["admin"])
    west = client.post("/api/v1/zones", headers=admin, json=zone_feature(
        square(*BASE, 300), name="Spor vest", valid_from="2026-01-01T00:00", valid_to="2027-01-01T00:00"))
    east = client.post("/api/v1/zones", headers=admin, json=zone_feature(
        square(*offset(*BASE, 600, 0), 300), name="Spor øst", kind="opholdsforbud", visibility="restricted",
        valid_from="2026-05-01T00:00", valid_to="2026-05-31T00:00"))
    assert west.status_code == east.status_code == 201
    return west.json()["id"], east.json()["id"]


def walk(times: list[str]) -> list[dict]:
    """West to east across both zones, 200 m a step: outside, west zone (2 points), between, east (2), outside."""
    xs = [-400, -50, 50, 300, 550, 650, 1000]
    return [{"lon": offset(*BASE, x, 0)[0], "lat": offset(*BASE, x, 0)[1], "at": t, "label": f"x={x}"}
            for x, t in zip(xs, times, strict=True)]


NIGHT = ["2026-05-10T00:50", "2026-05-10T01:00", "2026-05-10T01:10", "2026-05-10T01:20", "2026-05-10T01:30",
         "2026-05-10T01:40", "2026-05-10T01:50"]


def test_track_enters_and_leaves_two_zones(client: TestClient, tokens: dict, two_zones: tuple[int, int]) -> None:
    west, east = two_zones
    response = client.post("/api/v1/check/track", json={"points": walk(NIGHT)}, headers=bearer(tokens["legal"]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert [sorted(z["zone_id"] for z in p["zones"]) for p in body["points"]] == [
        [], [west], [west], [], [east], [east], []]
    assert [e["reason"] for e in body["events"] if e["type"] == "exit"] == ["left", "left"]
    assert body["events"][1]["last_inside_at"] == "2026-05-10T01:10:00+02:00"
    events = [(e["type"], e["zone_id"], e["at"]) for e in body["events"]]
    assert events == [
        ("enter", west, "2026-05-10T01:00:00+02:00"), ("exit", west, "2026-05-10T01:20:00+02:00"),
        ("enter", east, "2026-05-10T01:30:00+02:00"), ("exit", east, "2026-05-10T01:50:00+02:00"),
    ]
    assert body["points"][1]["zones"][0]["daily_window_applies"] is True  # nightlife ban at 01:00
    assert body["points"][4]["zones"][0]["daily_window_applies"] is None   # § 6 g has no daily window
    assert body["zones"][str(west)]["versions"][0]["decision_ref"] == "TEST-001"
    assert body["still_inside_at_end"] == []


def test_a_zone_that_ends_while_you_stand_still_is_an_exit(client: TestClient, tokens: dict,
                                                           two_zones: tuple[int, int]) -> None:
    _, east = two_zones
    inside = offset(*BASE, 600, 0)
    points = [{"lon": inside[0], "lat": inside[1], "at": at}
              for at in ("2026-05-30T23:00", "2026-05-30T23:59", "2026-05-31T00:00")]
    body = client.post("/api/v1/check/track", json={"points": points}, headers=bearer(tokens["legal"])).json()
    assert [(e["type"], e["at"]) for e in body["events"]] == [
        ("enter", "2026-05-30T23:00:00+02:00"), ("exit", "2026-05-31T00:00:00+02:00")]
    assert body["events"][0]["first_point"] is True and body["events"][0]["zone_id"] == east
    exit_event = body["events"][1]
    assert exit_event["reason"] == "ended" and exit_event["reason_at"] == "2026-05-31T00:00:00+02:00"
    assert exit_event["last_inside_at"] == "2026-05-30T23:59:00+02:00"


def test_exit_reasons_revoked_and_narrowed(client: TestClient, tokens: dict) -> None:
    admin, legal = bearer(tokens["admin"]), bearer(tokens["legal"])
    here = offset(*BASE, 0, 1500)
    revoked = client.post("/api/v1/zones", headers=admin, json=zone_feature(
        square(*here, 300), name="Spor ophævet", valid_from="2030-01-01T00:00", valid_to="2031-01-01T00:00")).json()
    assert client.post(f"/api/v1/zones/{revoked['id']}/revoke", headers=legal,
                       json={"at": "2030-06-01T02:00", "reason": "Ophævet midt i natten"}).status_code == 200
    points = [{"lon": here[0], "lat": here[1], "at": at} for at in ("2030-06-01T01:30", "2030-06-01T02:30")]
    body = client.post("/api/v1/check/track", json={"points": points}, headers=legal).json()
    (exit_event,) = [e for e in body["events"] if e["type"] == "exit"]
    assert exit_event["reason"] == "revoked" and exit_event["reason_at"] == "2030-06-01T02:00:00+02:00"

    there = offset(*BASE, 0, 3000)
    edge = offset(*there, 250, 0)  # inside the wide boundary, outside the narrowed one
    narrowed = client.post("/api/v1/zones", headers=admin, json=zone_feature(
        square(*there, 600), name="Spor indsnævret", valid_from="2030-01-01T00:00",
        valid_to="2031-01-01T00:00")).json()
    assert client.post(f"/api/v1/zones/{narrowed['id']}/amend", headers=legal, json={
        "effective_from": "2030-06-01T02:00", "geometry": square(*there, 200), "decision_ref": "N-2"}
    ).status_code == 201
    standing = [{"lon": edge[0], "lat": edge[1], "at": at} for at in ("2030-06-01T01:30", "2030-06-01T02:30")]
    walking = [{"lon": edge[0], "lat": edge[1], "at": "2030-05-01T01:30"},
               {"lon": offset(*there, 900, 0)[0], "lat": there[1], "at": "2030-05-01T01:40"}]
    for track, reason, at in ((standing, "boundary_changed", "2030-06-01T02:00:00+02:00"), (walking, "left", None)):
        body = client.post("/api/v1/check/track", json={"points": track}, headers=legal).json()
        (exit_event,) = [e for e in body["events"] if e["type"] == "exit" and e["zone_id"] == narrowed["id"]]
        assert (exit_event["reason"], exit_event["reason_at"]) == (reason, at)
        assert reason in body["exit_reasons"]


def test_points_are_ordered_by_time_not_by_position_in_the_request(client: TestClient, tokens: dict,
                                                                   two_zones: tuple[int, int]) -> None:
    west, _ = two_zones
    points = walk(NIGHT)[:3]
    body = client.post("/api/v1/check/track", json={"points": list(reversed(points))},
                       headers=bearer(tokens["legal"])).json()
    assert [(e["type"], e["zone_id"]) for e in body["events"]] == [("enter", west)]
    assert body["still_inside_at_end"] == [west]


def test_track_respects_roles(client: TestClient, tokens: dict, two_zones: tuple[int, int]) -> None:
    west, east = two_zones
    public = client.post("/api/v1/check/track", json={"points": walk(NIGHT)}).json()
    assert {e["zone_id"] for e in public["events"]} == {west}  # the restricted circle is not public
    officer_nj = client.post("/api/v1/check/track", json={"points": walk(NIGHT)},
                             headers=bearer(tokens["officer_nj"])).json()
    assert east not in {e["zone_id"] for e in officer_nj["events"]}
    assert str(east) not in officer_nj["zones"]


@pytest.mark.parametrize(
    ("points", "field"),
    [([{"lat": 12.5, "lon": 55.6, "at": "2026-05-10T01:00"}], "points[0].lat,points[0].lon"),
     ([{"lat": 55.6, "lon": 12.5, "at": "2026-03-29T02:30"}], "points[0].at"),
     ([{"lat": 55.6, "lon": 12.5}], "points.0.at"),
     ([], "points")],
)
def test_track_bad_input(client: TestClient, points: list, field: str) -> None:
    response = client.post("/api/v1/check/track", json={"points": points})
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]
