"""Tryghedsindeks statistics: Wilson intervals and the z-test against published values, weighted shares against a
pandas computation, the public minimum of respondents, and the demo calibrated to the published figures."""

from __future__ import annotations

import math

import pandas as pd
import psycopg
import pytest
from fastapi.testclient import TestClient

from geoservice.overlays.stats import ratio_of_ratios, two_proportion_test, weighted_share, wilson
from tests.conftest import bearer


@pytest.mark.parametrize(("x", "n", "low", "high"), [
    # Newcombe (1998), Statistics in Medicine 17:857-872, Table I (Wilson score method)
    (81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718),
])
def test_wilson_interval_matches_published_values(x: int, n: int, low: float, high: float) -> None:
    assert wilson(x / n, n) == pytest.approx((low, high), abs=5e-5)


def test_two_proportion_z_test_and_newcombe_difference_interval() -> None:
    # 56/70 vs 48/80: Newcombe (1998) Table II, method 10: difference 0.2, interval 0.0524 to 0.3339.
    a = weighted_share(48, 80, 80, 80)
    b = weighted_share(56, 70, 70, 70)
    change = two_proportion_test(a, b)
    assert change.difference == pytest.approx(0.2)
    assert (change.low, change.high) == pytest.approx((0.0524, 0.3339), abs=5e-5)
    # Pooled z by hand: p = 104/150, se = sqrt(p(1-p)(1/80 + 1/70)).
    p = 104 / 150
    z = 0.2 / math.sqrt(p * (1 - p) * (1 / 80 + 1 / 70))
    assert change.z == pytest.approx(z) and change.z == pytest.approx(2.6502, abs=1e-4)
    assert change.p_value == pytest.approx(math.erfc(z / math.sqrt(2))) and change.significant
    # 50/100 vs 60/100: z = 1.4213, p = 0.1552: not significant.
    small = two_proportion_test(weighted_share(50, 100, 100, 100), weighted_share(60, 100, 100, 100))
    assert (round(small.z, 4), round(small.p_value, 4), small.significant) == (1.4213, 0.1552, False)


def test_weighted_share_uses_kish_effective_sample_size() -> None:
    weights = [1.0] * 50 + [3.0] * 50
    unsafe = [1] * 10 + [0] * 40 + [1] * 5 + [0] * 45
    hits = sum(w for w, u in zip(weights, unsafe, strict=True) if u)
    share = weighted_share(hits, sum(weights), sum(w * w for w in weights), len(weights))
    assert share.share == pytest.approx(25 / 200)
    assert share.n_effective == pytest.approx(200 ** 2 / 500)  # 80, not 100
    assert (share.low, share.high) == pytest.approx(wilson(25 / 200, 80))


def test_ratio_of_ratios_and_its_interval() -> None:
    rr = ratio_of_ratios(before_in=100, during_in=50, before_ctrl=1000, during_ctrl=1000)
    assert rr.ratio == pytest.approx(0.5)
    se = math.sqrt(1 / 100 + 1 / 50 + 1 / 1000 + 1 / 1000)
    assert (rr.low, rr.high) == pytest.approx((0.5 * math.exp(-1.959964 * se), 0.5 * math.exp(1.959964 * se)), rel=1e-5)
    assert ratio_of_ratios(0, 5, 10, 10).ratio is None


def _responses(conn: psycopg.Connection, year: int) -> pd.DataFrame:
    rows = conn.execute("SELECT politikreds_code, safety_score, trust, weight FROM survey_response WHERE year = %s",
                        (year,)).fetchall()
    return pd.DataFrame(rows, columns=["kreds", "score", "trust", "w"])


