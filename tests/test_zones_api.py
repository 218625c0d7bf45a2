"""The zone store over HTTP: list with filters and paging, read, create, change, replace and revoke."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import bearer
from tests.helpers import AALBORG_MIDTBY, GOTHERSGADE, offset, square, square_utm, zone_feature

MID_2026 = "2026-06-01T12:00:00+02:00"


def names(fc: dict) -> list[str]:
    return [f["properties"]["name"] for f in fc["features"]]


def test_public_list_is_a_geojson_feature_collection_of_zones_in_force(client: TestClient) -> None:
    response = client.get("/api/v1/zones", params={"at": MID_2026})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    fc = response.json()
    assert fc["type"] == "FeatureCollection"
    assert fc["numberMatched"] == fc["numberReturned"] == len(fc["features"])
    assert {"Nattelivszone Gothersgade", "Nattelivszone Vestergade", "Nattelivszone Vesterbrogade",
            "Nattelivszone Kødbyen", "Nattelivszone Jomfru Ane Gade", "Blågården"} <= set(names(fc))
    for feature in fc["features"]:
        props = feature["properties"]
        assert feature["geometry"]["type"] == "MultiPolygon"
        assert props["status"] in ("in_force", "expiring")
        assert props["visibility"] == "public"
        assert props["valid_from"] <= "2026-06-01" or props["valid_from"].startswith("2026-06-01T")
        lon, lat = feature["geometry"]["coordinates"][0][0][0]
        assert 8 < lon < 15.3 and 54.5 < lat < 57.8  # output is EPSG:4326 longitude, latitude


def test_times_are_copenhagen_local_with_offset(client: TestClient) -> None:
    fc = client.get("/api/v1/zones", params={"at": "2025-09-02T12:00", "kind": "visitationszone"}).json()
    midtby = next(f for f in fc["features"] if f["properties"]["name"] == "Visitationszone Aalborg Midtby")
    assert midtby["properties"]["valid_from"] == "2025-09-01T16:00:00+02:00"
    assert midtby["properties"]["valid_to"] == "2025-09-15T16:00:00+02:00"
    assert midtby["properties"]["designation_end"] == "2025-09-29T16:00:00+02:00"  # extended without a gap


def test_filters_kind_bbox_q_and_status(demo_client: TestClient, tokens: dict[str, str]) -> None:
    client = demo_client
    by_kind = client.get("/api/v1/zones", params={"kind": "sub_omraade", "at": MID_2026}).json()
    assert sorted(names(by_kind)) == ["Holmbladsgade/Støberigården", "Mjølnerparken inkl. Hothers Plads",
                                      "Remisevænget/Hørgården"]
    # bbox around Aalborg only
    aalborg = client.get("/api/v1/zones", params={"bbox": "9.85,57.0,10.05,57.1", "at": "2025-09-02T12:00"}).json()
    assert set(names(aalborg)) == {"Nattelivszone Jomfru Ane Gade", "Visitationszone Aalborg Midtby",
                                   "Visitationszone Vejgaard", "Visitationszone Aalborg Øst"}
    by_name = client.get("/api/v1/zones", params={"q": "gothers", "at": MID_2026}).json()
    assert names(by_name) == ["Nattelivszone Gothersgade"]
    expired = client.get("/api/v1/zones", params={"status": "expired", "at": MID_2026, "limit": 1000},
                         headers=bearer(tokens["analyst"])).json()
    assert "Visitationszone Aalborg Midtby" in names(expired)
    assert all(f["properties"]["status"] == "expired" for f in expired["features"])


def test_paging_with_links(demo_client: TestClient) -> None:
    client = demo_client
    first = client.get("/api/v1/zones", params={"limit": 4, "at": MID_2026}).json()
    assert first["numberReturned"] == 4 and first["numberMatched"] > 4
    next_link = next(link["href"] for link in first["links"] if link["rel"] == "next")
    second = client.get(next_link).json()
    assert second["numberReturned"] >= 1
    assert not set(names(first)) & set(names(second))
    assert any(link["rel"] == "prev" for link in second["links"])
    everything = client.get("/api/v1/zones", params={"limit": 1000, "at": MID_2026}).json()
    beyond = client.get("/api/v1/zones", params={"limit": 4, "offset": 1000, "at": MID_2026}).json()
    assert beyond["numberReturned"] == 0 and beyond["numberMatched"] == everything["numberMatched"]


def test_get_one_zone(client: TestClient) -> None:
    fc = client.get("/api/v1/zones", params={"q": "Kødbyen"}).json()
    zone_id = fc["features"][0]["id"]
    feature = client.get(f"/api/v1/zones/{zone_id}", params={"at": MID_2026}).json()
    assert feature["type"] == "Feature" and feature["id"] == zone_id
    assert feature["properties"]["illustrative"] is True
    assert feature["properties"]["legal_basis"].startswith("Politiloven § 6 b")
    assert client.get("/api/v1/zones/999999").status_code == 404


def test_create_read_patch_put_revoke_round_trip(client: TestClient, tokens: dict[str, str]) -> None:
    admin = bearer(tokens["admin"])
    place = offset(*GOTHERSGADE, 2500, -4000)
    body = zone_feature(square(*place, 150), name="Rundtur", valid_from="2026-02-01", valid_to="2026-12-31",
                        publish=False)
    created = client.post("/api/v1/zones", json=body, headers=admin)
    assert created.status_code == 201, created.text
    zone_id = created.json()["id"]
    assert created.headers["location"] == f"/api/v1/zones/{zone_id}"
    props = created.json()["properties"]
    assert props["status"] == "draft" and props["politikreds"] == "11"
    assert props["valid_from"] == "2026-02-01T00:00:00+01:00"
    assert props["valid_to"] == "2027-01-01T00:00:00+01:00"  # 'til og med 31 December'
    assert 21_000 < props["area_m2"] < 24_000

    # a draft may change boundary and period
    patched = client.patch(f"/api/v1/zones/{zone_id}", headers=admin,
                           json={"name": "Rundtur Syd", "geometry": square(*place, 300), "valid_to": "2026-11-30"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["properties"]["name"] == "Rundtur Syd"
    assert 85_000 < patched.json()["properties"]["area_m2"] < 95_000

    # PUT replaces the whole draft, here with a boundary in EPSG:25832
    put_body = zone_feature(square_utm(*place, 200), name="Rundtur Syd", valid_from="2026-02-01",
                            valid_to="2026-10-31", publish=False)
    put = client.put(f"/api/v1/zones/{zone_id}", json=put_body, headers={**admin, "Content-Crs": "EPSG:25832"})
    assert put.status_code == 200, put.text
    assert put.json()["properties"]["valid_to"] == "2026-11-01T00:00:00+01:00"
    assert 39_000 < put.json()["properties"]["area_m2"] < 41_000

    # revoke instead of delete
    assert client.delete(f"/api/v1/zones/{zone_id}", headers=admin).status_code == 405
    other = client.post("/api/v1/zones", headers=admin,
                        json=zone_feature(square(*offset(*place, 800, 0), 150), name="Tilbagekaldes"))
    other_id = other.json()["id"]
    revoked = client.post(f"/api/v1/zones/{other_id}/revoke", headers=admin, json={
        "reason": "Afgørelsen er ophævet", "at": "2026-03-01T12:00",
        "override_reason": "Ophævet ved afgørelse af 1. marts, indført efterfølgende"})
    assert revoked.status_code == 200, revoked.text
    props = revoked.json()["properties"]
    assert props["status"] == "revoked" and props["revoke_reason"] == "Afgørelsen er ophævet"
    assert props["revoked_at"] == "2026-03-01T12:00:00+01:00"
    before = client.get(f"/api/v1/zones/{other_id}", params={"at": "2026-02-15T12:00"}).json()
    # still in force before the revocation takes effect, and now ending then
    assert before["properties"]["status"] == "expiring"
    assert before["properties"]["designation_end"] == "2026-03-01T12:00:00+01:00"
    after = client.get(f"/api/v1/zones/{other_id}", params={"at": "2026-03-01T12:00"})
    assert after.status_code == 404  # the public no longer sees it
    again = client.post(f"/api/v1/zones/{other_id}/revoke", headers=admin, json={"reason": "igen"})
    assert again.status_code == 409


def test_published_zone_changes_boundary_only_by_decision(client: TestClient, tokens: dict[str, str]) -> None:
    admin = bearer(tokens["admin"])
    place = offset(*AALBORG_MIDTBY, 3000, 3000)
    created = client.post("/api/v1/zones", headers=admin, json=zone_feature(square(*place), name="Låst"))
    zone_id = created.json()["id"]
    moved = client.patch(f"/api/v1/zones/{zone_id}", headers=admin, json={"geometry": square(*place, 300)})
    assert moved.status_code == 409
    assert moved.json()["errors"][0]["field"] == "geometry"
    assert "/amend" in moved.json()["detail"]
    renamed = client.patch(f"/api/v1/zones/{zone_id}", headers=admin, json={"name": "Låst, nyt navn"})
    assert renamed.status_code == 200 and renamed.json()["properties"]["name"] == "Låst, nyt navn"
    redecided = client.patch(f"/api/v1/zones/{zone_id}", headers=admin, json={"decision_ref": "ANDEN"})
    assert redecided.status_code == 409
    same = zone_feature(square(*place), name="Låst, igen", publish=False)
    assert client.put(f"/api/v1/zones/{zone_id}", headers=admin, json=same).status_code == 200
    different = zone_feature(square(*place, 260), name="Låst", publish=False)
    assert client.put(f"/api/v1/zones/{zone_id}", headers=admin, json=different).status_code == 409


@pytest.mark.parametrize("fmt", ["EPSG:25832", "http://www.opengis.net/def/crs/EPSG/0/25832",
                                 "urn:ogc:def:crs:EPSG::25832"])
def test_epsg_25832_input_is_accepted_when_declared(client: TestClient, tokens: dict[str, str], fmt: str) -> None:
    place = offset(*GOTHERSGADE, -3000, 5000 + 400 * len(fmt))
    body = zone_feature(square_utm(*place, 100), name=f"UTM {fmt}")
    body["crs"] = {"type": "name", "properties": {"name": fmt}}
    created = client.post("/api/v1/zones", headers=bearer(tokens["admin"]), json=body)
    assert created.status_code == 201, created.text
    ring = created.json()["geometry"]["coordinates"][0][0]
    lon, lat = ring[0]
    assert abs(lon - place[0]) < 0.01 and abs(lat - place[1]) < 0.01  # returned in EPSG:4326


@pytest.mark.parametrize("publish", [False, True], ids=["draft", "published"])
def test_get_edit_put_round_trip(client: TestClient, tokens: dict[str, str], publish: bool) -> None:
    """A zone as GET returns it (top-level id, read-only properties) can be edited and PUT back."""
    admin = bearer(tokens["admin"])
    place = offset(*AALBORG_MIDTBY, -2500, 2500 + 600 * publish)
    created = client.post("/api/v1/zones", headers=admin,
                          json=zone_feature(square(*place, 150), name="Tur-retur", publish=publish))
    assert created.status_code == 201, created.text
    zone_id = created.json()["id"]
    feature = client.get(f"/api/v1/zones/{zone_id}", headers=admin).json()
    assert feature["id"] == zone_id and "status" in feature["properties"]
    feature["properties"]["name"] = "Tur-retur, nyt navn"
    feature["bbox"] = [place[0] - 0.01, place[1] - 0.01, place[0] + 0.01, place[1] + 0.01]
    put = client.put(f"/api/v1/zones/{zone_id}", headers=admin, json=feature)
    assert put.status_code == 200, put.text
    after = put.json()["properties"]
    assert after["name"] == "Tur-retur, nyt navn" and after["version"] == 1
    assert after["status"] == feature["properties"]["status"] and (after["status"] == "draft") is not publish

    # the id in the body must be this zone's
    feature["id"] = zone_id + 1
    wrong = client.put(f"/api/v1/zones/{zone_id}", headers=admin, json=feature)
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "id"
    feature["id"] = zone_id
    # a typo is still refused on PUT
    feature["properties"]["nmae"] = "x"
    typo = client.put(f"/api/v1/zones/{zone_id}", headers=admin, json=feature)
    assert typo.status_code == 422 and typo.json()["errors"][0] == {
        "field": "properties.nmae", "reason": "unknown field", "in": "body"}


def test_every_zone_as_read_validates_as_a_put_body(demo_client: TestClient, tokens: dict[str, str]) -> None:
    """Every property GET returns is either writable or declared read-only (schemas.READ_ONLY_PROPERTIES)."""
    from geoservice.schemas import ZoneFeatureReplace

    fc = demo_client.get("/api/v1/zones", params={"limit": 1000}, headers=bearer(tokens["admin"])).json()
    assert fc["features"]
    for feature in fc["features"]:
        ZoneFeatureReplace.model_validate(feature)


def test_put_errors_name_the_properties_path(client: TestClient, tokens: dict[str, str]) -> None:
    admin = bearer(tokens["admin"])
    place = offset(*AALBORG_MIDTBY, -2500, -2500)
    created = client.post("/api/v1/zones", headers=admin,
                          json=zone_feature(square(*place, 150), name="Stier", publish=False))
    zone_id = created.json()["id"]
    body = zone_feature(square(*place, 150), name="Stier", publish=False, valid_from="2026-05-01",
                        valid_to="2026-04-01")
    put = client.put(f"/api/v1/zones/{zone_id}", headers=admin, json=body)
    assert put.status_code == 422 and [e["field"] for e in put.json()["errors"]] == ["properties.valid_to"]


def test_post_accepts_bbox_and_refuses_read_only_members(client: TestClient, tokens: dict[str, str]) -> None:
    admin = bearer(tokens["admin"])
    place = offset(*AALBORG_MIDTBY, 2500, -2500)
    body = zone_feature(square(*place, 150), name="Med bbox")
    body["bbox"] = [place[0] - 0.01, place[1] - 0.01, place[0] + 0.01, place[1] + 0.01]
    assert client.post("/api/v1/zones", headers=admin, json=body).status_code == 201
    for mutate, field in ((lambda b: b["properties"].update(status="in_force"), "properties.status"),
                          (lambda b: b.update(id=7), "id")):
        bad = zone_feature(square(*offset(*place, 600, 0), 150))
        mutate(bad)
        refused = client.post("/api/v1/zones", headers=admin, json=bad)
        assert refused.status_code == 422
        assert refused.json()["errors"] == [{"field": field, "reason": "read-only (set by the service)", "in": "body"}]


def _assert_rfc7946_rings(features: list[dict]) -> int:
    import shapely.geometry

    rings = 0
    for feature in features:
        geom = shapely.geometry.shape(feature["geometry"])
        for polygon in getattr(geom, "geoms", [geom]):
            assert polygon.exterior.is_ccw, (feature.get("id"), "exterior ring clockwise")
            assert not any(ring.is_ccw for ring in polygon.interiors), (feature.get("id"), "hole counterclockwise")
            rings += 1
    return rings


def test_output_rings_follow_rfc_7946_right_hand_rule(demo_client: TestClient, tokens: dict[str, str]) -> None:
    """RFC 7946 § 3.1.6: exterior rings counterclockwise, holes clockwise (the demo data has both kinds)."""
    admin = bearer(tokens["admin"])
    zones = demo_client.get("/api/v1/zones", params={"limit": 1000}, headers=admin).json()["features"]
    assert _assert_rfc7946_rings(zones) > 20
    for simplify in (0, 20):
        zones = demo_client.get("/api/v1/zones", params={"simplify": simplify}, headers=admin).json()["features"]
        _assert_rfc7946_rings(zones)
    history = demo_client.get(f"/api/v1/zones/{zones[0]['id']}/history", headers=admin).json()
    _assert_rfc7946_rings(history["versions"])
    for area_type in ("politikreds", "kommune", "bydel"):
        _assert_rfc7946_rings(demo_client.get("/api/v1/reference-areas", params={"type": area_type}).json()["features"])
    _assert_rfc7946_rings(demo_client.get("/api/v1/sectors").json()["features"])
    sector = demo_client.get("/api/v1/sectors/KBH-CITY-01", headers=admin).json()
    _assert_rfc7946_rings([sector["sector"], *sector["neighbours"]["features"]])
