"""The public map with more zones in view than SVG can draw quickly: above 1,000 they are drawn on one canvas,
and a citizen still sees the count, the list, and a zone's popup from its marker (bench/map_tiles.py measures
the speed)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import psycopg
import pytest
from playwright.sync_api import expect

from geoservice.settings import Settings
from tests.conftest import serving

pytestmark = pytest.mark.browser

AT = "2027-06-01T12:00"
ZONES = 1200
CENTRE = (55.45, 11.80)  # Zealand: the view's centre, where one named zone lies apart from the crowd on Funen


@pytest.fixture(scope="module")
def crowded(settings: Settings, own_db: str, own_conn: psycopg.Connection) -> Iterator[str]:
    own_conn.execute("SET session_replication_role = replica")  # test rows, not decisions: no audit rows
    own_conn.execute(
        """INSERT INTO zone (kind, name, visibility, illustrative, politikreds_code, source_key)
           SELECT 'nattelivszone', CASE WHEN g = 0 THEN 'Midtpunktszonen' ELSE 'Mængdezone ' || g END, 'public',
                  true, '2', 'many-zones:' || g
           FROM generate_series(0, %(n)s - 1) g""", {"n": ZONES})
    own_conn.execute(
        """INSERT INTO zone_version (zone_id, version_no, change, state, geom, valid, decision_ref, legal_basis,
                                     published_at, published_by, created_by)
           SELECT z.id, 1, 'designation', 'published',
                  ST_Multi(ST_Buffer(ST_Transform(ST_SetSRID(ST_MakePoint(
                      CASE WHEN g = 0 THEN %(lon)s ELSE 9.9 + 1.0 * ((g * 7919) %% 1009) / 1009.0 END,
                      CASE WHEN g = 0 THEN %(lat)s ELSE 55.1 + 0.6 * ((g * 104729) %% 1013) / 1013.0 END), 4326),
                      25832), 150, 4)),
                  tstzrange('2027-01-01', '2027-12-01', '[)'), 'MANY-' || g, 'Politiloven § 6', '2026-12-01',
                  'test', 'test'
           FROM (SELECT id, substring(source_key from 12)::int AS g FROM zone
                 WHERE source_key LIKE 'many-zones:%%') z""", {"lat": CENTRE[0], "lon": CENTRE[1]})
    own_conn.execute("SET session_replication_role = DEFAULT")
    own_conn.execute("ANALYZE zone, zone_version")
    with serving(settings, own_db) as base:
        yield base


def test_more_than_a_thousand_zones_are_drawn_on_a_canvas_and_still_answer(page, crowded: str) -> None:
    page.goto(f"{crowded}/#z=8&c={CENTRE[0]},{CENTRE[1]}&t={AT}")
    page.wait_for_selector("body[data-ready=true]", timeout=60_000)
    status = page.locator("#status").inner_text()
    counted = re.search(r"(\d\.\d{3}) zoner", status)  # Danish digit grouping
    assert counted and int(counted.group(1).replace(".", "")) >= ZONES, status
    assert page.locator(".leaflet-overlay-pane canvas").count() == 1
    assert page.locator("path.gs-zone").count() == 0  # no SVG element per zone
    page.click("#tab-list")
    expect(page.locator("#zone-table tbody tr")).to_have_count(int(counted.group(1).replace(".", "")))
    # the zone under the centre of the map: its marker (a small zone at this zoom) opens its popup
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.locator(".leaflet-popup-content", has_text="Midtpunktszonen").last).to_be_visible(timeout=15_000)
