"""Zone effect: incidents before vs during a designation period, inside the zone and in the rest of its kommune,
checked against geopandas on the same data; roles and zone visibility respected."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
import psycopg
import pytest
import shapely
from fastapi.testclient import TestClient

from geoservice.overlays.stats import ratio_of_ratios
from tests.conftest import bearer


def zone_id(conn: psycopg.Connection, name: str) -> int:
    return int(conn.execute("SELECT id FROM zone WHERE name = %s", (name,)).fetchone()[0])


def test_aalborg_midtby_matches_geopandas_and_falls_after_the_start(client: TestClient, tokens: dict,
                                                                    conn: psycopg.Connection) -> None:
    zid = zone_id(conn, "Visitationszone Aalborg Midtby")
    body = client.get(f"/api/v1/overlays/zone-effect/{zid}", headers=bearer(tokens["analyst"])).json()
    assert body["designation"]["from"] == "2025-09-01T16:00:00+02:00"
    assert body["designation"]["to"] == "2025-09-29T16:00:00+02:00"  # designation + extension, one run
    assert body["before"] == {"from": "2025-08-04T16:00:00+02:00", "to": "2025-09-01T16:00:00+02:00"}
    start = dt.datetime(2025, 9, 1, 14, 0, tzinfo=dt.UTC)
    length = dt.timedelta(days=28)
    geom = shapely.from_wkb(bytes(conn.execute("SELECT ST_AsBinary(geom) FROM zone_version WHERE zone_id = %s"
                                               " AND version_no = 1", (zid,)).fetchone()[0]))
    rows = conn.execute("SELECT occurred_at, kommune_code, ST_AsBinary(geom) FROM incident WHERE occurred_at >= %s"
                        " AND occurred_at < %s", (start - length, start + length)).fetchall()
    frame = gpd.GeoDataFrame(pd.DataFrame(rows, columns=["t", "kommune", "wkb"]),
                             geometry=shapely.from_wkb([bytes(r[2]) for r in rows]), crs=25832)
    inside = frame.intersects(geom)
    during = pd.to_datetime(frame["t"], utc=True) >= pd.Timestamp(start)
    in_kommune = frame["kommune"] == "0851"
    expected = {"before_in": int((inside & ~during).sum()), "during_in": int((inside & during).sum()),
                "before_ctrl": int((~inside & ~during & in_kommune).sum()),
                "during_ctrl": int((~inside & during & in_kommune).sum())}
    assert body["counts"] == expected
    rr = ratio_of_ratios(**expected)
    assert body["ratio_of_changes"]["ratio"] == pytest.approx(rr.ratio, abs=1e-4)
    assert body["ratio_of_changes"]["ci95"] == pytest.approx([rr.low, rr.high], abs=1e-4)
    # The demo moves incidents out of visitation zones once they start: the zone falls against its kommune.
    assert body["ratio_of_changes"]["ratio"] < 1
    assert body["control"]["kommune"] == "0851"


def test_nightlife_zone_within_its_daily_window_and_categories(client: TestClient, tokens: dict,
                                                               conn: psycopg.Connection) -> None:
    zid = zone_id(conn, "Nattelivszone Jomfru Ane Gade")
    all_day = client.get(f"/api/v1/overlays/zone-effect/{zid}", headers=bearer(tokens["analyst"])).json()
    night = client.get(f"/api/v1/overlays/zone-effect/{zid}", params={"daily_window": "true",
                                                                      "category": "personfarlig"},
                       headers=bearer(tokens["analyst"])).json()
    assert night["daily_window"] == {"start": "00:00", "end": "05:00"}
    assert night["categories"] == ["vold", "trusler", "drab", "brandstiftelse"]
    assert night["counts"]["during_in"] <= all_day["counts"]["during_in"]
    assert "still in force" in " ".join(all_day["notes"])
    refused = client.get(f"/api/v1/overlays/zone-effect/{zone_id(conn, 'Visitationszone Vejgaard')}",
                         params={"daily_window": "true"}, headers=bearer(tokens["analyst"]))
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "daily_window"


def test_zone_effect_respects_roles_and_zone_visibility(client: TestClient, tokens: dict,
                                                        conn: psycopg.Connection) -> None:
    aalborg = zone_id(conn, "Visitationszone Aalborg Øst")
    assert client.get(f"/api/v1/overlays/zone-effect/{aalborg}").status_code == 401
    assert client.get(f"/api/v1/overlays/zone-effect/{aalborg}", headers=bearer(tokens["officer_nj"])
                      ).status_code == 200
    assert client.get(f"/api/v1/overlays/zone-effect/{aalborg}", headers=bearer(tokens["officer"])
                      ).status_code == 403
    restricted = zone_id(conn, "Opholdsforbud § 6 g (demo-sag)")
    assert client.get(f"/api/v1/overlays/zone-effect/{restricted}", headers=bearer(tokens["analyst"])
                      ).status_code == 404
    assert client.get(f"/api/v1/overlays/zone-effect/{restricted}", headers=bearer(tokens["admin"])
                      ).status_code == 200
    draft = zone_id(conn, "Nattelivszone Nyhavn (udkast)")
    response = client.get(f"/api/v1/overlays/zone-effect/{draft}", headers=bearer(tokens["admin"]))
    assert response.status_code == 422 and "never been in force" in response.json()["detail"]
