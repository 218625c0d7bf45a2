"""The demo overlays: incidents whose kommune totals follow STRAF11, concentrated in nightlife zones at night and
lower in visitation zones once they start; insecurity reports along the SUB areas; deterministic."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
from pathlib import Path

import pandas as pd
import psycopg
import pytest
import shapely
import yaml
from fastapi.testclient import TestClient

from geoservice import timeutil
from geoservice.demo.build import build
from geoservice.overlays.demo import build_overlays
from tests.conftest import bearer


@pytest.fixture(scope="module")
def recipe(settings) -> dict:
    return yaml.safe_load((settings.layers_dir / "demo" / "overlays.yaml").read_text())


def test_kommune_totals_follow_straf11_at_the_sampling_fraction(conn: psycopg.Connection, settings, recipe) -> None:
    spec = recipe["incidents"]
    straf = pd.read_csv(settings.shared_data_dir / "statistics/straf11_reported_offences_by_kommune_quarter.csv",
                        dtype={"kommune_code": str})
    totals = straf[straf["quarter"].str.startswith(str(spec["straf11_year"]))].groupby("kommune_code")[
        "reported_offences"].sum()
    got = dict(conn.execute("SELECT kommune_code, count(*) FROM incident WHERE source = 'demo' AND "
                            "extract(year FROM occurred_at AT TIME ZONE 'Europe/Copenhagen') = %s GROUP BY 1",
                            (spec["year"],)).fetchall())
    expected = {k: round(int(v) * spec["sample_fraction"]) for k, v in totals.items()}
    assert got == {k: v for k, v in expected.items() if v}
    # Every other demo incident is of the rolling recent slice, after that year and before today.
    others = conn.execute("SELECT count(*), count(*) FILTER (WHERE external_id LIKE %s AND occurred_at < now()"
                          " AND occurred_at >= %s::timestamptz) FROM incident WHERE source = 'demo' AND extract("
                          "year FROM occurred_at AT TIME ZONE 'Europe/Copenhagen') <> %s",
                          (spec["recent"]["id_prefix"] + "-%", f"{spec['year'] + 1}-01-01T00:00+01:00",
                           spec["year"])).fetchone()
    assert others[0] == others[1] and others[0] > 0


def test_nightlife_zones_are_busy_between_midnight_and_five(conn: psycopg.Connection) -> None:
    inside, outside = conn.execute("""
        SELECT avg(night::int) FILTER (WHERE in_zone), avg(night::int) FILTER (WHERE NOT in_zone)
        FROM (SELECT extract(hour FROM i.occurred_at AT TIME ZONE 'Europe/Copenhagen') < 5 AS night,
                     EXISTS (SELECT 1 FROM zone_version v JOIN zone z ON z.id = v.zone_id
                             WHERE z.kind = 'nattelivszone' AND v.state = 'published'
                               AND v.geom && i.geom AND ST_Intersects(v.geom, i.geom)) AS in_zone
              FROM incident i WHERE i.source = 'demo' AND i.kommune_code IN ('0101', '0851')) x""").fetchone()
    assert inside > 3 * outside and inside > 0.3  # 00-05 is about a tenth of incidents elsewhere


def test_insecurity_reports_lie_along_the_sub_areas(conn: psycopg.Connection) -> None:
    far = conn.execute("""
        SELECT count(*) FROM insecurity_report r
        WHERE r.external_key LIKE 'demo-%%' AND r.external_key NOT LIKE 'demo-report-recent-%%' AND NOT EXISTS (
            SELECT 1 FROM zone z JOIN zone_version v ON v.zone_id = z.id
            WHERE z.kind = 'sub_omraade' AND ST_DWithin(v.geom, r.geom, 151))""").fetchone()[0]
    total, opened = conn.execute("SELECT count(*), count(*) FILTER (WHERE status = 'open') FROM insecurity_report"
                                 " WHERE external_key LIKE 'demo-%%' AND external_key NOT LIKE 'demo-report-recent-%%'"
                                 ).fetchone()
    assert far == 0 and total == 36 and 0 < opened < total


@pytest.mark.slow
def test_overlay_build_is_deterministic(settings) -> None:
    data = build(settings.shared_data_dir, settings.layers_dir)
    first = build_overlays(data, settings.shared_data_dir, settings.layers_dir, today=dt.date(2026, 11, 22))
    second = build_overlays(data, settings.shared_data_dir, settings.layers_dir, today=dt.date(2026, 11, 22))
    pd.testing.assert_frame_equal(first.incidents, second.incidents)
    pd.testing.assert_frame_equal(first.survey, second.survey)
    assert first.reports == second.reports


def test_every_din_betjent_sector_has_recent_incidents_and_open_reports(client: TestClient, tokens: dict,
                                                                       conn: psycopg.Connection) -> None:
    """The officer view's last 30 days is never empty on the demo: the rolling slice is dated before the load."""
    sectors = [r[0] for r in conn.execute("SELECT code FROM patrol_sector ORDER BY code").fetchall()]
    assert len(sectors) > 20
    for code in sectors:
        body = client.get(f"/api/v1/overlays/sectors/{code}/recent", headers=bearer(tokens["analyst"])).json()
        assert body["incidents"]["count"] > 0, code
        assert body["open_reports"]["count"] > 0, code
    officer = client.get("/api/v1/overlays/sectors/KBH-CITY-01/recent", headers=bearer(tokens["officer"])).json()
    assert officer["incidents"]["count"] > 10 and officer["open_reports"]["count"] > 0