def test_survey_by_politikreds_matches_a_pandas_computation(client: TestClient, tokens: dict,
                                                            conn: psycopg.Connection) -> None:
    frame = _responses(conn, 2016)
    body = client.get("/api/v1/overlays/survey", params={"by": "politikreds", "year": 2016},
                      headers=bearer(tokens["analyst"])).json()
    for area in body["areas"]:
        part = frame[frame["kreds"] == area["key"]]
        share = (part["w"] * (part["score"] <= 3)).sum() / part["w"].sum()
        n_eff = part["w"].sum() ** 2 / (part["w"] ** 2).sum()
        assert area["n"] == len(part)
        assert area["unsafe"]["share"] == pytest.approx(share, abs=5e-5)
        assert area["unsafe"]["n_effective"] == pytest.approx(n_eff, abs=0.05)
        low, high = wilson(share, n_eff)
        assert area["unsafe"]["ci95"] == pytest.approx([low, high], abs=5e-5)
        answered = part[part["trust"].notna()]
        trust = (answered["w"] * (answered["trust"] == "yes")).sum() / answered["w"].sum()
        assert area["trust"]["share"] == pytest.approx(trust, abs=5e-5)


def test_demo_survey_comes_out_near_the_published_figures(client: TestClient) -> None:
    national = client.get("/api/v1/overlays/survey", params={"by": "national", "year": 2016}).json()["areas"][0]
    assert national["unsafe"]["share"] == pytest.approx(0.064, abs=0.004)
    assert national["trust"]["share"] == pytest.approx(0.811, abs=0.006)
    kinds = {a["key"]: a for a in client.get("/api/v1/overlays/survey", params={"by": "kind", "year": 2016}
                                             ).json()["areas"]}
    assert kinds["sub_omraade"]["unsafe"]["share"] == pytest.approx(0.165, abs=0.005)
    kredse = {a["key"]: a for a in client.get("/api/v1/overlays/survey", params={"by": "politikreds", "year": 2016}
                                              ).json()["areas"]}
    assert kredse["12"]["trust"]["share"] == pytest.approx(0.908, abs=0.005)


def test_change_between_years_with_verdict(client: TestClient) -> None:
    sub = client.get("/api/v1/overlays/survey/change", params={"by": "kind", "from_year": 2014, "to_year": 2016}
                     ).json()
    area = next(a for a in sub["areas"] if a["key"] == "sub_omraade")
    assert area["change"]["difference_points"] == pytest.approx(-2.3, abs=0.5)
    assert area["change"]["verdict"] in ("significant at 5%", "not significant at 5%")
    assert area["change"]["significant_5pct"] == (area["change"]["p_value"] < 0.05)
    national = client.get("/api/v1/overlays/survey/change", params={"by": "national", "from_year": 2015,
                                                                    "to_year": 2016}).json()["areas"][0]
    a, b = national["from"], national["to"]
    expected = two_proportion_test(weighted_share(a["share"] * 1.0, 1.0, 1.0 / a["n_effective"], a["n"]),
                                   weighted_share(b["share"] * 1.0, 1.0, 1.0 / b["n_effective"], b["n"]))
    assert national["change"]["p_value"] == pytest.approx(expected.p_value, abs=5e-3)  # shares are rounded
    # As published: 5.6% (2015) and 6.4% (2016) are not significantly different.
    assert national["change"]["verdict"] == "not significant at 5%"


def test_public_survey_withholds_small_groups(client: TestClient, tokens: dict) -> None:
    public = client.get("/api/v1/overlays/survey", params={"by": "zone", "year": 2016}).json()
    staff = {a["key"]: a for a in client.get("/api/v1/overlays/survey", params={"by": "zone", "year": 2016},
                                             headers=bearer(tokens["analyst"])).json()["areas"]}
    assert public["suppression"]["min_respondents"] == 30
    for area in public["areas"]:
        if staff[area["key"]]["n"] == 0:
            assert area["n"] == 0 and area["unsafe"] is None
        elif staff[area["key"]]["n"] < 30:
            assert area["withheld"] and area["unsafe"] is None and area["trust"] is None and area["n"] == "<30"
        else:
            assert area["withheld"] or area["unsafe"]["share"] == staff[area["key"]]["unsafe"]["share"]
    assert any(a["withheld"] for a in public["areas"])
    # The public never sees zones it may not see, nor individual answers.
    names = {a["name"] for a in public["areas"]}
    assert not names & {"Opholdsforbud § 6 g (demo-sag)", "INTERN: Visitationszone Sydhavnen (forberedt)"}
    assert client.get("/api/v1/overlays/survey/responses").status_code == 401
    raw = client.get("/api/v1/overlays/survey/responses", params={"year": 2016, "limit": 5},
                     headers=bearer(tokens["analyst"])).json()
    assert len(raw["responses"]) == 5 and {"safety_score", "weight", "trust"} <= set(raw["responses"][0])


