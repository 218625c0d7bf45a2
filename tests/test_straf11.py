"""The STRAF11 layer: Statistics Denmark's reported offences per kommune per quarter, exactly as in the CSV."""

from __future__ import annotations

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from geoservice.overlays.official_statistics import FOLK1A, STRAF11


@pytest.fixture(scope="module")
def csv(settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    straf = pd.read_csv(settings.shared_data_dir / STRAF11, dtype={"kommune_code": str})
    folk = pd.read_csv(settings.shared_data_dir / FOLK1A, dtype={"kommune_code": str})
    return straf, folk


def test_a_quarter_matches_the_csv(client: TestClient, csv) -> None:
    straf, folk = csv
    body = client.get("/api/v1/overlays/straf11", params={"period": "2022Q4"}).json()
    expected = straf[(straf["quarter"] == "2022Q4") & straf["kommune_code"].notna()]
    got = {a["key"]: a["reported_offences"] for a in body["areas"]}
    assert got == dict(zip(expected["kommune_code"], expected["reported_offences"], strict=True))
    unknown = straf[(straf["quarter"] == "2022Q4") & straf["kommune_code"].isna()]["reported_offences"].sum()
    assert body["unknown_municipality"] == unknown
    kbh = next(a for a in body["areas"] if a["key"] == "0101")
    population = folk[(folk["quarter"] == "2022Q4") & (folk["kommune_code"] == "0101")]["population"].iloc[0]
    assert kbh["population"] == population
    assert kbh["per_1000"] == pytest.approx(1000 * kbh["reported_offences"] / population, abs=1e-3)
    assert "Danmarks Statistik" in body["source"]


def test_a_year_sums_its_quarters_and_a_series_is_complete(client: TestClient, csv) -> None:
    straf, _ = csv
    year = {a["key"]: a["reported_offences"] for a in
            client.get("/api/v1/overlays/straf11", params={"period": "2019"}).json()["areas"]}
    expected = straf[straf["quarter"].str.startswith("2019")].groupby("kommune_code")["reported_offences"].sum()
    assert year == expected.to_dict()
    series = client.get("/api/v1/overlays/straf11", params={"kommune": "0851"}).json()["series"]
    rows = straf[straf["kommune_code"] == "0851"].sort_values("quarter")
    assert [s["reported_offences"] for s in series] == rows["reported_offences"].tolist()
    assert series[0]["quarter"] == "2007Q1" and series[0]["population"] is None  # FOLK1A starts 2008Q1


def test_geojson_layer_and_bad_periods(client: TestClient) -> None:
    layer = client.get("/api/v1/overlays/straf11", params={"period": "2022Q4", "format": "geojson"})
    assert layer.headers["content-type"] == "application/geo+json"
    features = layer.json()["features"]
    assert len(features) == 99 and all(f["geometry"] for f in features)
    assert client.get("/api/v1/overlays/straf11", params={"period": "2030Q1"}).status_code == 404
    assert client.get("/api/v1/overlays/straf11", params={"period": "Q4"}).status_code == 422
