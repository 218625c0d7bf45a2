"""OGC API – Features Part 1 (core, GeoJSON, OpenAPI), Part 2 (CRS), JSON-FG, versions and the two time axes,
on the demo data, requirement by requirement where the OGC's own test suite cannot be run here (its Maven
artefacts are not reachable from this machine)."""

from __future__ import annotations

import itertools
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient

from tests.conftest import bearer
from tests.helpers import AALBORG_MIDTBY, TO_UTM

OGC = "/ogc"
START_AALBORG = "2025-09-01T16:00:00+02:00"
AALBORG_NAMES = {"Visitationszone Aalborg Midtby", "Visitationszone Aalborg Øst", "Visitationszone Vejgaard"}
# in force at the same moment: the real visitation zone of Vollsmose (Fyns Politi, 19 August - 3 September 2025)
# from the demo's visitation-zone history
IN_FORCE_AT_START = AALBORG_NAMES | {"Vollsmose"}
NOW_IN_DEMO = "2026-11-15T12:00:00+01:00"  # internal, restricted and public demo zones are all in force


def names(fc: dict) -> set[str]:
    return {f["properties"]["name"] for f in fc["features"]}


def rels(doc: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for link in doc["links"]:
        out.setdefault(link["rel"], []).append(link)
    return out


def test_landing_page_conformance_and_api_definition(client: TestClient) -> None:
    landing = client.get(OGC)
    assert landing.status_code == 200 and landing.headers["content-type"].startswith("application/json")
    links = rels(landing.json())
    for rel in ("self", "service-desc", "conformance", "data"):
        assert rel in links, rel
    api = client.get(urlparse(links["service-desc"][0]["href"]).path)
    assert api.status_code == 200 and "/ogc/collections/{collection_id}/items" in api.json()["paths"]
    conforms = client.get(urlparse(links["conformance"][0]["href"]).path).json()["conformsTo"]
    for cls in ("ogcapi-features-1/1.0/conf/core", "ogcapi-features-1/1.0/conf/geojson",
                "ogcapi-features-1/1.0/conf/oas30", "ogcapi-features-2/1.0/conf/crs",
                "ogcapi-features-3/1.0/conf/filter", "cql2/1.0/conf/cql2-text", "cql2/1.0/conf/temporal-functions",
                "ogcapi-features-4/1.0/conf/create-replace-delete", "json-fg-1/0.2/conf/core"):
        assert any(c.endswith(cls) for c in conforms), cls


def test_collections_one_per_kind_all_zones_reference_areas_and_sectors(client: TestClient) -> None:
    docs = client.get(f"{OGC}/collections").json()
    ids = {c["id"] for c in docs["collections"]}
    assert {"zones", "nattelivszone", "visitationszone", "sub_omraade", "politikredse", "kommuner", "bydele",
            "sectors"} <= ids
    assert "opholdsforbud" not in ids  # a kind that is never public is not even listed for the public
    admin_ids = {c["id"] for c in client.get(f"{OGC}/collections",
                                             headers=bearer(_token(client, "admin"))).json()["collections"]}
    assert "opholdsforbud" in admin_ids
    for c in docs["collections"]:
        links = rels(c)
        assert any(link["type"] == "application/geo+json" for link in links["items"])
        assert c["extent"]["spatial"]["bbox"][0][0] < c["extent"]["spatial"]["bbox"][0][2]
        assert "http://www.opengis.net/def/crs/EPSG/0/25832" in c["crs"]
        assert c["storageCrs"] == "http://www.opengis.net/def/crs/EPSG/0/25832"
    one = client.get(f"{OGC}/collections/visitationszone").json()
    assert one["extent"]["temporal"]["interval"][0][0].endswith("Z")
    assert client.get(f"{OGC}/collections/nope").status_code == 404


_TOKENS: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _keep_tokens(tokens: dict[str, str]) -> None:
    _TOKENS.update(tokens)


def _token(_client: TestClient, role: str) -> str:
    return _TOKENS[role]


def test_items_are_geojson_with_counts_links_and_content_crs(client: TestClient) -> None:
    response = client.get(f"{OGC}/collections/zones/items", params={"limit": 3})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    assert response.headers["content-crs"] == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
    fc = response.json()
    assert fc["type"] == "FeatureCollection" and fc["numberReturned"] == 3 == len(fc["features"])
    assert fc["numberMatched"] > 3 and fc["timeStamp"].endswith("Z")
    links = rels(fc)
    assert {"self", "alternate", "next", "collection"} <= set(links)
    # following next pages through every feature exactly once
    seen = [f["id"] for f in fc["features"]]
    url = links["next"][0]["href"]
    while url:
        page = client.get(url.replace("http://testserver", "")).json()
        seen += [f["id"] for f in page["features"]]
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
    assert len(seen) == len(set(seen)) == fc["numberMatched"]
    feature = fc["features"][0]
    assert feature["geometry"]["type"] == "MultiPolygon" and isinstance(feature["id"], int)


def test_unknown_or_misspelt_parameters_are_400_naming_them(client: TestClient) -> None:
    for path, params, name in ((f"{OGC}/collections/zones/items", {"kind": "x"}, "kind"),
                               (f"{OGC}/collections/zones/items", {"date_time": "2025-01-01"}, "date_time"),
                               (f"{OGC}/collections", {"bbox": "1,2,3,4"}, "bbox"),
                               (f"{OGC}/collections/zones/items/1", {"limit": "2"}, "limit")):
        response = client.get(path, params=params)
        assert response.status_code == 400, (path, params)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == name


def test_bad_values_are_400_with_the_field(client: TestClient) -> None:
    for params, field in (({"bbox": "1,2,3"}, "bbox"), ({"datetime": "yesterday"}, "datetime"),
                          ({"crs": "EPSG:3857"}, "crs"), ({"bbox-crs": "EPSG:25832"}, "bbox-crs"),
                          ({"datetime": "../.."}, "datetime"), ({"filter-lang": "cql2-text"}, "filter")):
        response = client.get(f"{OGC}/collections/zones/items", params=params)
        assert response.status_code in (400, 422), params
        assert response.json()["errors"][0]["field"] == field, params


def test_datetime_instant_gives_what_was_in_force_then(client: TestClient) -> None:
    at_start = client.get(f"{OGC}/collections/visitationszone/items", params={"datetime": START_AALBORG}).json()
    assert names(at_start) == IN_FORCE_AT_START
    minute_before = client.get(f"{OGC}/collections/visitationszone/items",
                               params={"datetime": "2025-09-01T15:59:00+02:00"}).json()
    assert names(minute_before) == {"Vollsmose"}  # Aalborg's zones begin at 16:00
    # UTC and the same instant agree; /api/v1/zones?at= gives the same zones
    utc = client.get(f"{OGC}/collections/visitationszone/items", params={"datetime": "2025-09-01T14:00:00Z"}).json()
    assert names(utc) == IN_FORCE_AT_START
    v1 = client.get("/api/v1/zones", params={"at": START_AALBORG, "kind": "visitationszone"}).json()
    assert {f["id"] for f in v1["features"]} == {f["id"] for f in at_start["features"]}


def test_datetime_intervals_and_open_ends(client: TestClient) -> None:
    def matched(value: str) -> set[str]:
        return names(client.get(f"{OGC}/collections/visitationszone/items", params={"datetime": value}).json())

    assert matched("2025-08-01T00:00:00Z/2025-09-02T00:00:00Z") >= AALBORG_NAMES
    assert not AALBORG_NAMES & matched("../2025-09-01T13:59:00Z")
    assert matched("2025-09-10T00:00:00Z/..") >= AALBORG_NAMES
    assert matched("2025-09-01") >= AALBORG_NAMES  # a date is the whole local day
    assert not AALBORG_NAMES & matched("2025-08-31")
    # GDAL sends a filter on virkningFra and virkningTil as two datetime parameters: their intersection
    both = client.get(f"{OGC}/collections/visitationszone/items?datetime=..%2F2025-09-01T14:00:00Z"
                      "&datetime=2025-09-01T14:00:00Z%2F..").json()
    assert names(both) == IN_FORCE_AT_START


def test_item_is_the_version_then_and_410_outside_every_version(client: TestClient) -> None:
    fc = client.get(f"{OGC}/collections/visitationszone/items", params={"datetime": START_AALBORG}).json()
    zone_id = next(f["id"] for f in fc["features"] if f["properties"]["name"] == "Visitationszone Aalborg Midtby")
    item = client.get(f"{OGC}/collections/visitationszone/items/{zone_id}", params={"datetime": START_AALBORG})
    assert item.status_code == 200 and item.headers["etag"].startswith('"')
    body = item.json()
    assert body["id"] == zone_id and {"self", "collection", "version-history"} <= set(rels(body))
    gone = client.get(f"{OGC}/collections/visitationszone/items/{zone_id}",
                      params={"datetime": "2024-01-01T00:00:00Z"})
    assert gone.status_code == 410
    assert gone.json()["versions"].endswith(f"/items/{zone_id}/versions")
    # today (the demo's visitation zones have ended) the public gets 410 too, never a silent 404
    assert client.get(f"{OGC}/collections/visitationszone/items/{zone_id}").status_code == 410
    # in another kind's collection, and an id that is no zone: 404
    assert client.get(f"{OGC}/collections/nattelivszone/items/{zone_id}").status_code == 404
    assert client.get(f"{OGC}/collections/zones/items/999999").status_code == 404
    assert client.get(f"{OGC}/collections/zones/items/abc").status_code == 404


def test_crs_25832_output_and_bbox_crs(client: TestClient) -> None:
    x, y = TO_UTM.transform(*AALBORG_MIDTBY)
    box = f"{x - 50},{y - 50},{x + 50},{y + 50}"
    response = client.get(f"{OGC}/collections/visitationszone/items", params={
        "datetime": START_AALBORG, "crs": "http://www.opengis.net/def/crs/EPSG/0/25832",
        "bbox": box, "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/25832"})
    assert response.status_code == 200
    assert response.headers["content-crs"] == "<http://www.opengis.net/def/crs/EPSG/0/25832>"
    fc = response.json()
    assert names(fc) == {"Visitationszone Aalborg Midtby"}
    ring = fc["features"][0]["geometry"]["coordinates"][0][0]
    assert all(500_000 < px < 600_000 and 6_300_000 < py < 6_350_000 for px, py in ring)
    # the same box in CRS84, and EPSG:4326 (latitude first) in and out
    lon, lat = AALBORG_MIDTBY
    crs84 = client.get(f"{OGC}/collections/visitationszone/items", params={
        "datetime": START_AALBORG, "bbox": f"{lon - 0.0005},{lat - 0.0005},{lon + 0.0005},{lat + 0.0005}"}).json()
    assert names(crs84) == {"Visitationszone Aalborg Midtby"}
    latlon = client.get(f"{OGC}/collections/visitationszone/items", params={
        "datetime": START_AALBORG, "bbox": f"{lat - 0.0005},{lon - 0.0005},{lat + 0.0005},{lon + 0.0005}",
        "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/4326",
        "crs": "http://www.opengis.net/def/crs/EPSG/0/4326"}).json()
    assert names(latlon) == {"Visitationszone Aalborg Midtby"}
    first = latlon["features"][0]["geometry"]["coordinates"][0][0][0]
    assert 56 < first[0] < 58 and 9 < first[1] < 11  # latitude first


def test_jsonfg_time_place_feature_type_and_the_two_time_axes(client: TestClient) -> None:
    response = client.get(f"{OGC}/collections/visitationszone/items", params={
        "datetime": START_AALBORG, "f": "jsonfg", "crs": "http://www.opengis.net/def/crs/EPSG/0/25832"})
    assert response.headers["content-type"].startswith("application/vnd.ogc.fg+json")
    fc = response.json()
    assert fc["conformsTo"] and fc["coordRefSys"].endswith("/25832") and fc["featureType"] == "visitationszone"
    feature = fc["features"][0]
    assert feature["featureType"] == "visitationszone"
    assert feature["time"]["interval"] == ["2025-09-01T14:00:00Z", "2025-09-15T14:00:00Z"]
    assert feature["place"]["type"] == "MultiPolygon" and feature["place"]["coordinates"][0][0][0][0] > 400_000
    assert -180 < feature["geometry"]["coordinates"][0][0][0][0] < 180  # geometry stays WGS 84
    props = feature["properties"]
    assert props["virkningFra"] == "2025-09-01T16:00:00+02:00" and props["virkningTil"] == "2025-09-15T16:00:00+02:00"
    assert props["registreringFra"] is not None and props["registreringTil"] is None
    assert props["valid_from"] == props["virkningFra"]  # beside the English names
    # Accept header negotiation, and CRS84 gives place null
    negotiated = client.get(f"{OGC}/collections/visitationszone/items", params={"datetime": START_AALBORG},
                            headers={"Accept": "application/vnd.ogc.fg+json"})
    assert negotiated.headers["content-type"].startswith("application/vnd.ogc.fg+json")
    assert negotiated.json()["features"][0]["place"] is None


def test_versions_list_every_designation_linked_both_ways(client: TestClient, tokens: dict) -> None:
    fc = client.get(f"{OGC}/collections/zones/items", params={"limit": 100}).json()
    chains = {}
    for f in fc["features"]:
        versions = client.get(f"{OGC}/collections/zones/items/{f['id']}/versions").json()
        chains[f["id"]] = versions["features"]
    versions = max(chains.values(), key=len)
    assert len(versions) >= 2, "the demo has zones with extensions"
    numbers = [v["properties"]["version"] for v in versions]
    assert numbers == sorted(numbers)
    for before, after in itertools.pairwise(versions):
        succ = next(link["href"] for link in after["links"] if link["rel"] == "predecessor-version")
        assert succ.endswith(f"/versions/{before['properties']['version']}")
        pred = next(link["href"] for link in before["links"] if link["rel"] == "successor-version")
        assert pred.endswith(f"/versions/{after['properties']['version']}")
    for v in versions:
        p = v["properties"]
        assert {"virkningFra", "virkningTil", "registreringFra", "registreringTil", "valid_from"} <= set(p)
        one = client.get(urlparse(next(link["href"] for link in v["links"] if link["rel"] == "self")).path)
        assert one.status_code == 200 and one.json()["properties"]["version"] == p["version"]
    assert "predecessor-version" not in rels(versions[0]) and "successor-version" not in rels(versions[-1])


def test_roles_apply_exactly_as_on_the_rest_of_the_api(client: TestClient, tokens: dict) -> None:
    def ogc_ids(token: str | None) -> set[int]:
        headers = bearer(token) if token else {}
        fc = client.get(f"{OGC}/collections/zones/items", params={"datetime": NOW_IN_DEMO, "limit": 1000},
                        headers=headers).json()
        return {f["id"] for f in fc["features"]}

    def v1_ids(token: str | None) -> set[int]:
        headers = bearer(token) if token else {}
        fc = client.get("/api/v1/zones", params={"at": NOW_IN_DEMO, "limit": 1000}, headers=headers).json()
        return {f["id"] for f in fc["features"]}

    for role in (None, "officer", "officer_nj", "analyst", "legal", "admin"):
        token = tokens[role] if role else None
        assert ogc_ids(token) == v1_ids(token), role
    assert ogc_ids(None) < ogc_ids(tokens["admin"])  # the token sees more
    public = client.get(f"{OGC}/collections/zones/items", params={"datetime": NOW_IN_DEMO, "limit": 1000}).json()
    assert {f["properties"]["visibility"] for f in public["features"]} == {"public"}
    hidden = (ogc_ids(tokens["admin"]) - ogc_ids(None)).pop()
    assert client.get(f"{OGC}/collections/zones/items/{hidden}").status_code == 404  # not 410: not even known
    assert client.get(f"{OGC}/collections/zones/items/{hidden}/versions").status_code == 404
    assert client.get(f"{OGC}/collections/opholdsforbud/items").status_code == 404


def test_reference_areas_and_sectors(client: TestClient) -> None:
    kommuner = client.get(f"{OGC}/collections/kommuner/items", params={"limit": 200}).json()
    assert kommuner["numberMatched"] >= 98
    aalborg = client.get(f"{OGC}/collections/kommuner/items/0851").json()
    assert aalborg["properties"]["name"] == "Aalborg"
    lon, lat = AALBORG_MIDTBY
    near = client.get(f"{OGC}/collections/kommuner/items",
                      params={"bbox": f"{lon},{lat},{lon + 0.001},{lat + 0.001}"}).json()
    assert names(near) == {"Aalborg"}
    sectors = client.get(f"{OGC}/collections/sectors/items", params={"f": "jsonfg"}).json()
    assert sectors["numberMatched"] > 10
    assert sectors["features"][0]["featureType"] == "sector" and "station" in sectors["features"][0]["properties"]


def test_queryables_and_schema(client: TestClient) -> None:
    q = client.get(f"{OGC}/collections/zones/queryables")
    assert q.headers["content-type"].startswith("application/schema+json")
    props = q.json()["properties"]
    assert {"geometry", "kind", "name", "validity", "virkningFra", "virkningTil", "status"} <= set(props)
    assert props["virkningFra"]["x-ogc-role"] == "primary-interval-start"
    schema = client.get(f"{OGC}/collections/visitationszone/schema").json()["properties"]
    assert schema["virkningTil"]["format"] == "date-time" and schema["area_m2"]["type"] == "number"


def test_head_answers_every_get_route_without_a_body(client: TestClient) -> None:
    for path in (OGC, f"{OGC}/collections", f"{OGC}/collections/zones/items?limit=5", "/api/v1/zones",
                 "/api/v1/kinds", "/"):
        get, head = client.get(path), client.head(path)
        assert head.status_code == get.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-type"] == get.headers["content-type"]
    assert client.head(f"{OGC}/collections/zones/items?foo=1").status_code == 400


def test_next_links_keep_the_query(client: TestClient) -> None:
    fc = client.get(f"{OGC}/collections/zones/items",
                    params={"limit": 2, "datetime": NOW_IN_DEMO, "crs": "EPSG:25832"}).json()
    query = parse_qs(urlparse(rels(fc)["next"][0]["href"]).query)
    assert query["datetime"] == [NOW_IN_DEMO] and query["offset"] == ["2"] and query["crs"] == ["EPSG:25832"]