def test_public_survey_politikreds_minus_kommuner_keeps_30(client: TestClient) -> None:
    kredse = {a["key"]: a for a in client.get("/api/v1/overlays/survey", params={"by": "politikreds", "year": 2016}
                                              ).json()["areas"]}
    kommuner = client.get("/api/v1/overlays/survey", params={"by": "kommune", "year": 2016}).json()["areas"]
    for key, kreds in kredse.items():
        if not isinstance(kreds["n"], int):
            continue
        members = [a for a in kommuner if a.get("parent") == key]
        published = sum(a["n"] for a in members if isinstance(a["n"], int))
        rest = kreds["n"] - published
        assert rest == 0 or rest >= 30, (key, rest)


def test_respondents_of_the_trust_question_are_protected_as_a_group_of_their_own() -> None:
    """Not everyone answers the trust question. Kreds P: 100 respondents, 60 answered it; kommune A 70 (50), B 30
    (10). Every respondent count is publishable, but P's trust share minus A's isolates B's 10 answers: A's trust
    share is withheld too (B's is withheld for being below 30), while the safety shares stay published."""
    import shapely

    from geoservice.overlays.aggregates import AreaRow
    from geoservice.overlays.survey import N_TRUST, N, withheld_cells

    def row(key: str, n: int, n_trust: int, parent: str | None = None) -> AreaRow:
        return AreaRow(key, key, {N: n, N_TRUST: n_trust}, parent=parent)

    families = {"national": [row("DK", 100, 60)], "politikreds": [row("P", 100, 60)],
                "kommune": [row("A", 70, 50, "P"), row("B", 30, 10, "P")], "sector": [], "zone": [], "kind": []}
    boxes = {"A": shapely.to_wkb(shapely.box(0, 0, 10, 10)), "B": shapely.to_wkb(shapely.box(10, 0, 20, 10))}
    withheld = withheld_cells(families, boxes, {"P": shapely.to_wkb(shapely.box(0, 0, 20, 10))}, 30)
    assert ("kommune", "B", N_TRUST) in withheld and ("kommune", "A", N_TRUST) in withheld
    assert not {c for c in withheld if c[2] == N}


def test_public_trust_shares_follow_the_trust_suppression(client: TestClient) -> None:
    body = client.get("/api/v1/overlays/survey", params={"by": "kommune", "year": 2016}).json()
    for area in body["areas"]:
        if area["trust"] is not None:
            assert area["trust"]["n"] >= 30 and not area["withheld"]


@pytest.mark.parametrize("year", [2013, 2014, 2015, 2016])
def test_public_survey_sector_minus_the_zone_almost_inside_it_keeps_30(client: TestClient, conn: psycopg.Connection,
                                                                       year: int) -> None:
    # Mjølnerparken lies 98.8 % inside Din Betjent sector KBH-NORREBRO-08 (by area): a reviewer subtracted the two
    # and recovered three respondents' answers. Whatever the area share, the difference must not be published.
    zone = str(conn.execute("SELECT id FROM zone WHERE name LIKE 'Mjølnerparken%'").fetchone()[0])
    sectors = {a["key"]: a for a in client.get("/api/v1/overlays/survey", params={"by": "sector", "year": year}
                                               ).json()["areas"]}
    zones = {a["key"]: a for a in client.get("/api/v1/overlays/survey", params={"by": "zone", "year": year}
                                             ).json()["areas"]}
    outer, inner = sectors["KBH-NORREBRO-08"]["n"], zones[zone]["n"]
    if isinstance(outer, int) and isinstance(inner, int):
        assert not 0 < outer - inner < 30, (outer, inner)


