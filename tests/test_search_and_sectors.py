"""Offline place search and the Din Betjent sector API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from geoservice.search import parse_coordinates
from tests.conftest import bearer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("55.6815, 12.5795", (12.5795, 55.6815)),
        ("12.5795 55.6815", (12.5795, 55.6815)),        # longitude first is recognised too
        ("55,6815; 12,5795", (12.5795, 55.6815)),       # Danish decimal commas
        ("55°40'53\"N 12°34'46\"E", (12.579444, 55.681389)),
        ("57°3′N 9°55′Ø", (9.916667, 57.05)),            # Danish Ø for east
        ("52.52, 13.40", None),                          # Berlin is not in Denmark
        ("Gothersgade", None),
    ],
)
def test_parse_coordinates(text: str, expected: tuple[float, float] | None) -> None:
    got = parse_coordinates(text)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected, abs=1e-5)


def test_search_finds_zones_areas_and_places(demo_client: TestClient) -> None:
    results = demo_client.get("/api/v1/search", params={"q": "Kødbyen", "at": "2026-06-01T12:00"}).json()["results"]
    types = {(r["type"], r["name"]) for r in results}
    assert ("place", "Kødbyen") in types and ("zone", "Nattelivszone Kødbyen") in types
    assert results[0]["name"] == "Kødbyen"  # the exact name ranks first
    zone = next(r for r in results if r["type"] == "zone")
    assert len(zone["bbox"]) == 4 and 12.5 < zone["lon"] < 12.6
    kommune = demo_client.get("/api/v1/search", params={"q": "aalborg"}).json()["results"]
    assert ("kommune", "Aalborg") in {(r["type"], r["name"]) for r in kommune}
    sector = demo_client.get("/api/v1/search", params={"q": "indre by vest"}).json()["results"]
    assert sector[0]["type"] == "sector" and sector[0]["ref"] == "KBH-CITY-01"


def test_search_describes_places_in_words_and_ranks_zones_before_shops(demo_client: TestClient) -> None:
    results = demo_client.get("/api/v1/search", params={"q": "Kødbyen", "limit": 20}).json()["results"]
    places = [r for r in results if r["type"] == "place"]
    assert places and not [r for r in results if "=" in (r["detail"] or "")]  # no raw OpenStreetMap tags
    assert next(r for r in places if r["name"] == "Kødbyen")["detail"] == "Kvarter, København"  # and where
    assert next(r for r in places if r["name"] == "Kødbyen")["detail_en"] == "Neighbourhood, København"
    zone = next(r for r in results if r["type"] == "zone")
    assert (zone["detail"], zone["detail_en"]) == ("Nattelivszone", "Nightlife zone")
    # the nightlife zone comes before the shops named after the same street
    vestergade = demo_client.get("/api/v1/search", params={"q": "Vestergade", "at": "2026-06-01T12:00"}).json()
    assert vestergade["results"][0]["name"] == "Nattelivszone Vestergade"


def test_place_labels() -> None:
    from geoservice.search import place_label

    assert place_label("shop=ice_cream") == ("Is", "Ice cream")
    assert place_label("place=neighbourhood") == ("Kvarter", "Neighbourhood")
    assert place_label("shop=something_new") == ("Butik", "Shop")
    assert place_label("tourism=viewpoint") == ("Sted", "Place")
    assert place_label(None) == ("Sted", "Place")


def test_search_never_reveals_hidden_zones_to_the_public(demo_client: TestClient, tokens: dict) -> None:
    public = demo_client.get("/api/v1/search", params={"q": "intern", "at": "2026-11-15T12:00"}).json()
    assert not [r for r in public["results"] if r["type"] == "zone"]
    draft = demo_client.get("/api/v1/search", params={"q": "nyhavn"}).json()
    assert not [r for r in draft["results"] if r["type"] == "zone"]
    legal = demo_client.get("/api/v1/search", params={"q": "nyhavn"}, headers=bearer(tokens["legal"])).json()
    assert "Nattelivszone Nyhavn (udkast)" in [r["name"] for r in legal["results"]]


def test_sector_detail(demo_client: TestClient, tokens: dict) -> None:
    body = demo_client.get("/api/v1/sectors/KBH-CITY-01", params={"at": "2026-06-01T12:00"}).json()
    assert body["sector"]["properties"]["name"] == "Din Betjent Indre By Vest"
    assert body["station"]["name"] == "Nærpolitistation City" and body["station"]["phone"]
    assert len(body["officers"]) == 2
    neighbours = {f["id"] for f in body["neighbours"]["features"]}
    assert "KBH-CITY-02" in neighbours and "KBH-CITY-01" not in neighbours
    zone_names = {f["properties"]["name"] for f in body["zones_in_force"]["features"]}
    assert "Nattelivszone Vestergade" in zone_names
    # Vestergade ends 15 December 2026: within 14 days of 2 December
    soon = demo_client.get("/api/v1/sectors/KBH-CITY-01", params={"at": "2026-12-02T12:00"},
                           headers=bearer(tokens["officer"])).json()
    assert {"name": "Nattelivszone Vestergade", "change": "ends"}.items() <= next(
        u for u in soon["upcoming"] if u["name"] == "Nattelivszone Vestergade").items()
    # the internal Sydhavnen zone shows to an officer, not to the public
    sydhavn = "KBH-VESTERBRO-VALBY-15"
    public = demo_client.get(f"/api/v1/sectors/{sydhavn}", params={"at": "2026-11-15T12:00"}).json()
    officer = demo_client.get(f"/api/v1/sectors/{sydhavn}", params={"at": "2026-11-15T12:00"},
                              headers=bearer(tokens["officer"])).json()
    hidden = "INTERN: Visitationszone Sydhavnen (forberedt)"
    assert hidden not in {f["properties"]["name"] for f in public["zones_in_force"]["features"]}
    assert hidden in {f["properties"]["name"] for f in officer["zones_in_force"]["features"]}
    assert demo_client.get("/api/v1/sectors/NOPE-99").status_code == 404
    assert demo_client.get("/api/v1/sectors/bad code!").status_code in (404, 422)


def test_sector_upcoming_changes(demo_client: TestClient, tokens: dict) -> None:
    officer = bearer(tokens["officer"])
    # seen from 1 June 2025, Distortion both starts (4 June) and ends (9 June) within 14 days
    body = demo_client.get("/api/v1/sectors/KBH-CITY-01", params={"at": "2025-06-01T12:00", "days": 14},
                           headers=officer).json()
    distortion = [(u["change"], u["at"]) for u in body["upcoming"] if u["name"].startswith("Midlertidig")]
    assert distortion == [("starts", "2025-06-04T00:00:00+02:00"), ("ends", "2025-06-09T00:00:00+02:00")]
    # the public is told only about zones in force at the requested time: no upcoming changes at all
    params = {"at": "2025-12-20T12:00", "days": 30}
    staff = demo_client.get("/api/v1/sectors/KBH-BELLAHOJ-11", params=params, headers=officer).json()
    assert "Tingbjerg-Husum Nord" in {u["name"] for u in staff["upcoming"]}
    public = demo_client.get("/api/v1/sectors/KBH-BELLAHOJ-11", params=params).json()
    assert public["upcoming"] == []
    assert "Tingbjerg" not in str(public)
    ending = demo_client.get("/api/v1/sectors/KBH-CITY-01", params={"at": "2026-12-02T12:00"}).json()
    assert ending["upcoming"] == []


def test_sectors_layer_and_me(demo_client: TestClient, tokens: dict) -> None:
    fc = demo_client.get("/api/v1/sectors").json()
    assert all(f["properties"]["illustrative"] for f in fc["features"])
    codes = [f["properties"]["code"] for f in fc["features"]]
    assert len([c for c in codes if c.startswith("KBH-")]) == 28  # Københavns Politi's organisation
    assert demo_client.get("/api/v1/me").json()["role"] == "public"
    me = demo_client.get("/api/v1/me", headers=bearer(tokens["officer"])).json()
    assert me == {"role": "officer", "username": "test-officer", "politikreds": "11", "sector": "KBH-CITY-01"}


def test_every_politikreds_has_din_betjent_sectors(demo_client: TestClient, conn) -> None:
    """Din Betjent is national: every politikreds has sectors (illustrative, from its kommuner), each served by a
    station at a police station of OpenStreetMap, so the lookup and the sector page work in Aalborg and Odense."""
    kredse = {r[0] for r in conn.execute("SELECT code FROM reference_area WHERE area_type = 'politikreds'")}
    with_sectors = {r[0] for r in conn.execute("SELECT DISTINCT politikreds_code FROM patrol_sector")}
    assert kredse == with_sectors and len(kredse) == 12
    uncovered = conn.execute("""SELECT count(*) FROM reference_area k WHERE k.area_type = 'kommune'
        AND NOT EXISTS (SELECT 1 FROM patrol_sector s WHERE s.kommune_code = k.code)
        AND k.code NOT IN ('0101', '0147', '0155', '0185')""").fetchone()[0]
    assert uncovered == 0
    for lat, lon, town in ((57.0480, 9.9200, "Aalborg"), (55.3960, 10.3880, "Odense")):
        sector = demo_client.get("/api/v1/lookup", params={"lat": lat, "lon": lon}).json()["sector"]
        assert sector and town in sector["name"] and sector["officers"] and sector["illustrative"]
        detail = demo_client.get(f"/api/v1/sectors/{sector['code']}").json()
        assert detail["station"]["name"] and detail["neighbours"]["features"]