def test_a_load_on_a_later_day_adds_the_new_days_and_changes_nothing_else(settings, make_db) -> None:
    """Same day: nothing changes (tests/test_demo.py). Three days later: the three new days are added, the rows of
    the days already loaded stay as they are (same keys, same content), no incident or report twice."""
    from geoservice.db import connect, connect_async
    from geoservice.overlays.demo import load_overlays

    name = make_db()
    with connect(settings, name, autocommit=True) as db:
        before = db.execute("SELECT count(*), max(occurred_at) FROM incident WHERE source = 'demo'").fetchone()
        reports_before = db.execute("SELECT count(*) FROM insecurity_report").fetchone()[0]
    data = build(settings.shared_data_dir, settings.layers_dir)
    today = settings.demo_today  # the day the demo was loaded for (conftest.py): the clock may have passed midnight
    assert today is not None
    later = build_overlays(data, settings.shared_data_dir, settings.layers_dir, today=today + dt.timedelta(days=3))
    new_days = {d.strftime("%Y%m%d") for d in later.recent_days if d >= today}
    assert len(new_days) == 3

    async def go():
        conn = await connect_async(settings, name)
        try:
            return await load_overlays(conn, later)
        finally:
            await conn.close()

    report = asyncio.run(go())
    recent = later.incidents[later.incidents["external_id"].str.startswith("demo-recent-")]
    added = recent["external_id"].str.split("-").str[2].isin(new_days).sum()
    assert report.incidents == (added, 0) and added > 0
    new_reports = [r for r in later.reports if r["reported_on"] >= today]
    assert report.reports_added == len(new_reports)
    with connect(settings, name, autocommit=True) as db:
        after = db.execute("SELECT count(*), max(occurred_at) FROM incident WHERE source = 'demo'").fetchone()
        assert after[0] == before[0] + added and after[1] > before[1]
        assert db.execute("SELECT count(*) FROM insecurity_report").fetchone()[0] == reports_before + len(new_reports)


def test_demo_survey_reproduces_the_published_sub_fall_and_varies_by_kreds(client: TestClient, tokens: dict
                                                                         ) -> None:
    """Seed facts: SUB areas 18.8% (2014) -> 16.5% (2016) unsafe is a significant fall; 16.5% against 6.4%
    nationally. The kredse without a published figure differ (a labelled spread), so the choropleth shows
    something, and none but København (11) and Københavns Vestegn (10) is significantly less safe than the
    country (more unsafe, beyond its 95% interval)."""
    analyst = bearer(tokens["analyst"])
    change = client.get("/api/v1/overlays/survey/change", params={"by": "kind", "from_year": 2014, "to_year": 2016},
                        headers=analyst).json()
    sub = next(a for a in change["areas"] if a["key"] == "sub_omraade")
    assert sub["from"]["share"] == pytest.approx(0.188, abs=0.002) and sub["to"]["share"] == pytest.approx(0.165,
                                                                                                           abs=0.002)
    assert sub["change"]["significant_5pct"] and sub["change"]["verdict"] == "significant at 5%"
    national = client.get("/api/v1/overlays/survey", params={"by": "national", "year": 2016},
                          headers=analyst).json()["areas"][0]
    assert national["unsafe"]["share"] == pytest.approx(0.064, abs=0.002)
    kredse = {a["key"]: a for a in client.get("/api/v1/overlays/survey", params={"by": "politikreds", "year": 2016},
                                              headers=analyst).json()["areas"]}
    assert len(kredse) == 12
    for metric in ("unsafe", "trust"):
        shares = [a[metric]["share"] for a in kredse.values()]
        assert len(set(shares)) >= 10, (metric, shares)
    less_safe = {k for k, a in kredse.items() if a["unsafe"]["ci95"][0] > national["unsafe"]["share"]}
    assert less_safe <= {"10", "11"} and "10" in less_safe, less_safe


