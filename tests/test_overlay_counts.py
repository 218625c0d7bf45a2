"""Count aggregates checked against geopandas computations on the same data (the demo incidents of a quarter)."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
import psycopg
import pytest
import shapely
from fastapi.testclient import TestClient

from geoservice.overlays.taxonomy import get_overlay_rules
from tests.conftest import bearer

PERIOD = "2025Q3"
T0 = dt.datetime(2025, 6, 30, 22, 0, tzinfo=dt.UTC)   # 2025-07-01 00:00 Copenhagen
T1 = dt.datetime(2025, 9, 30, 22, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def incidents(conn: psycopg.Connection) -> gpd.GeoDataFrame:
    rows = conn.execute("SELECT id, category, occurred_at, kommune_code, ST_AsBinary(geom) FROM incident"
                        " WHERE occurred_at >= %s AND occurred_at < %s", (T0, T1)).fetchall()
    frame = gpd.GeoDataFrame(pd.DataFrame(rows, columns=["id", "category", "occurred_at", "kommune", "wkb"]),
                             geometry=shapely.from_wkb([bytes(r[4]) for r in rows]), crs=25832)
    groups = get_overlay_rules()
    frame["group"] = frame["category"].map(groups.group_of)
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True)
    return frame.drop(columns="wkb")


def analyst(client: TestClient, tokens: dict, **params: str) -> dict:
    response = client.get("/api/v1/overlays/counts", params={"period": PERIOD, **params},
                          headers=bearer(tokens["analyst"]))
    assert response.status_code == 200, response.text
    return response.json()


def api_counts(body: dict) -> dict[tuple[str, str], int]:
    out = {}
    for area in body["areas"]:
        for group, n in area["counts"].items():
            if n:
                out[(area["key"], group)] = n
    return out


def test_counts_per_kommune_match_a_geopandas_spatial_join(client: TestClient, tokens: dict, incidents,
                                                           conn: psycopg.Connection) -> None:
    rows = conn.execute("SELECT code, ST_AsBinary(geom) FROM reference_area WHERE area_type = 'kommune'").fetchall()
    kommuner = gpd.GeoDataFrame({"code": [r[0] for r in rows]}, geometry=shapely.from_wkb([bytes(r[1]) for r in rows]),
                                crs=25832)
    joined = gpd.sjoin_nearest(incidents, kommuner, how="left", max_distance=3000)
    joined = joined[~joined.index.duplicated()]
    expected = joined.groupby(["code", "group"]).size().to_dict()
    body = analyst(client, tokens, by="kommune")
    assert api_counts(body) == expected
    assert body["total"]["count"] == len(incidents)
    # Rates: per km² from the DAGI area, per 1,000 residents from FOLK1A's latest quarter (2022Q4).
    kbh = next(a for a in body["areas"] if a["key"] == "0101")
    population = conn.execute("SELECT population FROM stat_kommune_quarter WHERE kommune_code = '0101'"
                              " AND quarter = '2022Q4'").fetchone()[0]
    assert body["population_quarter"] == "2022Q4" and kbh["population"] == population
    assert kbh["per_1000"] == pytest.approx(1000 * kbh["count"] / population, abs=1e-3)
    area = kommuner.loc[kommuner["code"] == "0101"].geometry.area.iloc[0] / 1e6
    assert kbh["per_km2"] == pytest.approx(kbh["count"] / area, rel=1e-3)


def test_counts_per_zone_follow_each_versions_boundary_and_period(client: TestClient, tokens: dict, incidents,
                                                                  conn: psycopg.Connection) -> None:
    rows = conn.execute("""
        SELECT v.zone_id, lower(v.effective), upper(v.effective), ST_AsBinary(v.geom)
        FROM zone_version v JOIN zone z ON z.id = v.zone_id
        WHERE v.state = 'published' AND NOT isempty(v.effective)
          AND z.visibility IN ('public', 'internal')""").fetchall()
    versions = gpd.GeoDataFrame({"zone": [str(r[0]) for r in rows], "start": [r[1] for r in rows],
                                 "end": [r[2] for r in rows]},
                                geometry=shapely.from_wkb([bytes(r[3]) for r in rows]), crs=25832)
    joined = gpd.sjoin(incidents, versions, predicate="intersects")
    joined = joined[(joined["occurred_at"] >= pd.to_datetime(joined["start"], utc=True))
                    & (joined["occurred_at"] < pd.to_datetime(joined["end"], utc=True))]
    expected = joined.groupby(["zone", "group"]).size().to_dict()
    body = analyst(client, tokens, by="zone")
    assert api_counts(body) == expected
    assert expected, "the demo has incidents in zones"
    names = {a["name"] for a in body["areas"]}
    assert "Visitationszone Aalborg Midtby" in names and "Opholdsforbud § 6 g (demo-sag)" not in names
    midtby = next(a for a in body["areas"] if a["name"] == "Visitationszone Aalborg Midtby")
    assert midtby["days_in_force"] == pytest.approx(28.0)


def test_counts_per_sector_and_grid_cell(client: TestClient, tokens: dict, incidents, conn: psycopg.Connection) -> None:
    rows = conn.execute("SELECT code, ST_AsBinary(geom) FROM patrol_sector").fetchall()
    sectors = gpd.GeoDataFrame({"code": [r[0] for r in rows]}, geometry=shapely.from_wkb([bytes(r[1]) for r in rows]),
                               crs=25832)
    expected = gpd.sjoin(incidents, sectors, predicate="intersects").groupby(["code", "group"]).size().to_dict()
    assert api_counts(analyst(client, tokens, by="sector")) == expected
    cells = incidents.assign(cell="1km_" + (incidents.geometry.y // 1000).astype(int).astype(str) + "_"
                             + (incidents.geometry.x // 1000).astype(int).astype(str))
    grid = analyst(client, tokens, by="grid1km")
    assert api_counts(grid) == cells.groupby(["cell", "group"]).size().to_dict()
    first = grid["areas"][0]
    assert first["area_km2"] == 1.0 and first["per_km2"] == first["count"]


def test_100m_cells_in_a_bbox_with_categories_and_hours(client: TestClient, tokens: dict, incidents) -> None:
    box = (12.55, 55.66, 12.60, 55.70)
    bbox = shapely.box(*box)
    wgs = incidents.to_crs(4326)
    local_hour = incidents["occurred_at"].dt.tz_convert("Europe/Copenhagen").dt.hour
    chosen = incidents[wgs.geometry.within(bbox).to_numpy() & incidents["category"].isin(["vold", "trusler"])
                       & (local_hour < 5)]
    cells = chosen.assign(cell="100m_" + (chosen.geometry.y // 100).astype(int).astype(str) + "_"
                          + (chosen.geometry.x // 100).astype(int).astype(str))
    body = analyst(client, tokens, by="grid100m", bbox=",".join(map(str, box)), category="vold,trusler",
                   split="category", hours="0-5")
    assert {(a["key"], c): n for a in body["areas"] for c, n in a["counts"].items() if n} == \
        cells.groupby(["cell", "category"]).size().to_dict()
    assert body["columns"] == ["vold", "trusler"]


def test_geojson_has_boundaries_and_the_same_properties(client: TestClient, tokens: dict) -> None:
    as_json = analyst(client, tokens, by="politikreds")
    response = client.get("/api/v1/overlays/counts", params={"period": PERIOD, "by": "politikreds",
                                                             "format": "geojson"}, headers=bearer(tokens["analyst"]))
    assert response.headers["content-type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "FeatureCollection" and len(body["features"]) == 12
    assert [f["properties"] for f in body["features"]] == as_json["areas"]
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in body["features"])
    cells = client.get("/api/v1/overlays/counts", params={"period": PERIOD, "by": "grid1km", "format": "geojson"},
                       headers=bearer(tokens["analyst"]))
    assert cells.status_code == 200 and cells.json()["features"][0]["geometry"]["type"] == "Polygon"


def test_insecurity_reports_are_counted_too(client: TestClient, tokens: dict, conn: psycopg.Connection) -> None:
    body = client.get("/api/v1/overlays/counts", params={"source": "insecurity_reports", "by": "kommune",
                                                         "period": "2025"}, headers=bearer(tokens["analyst"])).json()
    expected = conn.execute("SELECT count(*) FROM insecurity_report WHERE reported_on >= '2025-01-01'"
                            " AND reported_on < '2026-01-01' AND kommune_code = '0101'").fetchone()[0]
    assert next(a for a in body["areas"] if a["key"] == "0101")["count"] == expected > 0


@pytest.mark.parametrize(("params", "field"), [
    ({"by": "city"}, "by"), ({"by": "kommune", "period": "2025Q5"}, "period"),
    ({"by": "kommune", "category": "spøgelse"}, "category"), ({"by": "grid100m"}, "bbox"),
    ({"by": "kommune", "from": "2025-02-01", "to": "2025-01-01"}, "to"),
    ({"by": "kommune", "from": "2025-02-01"}, "to"), ({"by": "kommune", "hours": "25-3"}, "hours"),
    # Filters that do not apply are refused, never silently ignored (the answer's `filters` is what was applied).
    ({"by": "kommune", "kind": "nattelivszone"}, "kind"), ({"by": "zone", "kind": "disco"}, "kind"),
    ({"by": "kommune", "source": "insecurity_reports", "hours": "0-5"}, "hours"),
    ({"by": "kommune", "status": "open"}, "status"),
])
def test_bad_parameters_name_the_field(client: TestClient, tokens: dict, params: dict, field: str) -> None:
    response = client.get("/api/v1/overlays/counts", params=params, headers=bearer(tokens["analyst"]))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


def test_cli_counts_as_the_public_and_as_an_analyst(db_name: str, monkeypatch) -> None:
    import json

    from typer.testing import CliRunner

    from geoservice.cli import app
    from geoservice.settings import get_settings

    monkeypatch.setenv("GEOSERVICE_DB_NAME", db_name)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        as_public = runner.invoke(app, ["overlays", "counts", "--by", "politikreds", "--period", PERIOD, "--as",
                                        "public", "--format", "json"])
        analyst = runner.invoke(app, ["overlays", "counts", "--by", "kommune", "--period", PERIOD])
        straf = runner.invoke(app, ["overlays", "straf11", "--kommune", "0101"])
        reports = runner.invoke(app, ["overlays", "reports", "list", "--status", "open"])
    finally:
        get_settings.cache_clear()
    assert as_public.exit_code == 0, as_public.output
    body = json.loads(as_public.output)
    assert body["exact"] is False and len(body["areas"]) == 12
    assert analyst.exit_code == 0 and "København" in analyst.output
    assert straf.exit_code == 0 and json.loads(straf.output)["series"][0]["quarter"] == "2007Q1"
    assert reports.exit_code == 0 and "open" in reports.output


def test_staff_kind_filter_on_zones(client: TestClient, tokens: dict) -> None:
    body = analyst(client, tokens, by="zone", kind="visitationszone,sub_omraade")
    assert body["filters"] == {"kind": ["visitationszone", "sub_omraade"]}
    assert body["areas"] and {a["kind"] for a in body["areas"]} == {"visitationszone", "sub_omraade"}
    everything = {a["key"]: a for a in analyst(client, tokens, by="zone")["areas"]}
    assert all(a == everything[a["key"]] for a in body["areas"])


@pytest.mark.parametrize("by", ["national", "kommune", "politikreds", "grid1km"])
def test_split_none_counts_each_incident_once(client: TestClient, tokens: dict, by: str) -> None:
    grouped = analyst(client, tokens, by=by)
    single = analyst(client, tokens, by=by, split="none")
    national = analyst(client, tokens, by="national")["areas"][0]["count"]
    assert sum(a["count"] for a in single["areas"]) == sum(a["count"] for a in grouped["areas"]) == national
    if "total" in single:
        assert single["total"]["count"] == grouped["total"]["count"] == national
