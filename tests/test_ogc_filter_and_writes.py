"""OGC API – Features Part 3 (CQL2 filters, text and JSON, translated with parameters) and Part 4 (create,
replace, update, delete through the same rules as /api/v1/zones, with ETag and If-Match)."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from tests.conftest import bearer
from tests.helpers import AALBORG_MIDTBY, AMAGER_FAELLED, offset, square, zone_feature

OGC = "/ogc/collections"
START_AALBORG = "2025-09-01T16:00:00+02:00"


def names(response) -> set[str]:
    assert response.status_code == 200, response.text
    return {f["properties"]["name"] for f in response.json()["features"]}


def test_cql2_text_basic_spatial_and_temporal(client: TestClient) -> None:
    def text(expr: str, **params: str) -> set[str]:
        return names(client.get(f"{OGC}/zones/items", params={"filter": expr, "limit": 1000, **params}))

    assert text("kind = 'nattelivszone' AND name LIKE '%Gothersgade%'") == {"Nattelivszone Gothersgade"}
    assert text("kind IN ('sub_omraade') AND NOT (name = 'Blågården')") == text("kind = 'sub_omraade'")
    lon, lat = AALBORG_MIDTBY
    point = f"POINT({lon} {lat})"
    assert text(f"S_INTERSECTS(geometry, {point})", datetime=START_AALBORG) == {"Visitationszone Aalborg Midtby"}
    box = f"BBOX({lon - 0.05},{lat - 0.05},{lon + 0.05},{lat + 0.05})"
    aalborg = text(f"kind = 'visitationszone' AND S_WITHIN(geometry, ENVELOPE({lon - 0.05},{lat - 0.05},"
                   f"{lon + 0.05},{lat + 0.05}))", datetime=START_AALBORG)
    assert aalborg == text(f"kind = 'visitationszone' AND S_INTERSECTS(geometry, {box})", datetime=START_AALBORG)
    assert "Visitationszone Aalborg Midtby" in aalborg
    during = text("T_DURING(validity, INTERVAL('2025-08-01T00:00:00Z', '2025-10-01T00:00:00Z'))",
                  datetime="2025-01-01T00:00:00Z/..")
    assert "Visitationszone Aalborg Midtby" in during and "Nattelivszone Gothersgade" not in during
    # the filter applies to the version that represents the zone (the one in force at datetime)
    crossing = text("T_INTERSECTS(validity, TIMESTAMP('2025-09-01T14:00:00Z'))", datetime=START_AALBORG)
    assert "Visitationszone Aalborg Midtby" in crossing
    later = text("T_AFTER(validity, TIMESTAMP('2025-09-01T14:00:00Z'))", datetime="2025-09-20T00:00:00Z")
    assert "Visitationszone Aalborg Midtby" in later and "Nattelivszone Gothersgade" not in later
    assert text("area_m2 > 0 AND version >= 1") == text("TRUE")


def test_cql2_json_and_filter_crs(client: TestClient) -> None:
    point = {"type": "Point", "coordinates": [*AALBORG_MIDTBY]}
    tree = {"op": "and", "args": [{"op": "=", "args": [{"property": "kind"}, "visitationszone"]},
                                  {"op": "s_intersects", "args": [{"property": "geometry"}, point]}]}
    got = names(client.get(f"{OGC}/zones/items", params={"filter": json.dumps(tree), "filter-lang": "cql2-json",
                                                         "datetime": START_AALBORG}))
    assert got == {"Visitationszone Aalborg Midtby"}
    from tests.helpers import TO_UTM
    x, y = TO_UTM.transform(*AALBORG_MIDTBY)
    got_utm = names(client.get(f"{OGC}/zones/items", params={
        "filter": f"S_INTERSECTS(geometry, POINT({x} {y}))", "filter-crs": "http://www.opengis.net/def/crs/EPSG/0/25832",
        "datetime": START_AALBORG}))
    assert got_utm == {"Visitationszone Aalborg Midtby"}


def test_bad_filters_are_400_naming_the_reason_and_never_reach_sql_as_text(client: TestClient) -> None:
    for expr, reason in (("nosuch = 1", "unknown property"), ("name = ", "not valid"),
                         ("name = 5", "not a string"), ("geometry = 'x'", "geometry"),
                         ("kind = 'x''; DROP TABLE zone; --'", None)):
        response = client.get(f"{OGC}/zones/items", params={"filter": expr})
        if reason is None:  # a quote inside a literal is a value, compared as such
            assert response.status_code == 200 and response.json()["numberMatched"] == 0
            continue
        assert response.status_code == 400, expr
        assert reason in response.json()["errors"][0]["reason"], (expr, response.json())
    assert client.get(f"{OGC}/zones/items", params={"filter": "kind = 'x'", "filter-lang": "sql"}).status_code in (
        400, 422)
    assert client.get("/ogc/collections/zones/items?limit=1").status_code == 200  # the table is still there


def test_filter_respects_roles(client: TestClient, tokens: dict) -> None:
    expr = "visibility <> 'public'"
    assert names(client.get(f"{OGC}/zones/items", params={"filter": expr})) == set()
    assert names(client.get(f"{OGC}/zones/items", params={"filter": expr}, headers=bearer(tokens["admin"])))


def test_create_replace_update_and_delete_a_draft_with_etags(client: TestClient, tokens: dict) -> None:
    admin = bearer(tokens["admin"])
    spot = offset(*AMAGER_FAELLED, 900, 900)
    body = zone_feature(square(*spot), name="OGC-kladde", publish=False)
    del body["properties"]["kind"]  # the collection is the kind
    created = client.post(f"{OGC}/nattelivszone/items", json=body, headers=admin)
    assert created.status_code == 201, created.text
    location, etag = created.headers["location"], created.headers["etag"]
    zone_id = created.json()["id"]
    assert location.endswith(f"/ogc/collections/nattelivszone/items/{zone_id}")
    # the same rules as /api/v1/zones: a period over two years is refused, quoting the rule
    too_long = zone_feature(square(*spot), name="x", valid_to="2029-01-01T00:00:00+01:00", publish=False)
    refused = client.post(f"{OGC}/nattelivszone/items", json=too_long, headers=admin)
    assert refused.status_code == 422 and "max_period" in refused.text
    wrong_kind = client.post(f"{OGC}/nattelivszone/items", json=zone_feature(kind="visitationszone"), headers=admin)
    assert wrong_kind.status_code == 422 and wrong_kind.json()["errors"][0]["field"] == "properties.kind"

    patched = client.patch(f"{OGC}/nattelivszone/items/{zone_id}", json={"properties": {"name": "OGC-kladde 2"}},
                           headers={**admin, "If-Match": etag})
    assert patched.status_code == 200 and patched.json()["properties"]["name"] == "OGC-kladde 2"
    assert patched.headers["etag"] != etag
    stale = client.patch(f"{OGC}/nattelivszone/items/{zone_id}", json={"properties": {"name": "gammel"}},
                         headers={**admin, "If-Match": etag})
    assert stale.status_code == 412
    current = client.get(f"{OGC}/nattelivszone/items/{zone_id}", headers=admin)
    assert current.headers["etag"] == patched.headers["etag"]

    replacement = current.json()
    replacement["properties"]["name"] = "OGC-kladde 3"
    put = client.put(f"{OGC}/nattelivszone/items/{zone_id}", json=replacement,
                     headers={**admin, "If-Match": current.headers["etag"]})
    assert put.status_code == 200, put.text
    assert put.json()["properties"]["name"] == "OGC-kladde 3"
    # the same zone through /api/v1 (same domain code)
    assert client.get(f"/api/v1/zones/{zone_id}", headers=admin).json()["properties"]["name"] == "OGC-kladde 3"

    assert client.delete(f"{OGC}/nattelivszone/items/{zone_id}", headers={**admin, "If-Match": etag}
                         ).status_code == 412
    assert client.delete(f"{OGC}/nattelivszone/items/{zone_id}", headers=admin).status_code == 204
    assert client.get(f"/api/v1/zones/{zone_id}", headers=admin).status_code == 404


def test_published_zones_are_never_deleted_and_writes_need_admin(client: TestClient, tokens: dict) -> None:
    admin = bearer(tokens["admin"])
    created = client.post(f"{OGC}/zones/items", json=zone_feature(square(*offset(*AMAGER_FAELLED, -900, 900)),
                                                                  name="OGC-offentlig"), headers=admin)
    assert created.status_code == 201, created.text
    zone_id = created.json()["id"]
    refused = client.delete(f"{OGC}/zones/items/{zone_id}", headers=admin)
    assert refused.status_code == 409 and refused.json()["revoke"] == f"/api/v1/zones/{zone_id}/revoke"
    moved = client.patch(f"{OGC}/zones/items/{zone_id}", json={"geometry": square(*AMAGER_FAELLED)}, headers=admin)
    assert moved.status_code == 409  # a published boundary changes only by a new decision
    assert client.post(f"{OGC}/zones/items", json=zone_feature()).status_code == 401
    assert client.post(f"{OGC}/zones/items", json=zone_feature(), headers=bearer(tokens["legal"])).status_code == 403
    assert client.delete(f"{OGC}/zones/items/{zone_id}", headers=bearer(tokens["analyst"])).status_code == 403
    assert client.post(f"{OGC}/kommuner/items", json=zone_feature(), headers=admin).status_code == 404
    audit = client.get(f"/api/v1/zones/{zone_id}/history", headers=admin).json()
    assert audit["versions"]
