"""Privacy of the overlays, tried from the wrong side: raw points, small bboxes, narrow or overlapping windows,
tiny cells, category subsets, and differencing published figures (total minus groups, politikreds minus kommuner,
country minus cells, a kommune minus a zone or a cell inside it). Officers see raw points only in their own
politikreds; analysts everywhere."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from fastapi.testclient import TestClient

from geoservice import timeutil
from geoservice.api.app import create_app
from geoservice.db import Database
from geoservice.overlays import aggregates
from geoservice.overlays.aggregates import TOTAL
from geoservice.overlays.taxonomy import get_overlay_rules
from geoservice.settings import Settings
from tests.conftest import bearer
from tests.helpers import GOTHERSGADE, TO_UTM, TO_WGS, offset

K = 5
LAESOE = (10.9948, 57.2724)       # Læsø kommune (0825), politikreds 1
BORNHOLM = (14.9305, 55.1431)     # Bornholm (0400), politikreds 12
CHRISTIANSOE = (15.1877, 55.3205)  # Christiansø (0411), politikreds 12
QUARTER = "2023Q1"                 # a quarter only this module writes to
GOTHERSGADE_QUARTER = "2023Q3"     # the nightlife zone Gothersgade is in force (from 1 July 2023)


def _rows(points: list[tuple[str, tuple[float, float], str]], day: str) -> str:
    lines = ["id,category,occurred_at,lat,lon"]
    for i, (category, (lon, lat), ident) in enumerate(points):
        lines.append(f"{ident},{category},{day}T{10 + i % 12:02d}:00:00+01:00,{lat:.7f},{lon:.7f}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def scenario(client: TestClient, tokens: dict) -> dict:
    """Small counts placed so that naive publication would leak by subtraction:
    - Læsø: 6 thefts in one 1 km cell and 1 drug offence elsewhere on the island (kommune 7 - cell 6 = 1, and
      total 7 - berigelse 6 = 1);
    - Bornholm kreds: 8 in Bornholm, 1 on Christiansø (kreds 9 - Bornholm 8 = 1);
    - Gothersgade (2023Q3): 6 inside the nightlife zone and 1 elsewhere in København."""
    x, y = TO_UTM.transform(*LAESOE)
    cell_x, cell_y = (x // 1000) * 1000 + 500, (y // 1000) * 1000 + 500
    in_cell = [TO_WGS.transform(cell_x + dx, cell_y + dy) for dx, dy in
               ((-300, -300), (-100, 200), (0, 0), (200, -200), (300, 300), (100, 100))]
    elsewhere = TO_WGS.transform(cell_x + 2500, cell_y - 1500)
    points = [("tyveri", p, f"laesoe-{i}") for i, p in enumerate(in_cell)]
    points.append(("narko", elsewhere, "laesoe-x"))
    points += [("vold", offset(*BORNHOLM, 40 * i, 0), f"bornholm-{i}") for i in range(8)]
    points.append(("vold", CHRISTIANSOE, "christiansoe-1"))
    data = _rows(points, "2023-02-14")
    response = client.post("/api/v1/imports/incidents", params={"source": "privacy"}, headers=bearer(tokens["admin"]),
                           files={"file": ("privacy.csv", data.encode(), "text/csv")})
    assert response.status_code == 201, response.text
    inside = [("vold", offset(*GOTHERSGADE, 15 * i, 0), f"gothersgade-{i}") for i in range(6)]
    inside.append(("vold", (12.5900, 55.6600), "koebenhavn-x"))
    response = client.post("/api/v1/imports/incidents", params={"source": "privacy"}, headers=bearer(tokens["admin"]),
                           files={"file": ("privacy2.csv", _rows(inside, "2023-08-12").encode(), "text/csv")})
    assert response.status_code == 201, response.text
    cell = f"1km_{int(cell_y // 1000)}_{int(cell_x // 1000)}"
    return {"cell": cell}


def public(client: TestClient, by: str, period: str = QUARTER, **params: str) -> dict:
    response = client.get("/api/v1/overlays/counts", params={"by": by, "period": period, **params})
    assert response.status_code == 200, response.text
    return response.json()


def is_hidden(value: object) -> bool:
    return value in (f"<{K}", "withheld")


def published_values(body: dict):
    for area in body["areas"]:
        yield area["count"]
        yield from area["counts"].values()
    if "total" in body:
        yield body["total"]["count"]
        yield from body["total"]["counts"].values()


@pytest.mark.parametrize("by", ["national", "politikreds", "kommune", "sector", "zone"])
@pytest.mark.parametrize("period", [QUARTER, GOTHERSGADE_QUARTER, "2025Q3"])
def test_no_public_figure_is_a_small_count(client: TestClient, scenario: dict, by: str, period: str) -> None:
    body = public(client, by, period)
    assert body["exact"] is False and body["suppression"]["k"] == K
    for value in published_values(body):
        assert value == 0 or is_hidden(value) or value >= K, value
    for area in body["areas"]:
        if is_hidden(area["count"]):
            assert area["per_km2"] is None and area.get("per_1000") is None  # rate x area would give it back


def _check_subtraction(parent: object, children: list[object]) -> None:
    """parent - Σ published children must not isolate a small positive number."""
    if is_hidden(parent):
        return
    published = [c for c in children if not is_hidden(c)]
    hidden = len(children) - len(published)
    rest = int(parent) - sum(int(c) for c in published)
    assert rest == 0 or rest >= K, f"subtraction gives {rest}"
    assert hidden != 1 or rest == 0 or rest >= K


@pytest.mark.parametrize("by", ["national", "politikreds", "kommune", "sector", "zone"])
@pytest.mark.parametrize("period", [QUARTER, GOTHERSGADE_QUARTER, "2025Q2"])
def test_total_minus_the_other_groups_never_reveals_a_group(client: TestClient, scenario: dict, by: str,
                                                            period: str) -> None:
    for area in public(client, by, period)["areas"]:
        values = list(area["counts"].values())
        _check_subtraction(area["count"], values)
        # One withheld group with a published total would be recovered exactly, whatever its size.
        if not is_hidden(area["count"]):
            assert sum(1 for v in values if is_hidden(v)) != 1


@pytest.mark.parametrize("period", [QUARTER, "2025Q2"])
def test_politikreds_minus_its_kommuner_and_country_minus_parts(client: TestClient, scenario: dict,
                                                                period: str) -> None:
    kommuner = public(client, "kommune", period)
    kredse = public(client, "politikreds", period)
    columns = ["count"]
    for kreds in kredse["areas"]:
        members = [a for a in kommuner["areas"] if a["parent"] == kreds["key"]]
        for column in columns:
            _check_subtraction(kreds[column], [m[column] for m in members])
        for group in kreds["counts"]:
            _check_subtraction(kreds["counts"][group], [m["counts"][group] for m in members])
    national = kredse["total"]
    _check_subtraction(national["count"], [k["count"] for k in kredse["areas"]])
    # The same cell has the same value in every table (so no two queries disagree usefully).
    assert kommuner["total"] == kredse["total"]


def test_grid_cells_are_not_published(client: TestClient, scenario: dict) -> None:
    # A kommune minus the dense 1 km cell inside it, or a kommune as the sum of its cells, would pin single
    # incidents (Læsø: 7 in total, 6 of them in one cell): cells are staff only.
    response = client.get("/api/v1/overlays/counts", params={"by": "grid1km", "period": QUARTER})
    assert response.status_code == 403 and "by" in [e["field"] for e in response.json()["errors"]]


def test_a_politikreds_minus_its_big_kommune_does_not_reveal_the_small_one(client: TestClient,
                                                                           scenario: dict) -> None:
    kreds = next(a for a in public(client, "politikreds")["areas"] if a["key"] == "12")
    kommuner = {a["key"]: a for a in public(client, "kommune")["areas"]}
    assert kommuner["0411"]["count"] == f"<{K}"
    assert is_hidden(kommuner["0400"]["count"]) or is_hidden(kreds["count"])


def test_a_kommune_minus_the_zone_inside_it_is_not_revealed(client: TestClient, tokens: dict, scenario: dict,
                                                            conn: psycopg.Connection) -> None:
    zone_id = str(conn.execute("SELECT id FROM zone WHERE name = 'Nattelivszone Gothersgade'").fetchone()[0])
    zone = next(a for a in public(client, "zone", GOTHERSGADE_QUARTER)["areas"] if a["key"] == zone_id)
    kommune = next(a for a in public(client, "kommune", GOTHERSGADE_QUARTER)["areas"] if a["key"] == "0101")
    # The exact figures (analyst) show what the suppression protects: 7 in København, 6 of them in the zone, so
    # the kommune minus the zone would isolate the one incident elsewhere, in the total and in its group.
    exact = {by: next(a for a in client.get("/api/v1/overlays/counts", params={
        "by": by, "period": GOTHERSGADE_QUARTER}, headers=bearer(tokens["analyst"])).json()["areas"]
        if a["key"] == key) for by, key in (("zone", zone_id), ("kommune", "0101"))}
    assert (exact["zone"]["count"], exact["kommune"]["count"]) == (6, 7)
    assert exact["kommune"]["counts"]["personfarlig"] - exact["zone"]["counts"]["personfarlig"] == 1
    for column in ["count", *zone["counts"]]:
        z = zone[column] if column == "count" else zone["counts"][column]
        k = kommune[column] if column == "count" else kommune["counts"][column]
        exact_z = exact["zone"][column] if column == "count" else exact["zone"]["counts"][column]
        assert not (isinstance(z, int) and isinstance(k, int) and 0 < k - z < K), (column, k, z)
        assert z == exact_z or is_hidden(z), (column, z, exact_z)  # published cells are the exact ones
    assert is_hidden(zone["count"]) or is_hidden(kommune["count"])


# --- what the secondary suppression protects --------------------------------------------------------------------


def _build(settings: Settings, db_name: str, period: str, *, secondary: bool) -> dict:
    """The whole public table of a quarter, with or without the secondary suppression."""

    async def run() -> dict:
        db = Database(settings, db_name)
        await db.open()
        try:
            return await aggregates._build_published(db, settings, "incidents", aggregates.period_window(period),
                                                     get_overlay_rules(), secondary=secondary)
        finally:
            await db.close()

    return asyncio.run(run())


def _cell(table: dict, family: str, key: str, column: str = TOTAL) -> int | None:
    """A published cell of the table, None when withheld."""
    if (family, key, column) in table["hidden"]:
        return None
    if family == "national":
        return table["total"].get(column, 0)
    return next(r for r in table["rows"][family] if r.key == key).counts.get(column, 0)


def _attacks(table: dict, period: str, cell: str, zone_id: str) -> dict[str, int | None]:
    """Each differencing attack of the scenario: what it recovers from the published cells (None: an input is
    withheld, so the attack cannot be made)."""

    def minus(parent: tuple[str, ...], *children: tuple[str, ...]) -> int | None:
        values = [_cell(table, *parent), *(_cell(table, *c) for c in children)]
        return None if any(v is None for v in values) else values[0] - sum(values[1:])

    if period == QUARTER:
        groups = [c for c in table["columns"] if c != TOTAL]
        published_groups = [("kommune", "0825", g) for g in groups if _cell(table, "kommune", "0825", g) is not None]
        return {
            "Læsø's total minus its published groups": minus(("kommune", "0825"), *published_groups),
            "kreds 12 minus Bornholm (Christiansø)": minus(("politikreds", "12"), ("kommune", "0400")),
        }
    return {"København minus the Gothersgade zone": minus(("kommune", "0101"), ("zone", zone_id))}


@pytest.mark.parametrize("period", [QUARTER, GOTHERSGADE_QUARTER])
def test_differencing_attacks_succeed_without_secondary_suppression_and_fail_with_it(
        settings: Settings, db_name: str, scenario: dict, conn: psycopg.Connection, period: str) -> None:
    zone_id = str(conn.execute("SELECT id FROM zone WHERE name = 'Nattelivszone Gothersgade'").fetchone()[0])
    naive = _attacks(_build(settings, db_name, period, secondary=False), period, scenario["cell"], zone_id)
    # Primary suppression alone: every small cell shows "<k", yet each attack isolates the one incident.
    assert naive and all(v == 1 for v in naive.values()), naive
    protected = _build(settings, db_name, period, secondary=True)
    for attack, value in _attacks(protected, period, scenario["cell"], zone_id).items():
        assert value is None or value == 0 or value >= K, (attack, value)


def test_the_published_table_is_the_protected_one(client: TestClient, settings: Settings, db_name: str,
                                                  scenario: dict) -> None:
    """What the public is served is the table built with the secondary suppression."""
    table = _build(settings, db_name, QUARTER, secondary=True)
    body = public(client, "kommune")
    for area in body["areas"]:
        expected = _cell(table, "kommune", area["key"])
        assert area["count"] == expected if expected is not None else is_hidden(area["count"])


@pytest.mark.parametrize(("params", "field"), [
    ({"by": "grid100m", "period": QUARTER, "bbox": "10.9,57.2,11.1,57.3"}, "by"),
    ({"by": "kommune", "period": QUARTER, "bbox": "10.99,57.27,11.0,57.28"}, "bbox"),
    ({"by": "kommune", "from": "2023-02-14T00:00:00+01:00", "to": "2023-02-15T00:00:00+01:00"}, "period"),
    ({"by": "kommune", "period": "2023-02"}, "period"),
    ({"by": "kommune", "period": "2023"}, "period"),
    ({"by": "kommune", "from": "2023-01-01T00:00:00+01:00", "to": "2023-03-01T00:00:00+01:00"}, "period"),
    ({"by": "kommune", "period": QUARTER, "category": "vold"}, "category"),
    ({"by": "kommune", "period": QUARTER, "split": "category"}, "split"),
    ({"by": "kommune", "period": QUARTER, "politikreds": "1"}, "politikreds"),
    ({"by": "kommune", "period": QUARTER, "kommune": "0825"}, "kommune"),
    ({"by": "kommune", "period": QUARTER, "hours": "0-5"}, "hours"),
])
def test_queries_outside_the_published_tables_are_refused(client: TestClient, params: dict, field: str) -> None:
    response = client.get("/api/v1/overlays/counts", params=params)
    assert response.status_code == 403, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


def test_a_quarter_given_as_from_to_is_the_published_table(client: TestClient, scenario: dict) -> None:
    as_period = public(client, "kommune")
    as_window = client.get("/api/v1/overlays/counts", params={
        "by": "kommune", "from": "2023-01-01T00:00:00+01:00", "to": "2023-04-01T00:00:00+02:00"}).json()
    assert as_window["areas"] == as_period["areas"]


def test_group_filter_reads_the_same_cells(client: TestClient, scenario: dict) -> None:
    full = {a["key"]: a for a in public(client, "kommune")["areas"]}
    only = {a["key"]: a for a in public(client, "kommune", category="berigelse")["areas"]}
    for key, area in only.items():
        assert area["counts"] == {"berigelse": full[key]["counts"]["berigelse"]}
        assert area["count"] == full[key]["count"]


def test_k_is_configurable(settings: Settings, db_name: str, scenario: dict) -> None:
    strict = settings.model_copy(update={"suppression_k": 10})
    with TestClient(create_app(strict, dbname=db_name)) as other:
        body = other.get("/api/v1/overlays/counts", params={"by": "kommune", "period": QUARTER}).json()
    laesoe = next(a for a in body["areas"] if a["key"] == "0825")
    assert laesoe["count"] == "<10" and body["suppression"]["k"] == 10


def test_analysts_see_exact_figures(client: TestClient, tokens: dict, scenario: dict) -> None:
    body = client.get("/api/v1/overlays/counts", params={"by": "kommune", "period": QUARTER},
                      headers=bearer(tokens["analyst"])).json()
    laesoe = next(a for a in body["areas"] if a["key"] == "0825")
    assert body["exact"] is True and laesoe["count"] == 7 and laesoe["counts"]["berigelse"] == 6


# --- raw points ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/overlays/incidents", "/api/v1/overlays/insecurity-reports",
                                  "/api/v1/overlays/survey/responses", "/api/v1/overlays/sectors/KBH-CITY-01/recent",
                                  "/api/v1/overlays/zone-effect/1", "/api/v1/imports"])
def test_the_public_never_gets_raw_points_or_answers(client: TestClient, path: str) -> None:
    response = client.get(path, params={"bbox": "10.99,57.27,11.0,57.28"} if "incidents" in path else {})
    assert response.status_code == 401
    assert "features" not in response.text


def test_officers_see_raw_points_only_in_their_own_politikreds(client: TestClient, tokens: dict,
                                                               scenario: dict) -> None:
    mine = client.get("/api/v1/overlays/incidents", params={"limit": 10_000, "from": "2023-01-01",
                                                            "to": "2023-10-01"},
                      headers=bearer(tokens["officer"])).json()
    assert mine["restricted_to_politikreds"] == "11"
    kredse = {f["properties"]["politikreds"] for f in mine["features"]}
    assert kredse == {"11"}  # Gothersgade yes; Læsø (1) and Bornholm (12) no
    other = client.get("/api/v1/overlays/incidents", params={"politikreds": "1"}, headers=bearer(tokens["officer"]))
    assert other.status_code == 403
    # A bbox around Læsø gives the Copenhagen officer nothing, the North Jutland officer the points.
    bbox = {"bbox": "10.8,57.1,11.3,57.4", "from": "2023-01-01", "to": "2023-04-01"}
    assert client.get("/api/v1/overlays/incidents", params=bbox,
                      headers=bearer(tokens["officer"])).json()["numberMatched"] == 0
    assert client.get("/api/v1/overlays/incidents", params=bbox,
                      headers=bearer(tokens["officer_nj"])).json()["numberMatched"] == 7
    assert client.get("/api/v1/overlays/incidents", params=bbox,
                      headers=bearer(tokens["analyst"])).json()["numberMatched"] == 7
    assert client.get("/api/v1/overlays/survey/responses", headers=bearer(tokens["officer"])).status_code == 403


def test_officer_aggregates_are_exact_only_in_their_own_politikreds(client: TestClient, tokens: dict,
                                                                    scenario: dict) -> None:
    own = client.get("/api/v1/overlays/counts", params={"by": "kommune", "period": QUARTER, "politikreds": "1"},
                     headers=bearer(tokens["officer_nj"])).json()
    assert own["exact"] is True and next(a for a in own["areas"] if a["key"] == "0825")["count"] == 7
    elsewhere = client.get("/api/v1/overlays/counts", params={"by": "kommune", "period": QUARTER},
                           headers=bearer(tokens["officer"])).json()
    assert elsewhere["exact"] is False
    assert next(a for a in elsewhere["areas"] if a["key"] == "0825")["counts"]["narko"] == f"<{K}"
    narrow = client.get("/api/v1/overlays/counts", params={"by": "grid100m", "period": QUARTER, "politikreds": "1"},
                        headers=bearer(tokens["officer"]))
    assert narrow.status_code == 403


def test_officer_sector_view_only_for_their_own_politikreds(client: TestClient, tokens: dict) -> None:
    assert client.get("/api/v1/overlays/sectors/KBH-CITY-01/recent",
                      headers=bearer(tokens["officer_nj"])).status_code == 403
    assert client.get("/api/v1/overlays/sectors/KBH-CITY-01/recent",
                      headers=bearer(tokens["officer"])).status_code == 200
    assert client.get("/api/v1/overlays/sectors/NOPE/recent", headers=bearer(tokens["officer"])).status_code == 404



def test_public_insecurity_report_tables_follow_the_same_rules(client: TestClient) -> None:
    body = public(client, "kommune", "2025Q2", source="insecurity_reports")
    for value in published_values(body):
        assert value == 0 or is_hidden(value) or value >= K
    assert public(client, "kommune", "2025Q2", source="insecurity_reports", category="belysning")["columns"] == [
        "belysning"]
    refused = client.get("/api/v1/overlays/counts", params={"by": "kommune", "period": "2025Q2",
                                                            "source": "insecurity_reports", "status": "open"})
    assert refused.status_code == 403


# --- filters of the public tables ---------------------------------------------------------------------------------


def test_public_kind_filter_selects_whole_zone_rows(client: TestClient) -> None:
    everything = public(client, "zone", "2025Q3")
    kinds = {a["kind"] for a in everything["areas"]}
    assert {"nattelivszone", "visitationszone"} <= kinds
    only = public(client, "zone", "2025Q3", kind="visitationszone")
    assert only["filters"] == {"kind": ["visitationszone"]}
    assert only["areas"] and {a["kind"] for a in only["areas"]} == {"visitationszone"}
    # The same published cells, only fewer rows.
    assert only["areas"] == [a for a in everything["areas"] if a["kind"] == "visitationszone"]


@pytest.mark.parametrize("who", [None, "analyst"])
def test_kind_without_zones_is_refused_naming_the_field(client: TestClient, tokens: dict, who: str | None) -> None:
    response = client.get("/api/v1/overlays/counts", params={"by": "kommune", "period": "2025Q3",
                                                             "kind": "nattelivszone"},
                          headers=bearer(tokens[who]) if who else {})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["kind"]
    unknown = client.get("/api/v1/overlays/counts", params={"by": "zone", "period": "2025Q3", "kind": "disco"},
                         headers=bearer(tokens[who]) if who else {})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "kind"


def test_the_public_category_filter_says_what_it_does(client: TestClient) -> None:
    body = public(client, "kommune", "2025Q3", category="berigelse")
    assert body["filters"] == {"category": ["berigelse"]} and body["columns"] == ["berigelse"]
    assert any("count is the total of all groups" in n for n in body["notes"])


def test_a_quarter_still_running_is_not_published(client: TestClient, tokens: dict) -> None:
    # Published again as rows arrive, two versions of the same quarter's table would differ by single incidents.
    running = aggregates.quarter_label(timeutil.now())
    response = client.get("/api/v1/overlays/counts", params={"by": "kommune", "period": running})
    assert response.status_code == 403, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["period"]
    staff = client.get("/api/v1/overlays/counts", params={"by": "kommune", "period": running},
                       headers=bearer(tokens["analyst"]))
    assert staff.status_code == 200 and staff.json()["exact"] is True


def test_the_public_catalogue_gives_no_single_incident_time(client: TestClient, tokens: dict) -> None:
    public_extent = client.get("/api/v1/overlays").json()["incidents"]
    staff_extent = client.get("/api/v1/overlays", headers=bearer(tokens["analyst"])).json()["incidents"]
    assert public_extent["first"] is None and public_extent["last"] is None and public_extent["count"] is None
    assert public_extent["last_quarter"] == staff_extent["last_quarter"]
    assert staff_extent["last"] and staff_extent["count"] > 0
