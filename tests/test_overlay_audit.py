"""The published tables audited the way an attacker would attack them: knowing which areas every published figure
covers (so which incidents could lie in which combination of areas), what the labels mean ("<5" is 1..4 since zeros
are published, "withheld" is 5 or more) and, as an officer, the exact rows of their own politikreds. Each small
count must keep at least two possible values under every combination of published figures (exact linear
programming, scipy's HiGHS), on the real demo quarters and on the reviewer's hand-found attacks."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import numpy as np
import pytest
from fastapi.testclient import TestClient
from scipy.optimize import linprog
from scipy.sparse import csr_matrix

from geoservice.access import PUBLIC, zone_filter
from geoservice.db import Database
from geoservice.overlays.aggregates import TOTAL, period_window
from geoservice.overlays.suppression import Atoms, Relation, propagate, published_ranges, suppress
from geoservice.overlays.taxonomy import get_overlay_rules
from geoservice.settings import Settings
from geoservice.store import overlays as store
from geoservice.store.overlays import CountQuery

K = 5
FAMILIES = ("national", "politikreds", "kommune", "sector", "zone")


def published_cells(client: TestClient, source: str, period: str) -> dict[tuple[str, str, str], int | str]:
    """Every figure of the public tables of a quarter, as the public API serves them."""
    cells: dict[tuple[str, str, str], int | str] = {}
    for by in FAMILIES:
        response = client.get("/api/v1/overlays/counts", params={"by": by, "period": period, "source": source})
        assert response.status_code == 200, response.text
        for area in response.json()["areas"]:
            cells[(by, area["key"], TOTAL)] = area["count"]
            for column, value in area["counts"].items():
                cells[(by, area["key"], column)] = value
    return cells


def events(settings: Settings, db_name: str, source: str, period: str) -> list[dict]:
    async def run() -> list[dict]:
        db = Database(settings, db_name)
        await db.open()
        try:
            window = period_window(period)
            async with db.connection() as conn:
                return await store.membership(conn, CountQuery(source=source, by="national", t0=window.t0,
                                                               t1=window.t1, access=zone_filter(PUBLIC)))
        finally:
            await db.close()

    return asyncio.run(run())


def attacker_atoms(rows: list[dict], source: str) -> dict[tuple, int]:
    """Incidents grouped by the exact combination of published areas they lie in (and their column)."""
    rules = get_overlay_rules()
    column_of = ({c: rules.group_of(c) for c in rules.categories} if source == "incidents"
                 else {c: c for c in rules.report_categories})
    atoms: dict[tuple, int] = defaultdict(int)
    for e in rows:
        areas = (("national", "DK"), ("politikreds", e["politikreds_code"]), ("kommune", e["kommune_code"]),
                 *(("sector", s) for s in e["sectors"] or ()), *(("zone", str(z)) for z in e["zones"] or ()))
        atoms[(frozenset(areas), column_of[e["category"]])] += 1
    return dict(atoms)


def lp_ranges(cells: dict[tuple[str, str, str], int | str], atoms: list[tuple], check: list[tuple[str, str, str]],
              known: dict[int, int] | None = None) -> dict[tuple[str, str, str], tuple[float, float]]:
    """min and max of each checked cell over every non-negative atom count consistent with the published figures
    (and with `known` atom counts, an insider's)."""
    index = {cell: i for i, cell in enumerate(cells)}
    rows, cols = [], []
    for j, (areas, column) in enumerate(atoms):
        for family, key in areas:
            for col in (column, TOTAL):
                if (family, key, col) in index:
                    rows.append(index[(family, key, col)])
                    cols.append(j)
    a = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(cells), len(atoms)))
    lo = np.array([v if isinstance(v, int) else (1 if v == f"<{K}" else K) for v in cells.values()], dtype=float)
    hi = np.array([v if isinstance(v, int) else (K - 1 if v == f"<{K}" else np.inf) for v in cells.values()])
    eq = lo == hi
    bounds = [(known[j], known[j]) if known and j in known else (0, None) for j in range(len(atoms))]
    a_eq, b_eq = a[eq], lo[eq]
    finite_hi = ~eq & np.isfinite(hi)
    a_ub = csr_matrix(np.vstack([a[~eq].toarray() * -1, a[finite_hi].toarray()]))
    b_ub = np.concatenate([-lo[~eq], hi[finite_hi]])
    out = {}
    for cell in check:
        objective = a[index[cell]].toarray().ravel()
        low = linprog(objective, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        high = linprog(-objective, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        assert low.status == 0 and high.status == 0, (low.message, high.message)
        out[cell] = (low.fun, -high.fun)
    return out


def pinned(ranges: dict[tuple[str, str, str], tuple[float, float]]) -> dict:
    return {cell: r for cell, r in ranges.items() if np.ceil(r[0] - 1e-6) >= np.floor(r[1] + 1e-6)}


@pytest.mark.slow
@pytest.mark.parametrize(("source", "period"), [("incidents", "2025Q3"), ("incidents", "2025Q1"),
                                                ("insecurity_reports", "2026Q3")])
def test_no_small_count_is_pinned_by_any_combination_of_published_figures(
        demo_client: TestClient, settings: Settings, source: str, period: str) -> None:
    db_name = demo_client.app.state.db.conninfo.rsplit("dbname=", 1)[1]
    cells = published_cells(demo_client, source, period)
    atoms = attacker_atoms(events(settings, db_name, source, period), source)
    small = [cell for cell, v in cells.items() if v == f"<{K}"]
    assert small, "the quarter has small counts to protect"
    assert pinned(lp_ranges(cells, list(atoms), small)) == {}


@pytest.mark.slow
def test_an_officer_cannot_pin_small_counts_outside_their_politikreds(demo_client: TestClient,
                                                                     settings: Settings) -> None:
    db_name = demo_client.app.state.db.conninfo.rsplit("dbname=", 1)[1]
    source, period = "incidents", "2025Q3"
    cells = published_cells(demo_client, source, period)
    atoms = attacker_atoms(events(settings, db_name, source, period), source)
    names = list(atoms)
    for kreds in ("11", "10"):
        known = {j: atoms[a] for j, a in enumerate(names) if ("politikreds", kreds) in a[0]}
        # The small counts the officer does not already know: those with incidents outside their kreds.
        outside = [cell for cell, v in cells.items() if v == f"<{K}" and any(
            (cell[0], cell[1]) in a[0] and ("politikreds", kreds) not in a[0] for a in names)]
        assert outside
        assert pinned(lp_ranges(cells, names, outside, known)) == {}, kreds


def test_labels_are_bounds_and_the_suppression_knows_it() -> None:
    # Dragør, 2025Q3 as a reviewer found it: total 14 with groups 0, 0, 7, 0, <5, <5, withheld and zeros published.
    # "<5" is 1..4 and "withheld" 5 or more, so 14 - 7 = 7 = 1 + 1 + 5 had exactly one solution.
    groups = {"personfarlig": 0, "saedelighed": 0, "berigelse": 7, "utryghed": 0, "narko": 1, "haervaerk": 1,
              "faerdsel": 5}
    values = {("kommune", "0155", g): v for g, v in groups.items()} | {("kommune", "0155", TOTAL): 14}
    relation = Relation(("kommune", "0155", TOTAL), tuple(("kommune", "0155", g) for g in groups))
    cells = list(values)
    atoms = Atoms(cells, np.array([cells.index(("kommune", "0155", g)) for g in groups]
                                  + [cells.index(("kommune", "0155", TOTAL))] * len(groups)),
                  np.array(list(range(len(groups))) * 2), len(groups), frozenset(cells))
    without_bounds = suppress(values, [relation], K)
    assert without_bounds == {("kommune", "0155", g) for g in ("narko", "haervaerk", "faerdsel")}
    lo, hi = published_ranges(values, cells, without_bounds, K, atoms.nonzero)
    b = propagate(atoms, lo, hi)
    narko = cells.index(("kommune", "0155", "narko"))
    assert b.cell_lo[narko] == b.cell_hi[narko] == 1  # the attack: pinned
    hidden = suppress(values, [relation], K, atoms=atoms)
    lo, hi = published_ranges(values, cells, hidden, K, atoms.nonzero)
    b = propagate(atoms, lo, hi)
    for g in ("narko", "haervaerk"):
        i = cells.index(("kommune", "0155", g))
        assert b.cell_hi[i] - b.cell_lo[i] >= 1, g


def test_a_cell_across_two_politikredse_is_withheld_when_one_part_is_small() -> None:
    # A zone of 6: 4 in kreds 10 and 2 in kreds 11. An officer of kreds 10 knows the 4, so 6 would give the 2.
    values = {("zone", "z", TOTAL): 6, ("zone", "y", TOTAL): 12}
    hidden = suppress(values, [], K, insider_parts={("zone", "z", TOTAL): (4, 2), ("zone", "y", TOTAL): (6, 6)})
    assert hidden == {("zone", "z", TOTAL)}