# --- rules as data, and times by the service's own rule ------------------------------------------------------------


def test_the_demo_code_names_no_zone_kind_or_politikreds(settings) -> None:
    """Which kinds draw nightlife incidents or thin them, and where a respondent belongs, are the recipe's and the
    data's business (layers/demo/overlays.yaml, the kommune's politikreds), not constants in the code."""
    import ast

    from geoservice.layers import get_layers
    from geoservice.overlays import demo

    tree = ast.parse(Path(demo.__file__).read_text(encoding="utf-8"))
    literals = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    assert not literals & set(get_layers().kinds), literals & set(get_layers().kinds)
    assert not literals & {str(k) for k in range(1, 13)}


def _inside(frame: pd.DataFrame, zones: list) -> float:
    union = shapely.union_all([z.geom for z in zones])
    return float(shapely.contains_xy(union, frame["x"].to_numpy(), frame["y"].to_numpy()).mean())


def test_the_recipe_names_the_kinds_the_incidents_follow(settings, recipe) -> None:
    from geoservice.overlays.demo import build_incidents
    from geoservice.overlays.official_statistics import read_statistics

    data = build(settings.shared_data_dir, settings.layers_dir)
    stats = read_statistics(settings.shared_data_dir)
    stats = stats[stats["kommune_code"] == "0101"]  # København only: quick
    sub = [z for z in data.zones if z.kind == "sub_omraade" and not z.draft]
    nightlife = [z for z in data.zones if z.kind == "nattelivszone" and not z.draft and z.kommune == "0101"]
    spec = copy.deepcopy(recipe["incidents"])
    as_is = build_incidents(data, settings.shared_data_dir, spec, stats)
    share = spec["nightlife"]["share"]
    spec["nightlife"]["kind"] = "sub_omraade"
    moved = build_incidents(data, settings.shared_data_dir, spec, stats)
    # The nightlife share moves from the nightlife zones (busy anyway: bars) to the SUB areas.
    assert _inside(moved, sub) - _inside(as_is, sub) > 0.8 * share
    assert _inside(as_is, nightlife) - _inside(moved, nightlife) > 0.5 * share
    spec = copy.deepcopy(recipe["incidents"])
    spec["visitation"] |= {"kind": "sub_omraade", "reduction": 1.0}  # the demo SUB areas are public
    emptied = build_incidents(data, settings.shared_data_dir, spec, stats)
    assert _inside(emptied, sub) == 0.0


def test_demo_times_resolve_summer_time_like_timeutil() -> None:
    """The repeated autumn hour is its first (summer-time) occurrence and the skipped spring hour moves forward by
    the gap, as geoservice.timeutil resolves wall-clock times."""
    import datetime as dt

    import numpy as np

    from geoservice.overlays.demo import _local_times

    days = np.array([(dt.date(2025, 10, 26) - dt.date(2025, 1, 1)).days,
                     (dt.date(2025, 3, 30) - dt.date(2025, 1, 1)).days])
    got = _local_times(2025, days, np.array([2, 2]), np.array([1800, 1800])).tolist()
    expected = [timeutil.resolve_wall_clock(dt.datetime(2025, 10, 26, 2, 30)),
                timeutil.resolve_wall_clock(dt.datetime(2025, 3, 30, 2, 30))]
    assert [t.to_pydatetime() for t in got] == expected
    assert expected == [dt.datetime(2025, 10, 26, 0, 30, tzinfo=dt.UTC), dt.datetime(2025, 3, 30, 1, 30, tzinfo=dt.UTC)]
