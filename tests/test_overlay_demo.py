"""The demo overlays: incidents whose kommune totals follow STRAF11, concentrated in nightlife zones at night and
lower in visitation zones once they start; insecurity reports along the SUB areas; deterministic."""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import psycopg
import pytest
import shapely
import yaml

from geoservice.demo.build import build
from geoservice.overlays.demo import build_overlays


@pytest.fixture(scope="module")
def recipe(settings) -> dict:
    return yaml.safe_load((settings.layers_dir / "demo" / "overlays.yaml").read_text())


def test_kommune_totals_follow_straf11_at_the_sampling_fraction(conn: psycopg.Connection, settings, recipe) -> None:
    spec = recipe["incidents"]
    straf = pd.read_csv(settings.shared_data_dir / "statistics/straf11_reported_offences_by_kommune_quarter.csv",
                        dtype={"kommune_code": str})
    totals = straf[straf["quarter"].str.startswith(str(spec["straf11_year"]))].groupby("kommune_code")[
        "reported_offences"].sum()
    got = dict(conn.execute("SELECT kommune_code, count(*) FROM incident WHERE source = 'demo' GROUP BY 1").fetchall())
    expected = {k: round(int(v) * spec["sample_fraction"]) for k, v in totals.items()}
    assert got == {k: v for k, v in expected.items() if v}
    years = conn.execute("SELECT DISTINCT extract(year FROM occurred_at AT TIME ZONE 'Europe/Copenhagen')::int"
                         " FROM incident WHERE source = 'demo'").fetchall()
    assert years == [(spec["year"],)]


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
        WHERE r.external_key LIKE 'demo-%%' AND NOT EXISTS (
            SELECT 1 FROM zone z JOIN zone_version v ON v.zone_id = z.id
            WHERE z.kind = 'sub_omraade' AND ST_DWithin(v.geom, r.geom, 151))""").fetchone()[0]
    total, opened = conn.execute("SELECT count(*), count(*) FILTER (WHERE status = 'open') FROM insecurity_report"
                                 " WHERE external_key LIKE 'demo-%%'").fetchone()
    assert far == 0 and total == 36 and 0 < opened < total


@pytest.mark.slow
def test_overlay_build_is_deterministic(settings) -> None:
    data = build(settings.shared_data_dir, settings.layers_dir)
    first = build_overlays(data, settings.shared_data_dir, settings.layers_dir)
    second = build_overlays(data, settings.shared_data_dir, settings.layers_dir)
    pd.testing.assert_frame_equal(first.incidents, second.incidents)
    pd.testing.assert_frame_equal(first.survey, second.survey)
    assert first.reports == second.reports


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

    from geoservice import timeutil
    from geoservice.overlays.demo import _local_times

    days = np.array([(dt.date(2025, 10, 26) - dt.date(2025, 1, 1)).days,
                     (dt.date(2025, 3, 30) - dt.date(2025, 1, 1)).days])
    got = _local_times(2025, days, np.array([2, 2]), np.array([1800, 1800])).tolist()
    expected = [timeutil.resolve_wall_clock(dt.datetime(2025, 10, 26, 2, 30)),
                timeutil.resolve_wall_clock(dt.datetime(2025, 3, 30, 2, 30))]
    assert [t.to_pydatetime() for t in got] == expected
    assert expected == [dt.datetime(2025, 10, 26, 0, 30, tzinfo=dt.UTC), dt.datetime(2025, 3, 30, 1, 30, tzinfo=dt.UTC)]