def test_public_survey_sector_minus_a_zone_mostly_inside_it_is_withheld(own_client: TestClient,
                                                                          own_conn: psycopg.Connection,
                                                                          tokens: dict) -> None:
    # 40 respondents in Mjølnerparken (98.8 % inside sector KBH-NORREBRO-08 by area, all of them inside it here)
    # and 3 more in the sector: sector 43 minus zone 40 would give the answers of those 3. (A year of its own.)
    points = own_conn.execute("""
        WITH z AS (SELECT v.geom FROM zone_version v JOIN zone z ON z.id = v.zone_id
                   WHERE z.name LIKE 'Mjølnerparken%%' ORDER BY v.version_no DESC LIMIT 1),
             s AS (SELECT geom FROM patrol_sector WHERE code = 'KBH-NORREBRO-08')
        SELECT 'in' AS part, ST_X(p), ST_Y(p) FROM (SELECT (ST_Dump(ST_Transform(ST_GeneratePoints(
               ST_Intersection(z.geom, s.geom), 40, 7), 4326))).geom AS p FROM z, s) a
        UNION ALL
        SELECT 'out', ST_X(p), ST_Y(p) FROM (SELECT (ST_Dump(ST_Transform(ST_GeneratePoints(
               ST_Difference(s.geom, ST_Buffer(z.geom, 50)), 3, 7), 4326))).geom AS p FROM z, s) b
        UNION ALL
        -- and 100 elsewhere in København, so that nothing but the sector and the zone isolates the 3
        SELECT 'elsewhere', ST_X(p), ST_Y(p) FROM (SELECT (ST_Dump(ST_Transform(ST_GeneratePoints(
               o.geom, 100, 7), 4326))).geom AS p FROM patrol_sector o WHERE o.code = 'KBH-AMAGER-22') c
        """).fetchall()
    lines = ["id,year,score,trust,weight,lat,lon"]
    for i, (part, lon, lat) in enumerate(points):
        lines.append(f"mj-{i},2019,{2 if part == 'out' else 6},{'nej' if part == 'out' else 'ja'},1,{lat:.7f},"
                     f"{lon:.7f}")
    response = own_client.post("/api/v1/imports/survey-responses", params={"source": "mj"},
                               headers=bearer(tokens["analyst"]),
                               files={"file": ("mj.csv", ("\n".join(lines) + "\n").encode(), "text/csv")})
    assert response.status_code == 201, response.text
    zone = str(own_conn.execute("SELECT id FROM zone WHERE name LIKE 'Mjølnerparken%'").fetchone()[0])
    staff = {by: {a["key"]: a for a in own_client.get("/api/v1/overlays/survey", params={"by": by, "year": 2019},
                                                      headers=bearer(tokens["analyst"])).json()["areas"]}
             for by in ("sector", "zone")}
    assert (staff["sector"]["KBH-NORREBRO-08"]["n"], staff["zone"][zone]["n"]) == (43, 40)
    assert staff["sector"]["KBH-AMAGER-22"]["n"] == 100
    public = {by: {a["key"]: a for a in own_client.get("/api/v1/overlays/survey", params={"by": by, "year": 2019}
                                                       ).json()["areas"]} for by in ("sector", "zone")}
    outer, inner = public["sector"]["KBH-NORREBRO-08"]["n"], public["zone"][zone]["n"]
    assert not (isinstance(outer, int) and isinstance(inner, int)), (outer, inner)
