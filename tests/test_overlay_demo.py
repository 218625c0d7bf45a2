"""The demo overlays: incidents whose kommune totals follow STRAF11, concentrated in nightlife zones at night and
lower in visitation zones once they start; insecurity reports along the SUB areas; deterministic."""

from __future__ import annotations

import pandas as pd
import psycopg
import pytest
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
