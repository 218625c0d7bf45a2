"""Cell suppression on small hand-made tables, where the right answer is known: primary suppression of small cells,
secondary suppression of the cells that would give them back by subtraction, and how the published tables find
which areas lie inside which (by their rows, and by their boundaries). No database."""

from __future__ import annotations

import itertools

import pandas as pd
import shapely

from geoservice.overlays.aggregates import TOTAL, AreaRow, _subset_relations, containment
from geoservice.overlays.suppression import Key, Relation, suppress

K = 5


def leaks(values: dict[Key, int], relations: list[Relation], hidden: set[Key], k: int) -> list[str]:
    """What an attacker recovers from the published cells, written independently of the implementation: in each
    relation `parent = Σ children + rest` with the parent published, subtracting the published children leaves
    the hidden children and the rest together; that is a disclosure when it is small and positive, or when it is
    exactly one hidden positive child (nothing else outside)."""
    found = []
    for rel in relations:
        if rel.parent in hidden:
            continue
        parent = values.get(rel.parent, 0)
        published = sum(values.get(c, 0) for c in rel.children if c not in hidden)
        unknown = parent - published
        hidden_children = [c for c in rel.children if c in hidden]
        rest = parent - sum(values.get(c, 0) for c in rel.children)
        if 0 < unknown < k:
            found.append(f"{rel.parent} - published children = {unknown}")
        elif len(hidden_children) == 1 and rest == 0 and values.get(hidden_children[0], 0) > 0:
            found.append(f"{hidden_children[0]} = {unknown} exactly")
    return found


def test_primary_suppression_hides_small_positive_cells_and_publishes_zeros() -> None:
    values = {("a",): 0, ("b",): 1, ("c",): 4, ("d",): 5, ("e",): 120}
    assert suppress(values, [], K) == {("b",), ("c",)}


def test_a_total_with_one_small_group_hides_a_second_group() -> None:
    # total 13 = groups 3 + 10: with 3 hidden, 13 - 10 would give it back; the smallest other group goes too.
    values = {("T",): 13, ("g1",): 3, ("g2",): 10}
    rel = [Relation(("T",), (("g1",), ("g2",)))]
    hidden = suppress(values, rel, K)
    assert hidden == {("g1",), ("g2",)}
    assert leaks(values, rel, hidden, K) == []
    # Without secondary suppression the attack works: 13 - 10 = 3.
    assert leaks(values, rel, suppress(values, [], K), K) == ["('T',) - published children = 3"]


def test_the_smallest_published_child_is_the_one_withheld() -> None:
    values = {("T",): 60, ("a",): 2, ("b",): 30, ("c",): 7, ("d",): 21}
    rel = [Relation(("T",), (("a",), ("b",), ("c",), ("d",)))]
    assert suppress(values, rel, K) == {("a",), ("c",)}


def test_a_small_rest_outside_the_children_is_closed() -> None:
    # A kommune of 12 with a cell of 10 inside it: 12 - 10 = 2 lie outside the cell. Nothing is small on its own.
    values = {("kommune",): 12, ("cell",): 10}
    rel = [Relation(("kommune",), (("cell",),))]
    hidden = suppress(values, rel, K)
    assert hidden == {("cell",)}
    assert leaks(values, rel, hidden, K) == []
    # A rest of k or more is no disclosure: nothing is withheld.
    assert suppress({("kommune",): 15, ("cell",): 10}, rel, K) == set()


def test_hidden_children_together_below_k_are_a_leak() -> None:
    # 20 = 9 + 2 + 2 + 7: the two 2s are hidden, but 20 - 9 - 7 = 4 gives their sum.
    values = {("P",): 20, ("a",): 9, ("b",): 2, ("c",): 2, ("d",): 7}
    rel = [Relation(("P",), (("a",), ("b",), ("c",), ("d",)))]
    hidden = suppress(values, rel, K)
    assert hidden == {("b",), ("c",), ("d",)}
    assert leaks(values, rel, hidden, K) == []


def test_suppression_propagates_through_chained_relations() -> None:
    # T = P + c (c = 2 is small): P is withheld to protect c. P = a + b exactly, so with a and b published the
    # withheld P would come back as their sum: b (the smaller) is withheld too. Nothing leaks afterwards.
    values = {("T",): 22, ("P",): 20, ("c",): 2, ("a",): 12, ("b",): 8}
    rels = [Relation(("T",), (("P",), ("c",))), Relation(("P",), (("a",), ("b",)))]
    hidden = suppress(values, rels, K)
    assert hidden == {("c",), ("P",), ("b",)}
    assert leaks(values, rels, hidden, K) == []


def test_random_tables_never_leak_after_suppression() -> None:
    # Small three-level hierarchies with every combination of small values: the fixed point closes all leaks.
    for a, b, c in itertools.product([0, 1, 3, 6, 9], repeat=3):
        values = {("g", "a"): a, ("g", "b"): b, ("g", "c"): c, ("t",): a + b + c + 4, ("x",): a + b}
        rels = [Relation(("t",), (("g", "a"), ("g", "b"), ("g", "c"))),
                Relation(("x",), (("g", "a"), ("g", "b")))]
        hidden = suppress(values, rels, K)
        assert leaks(values, rels, hidden, K) == [], values


# --- which areas lie inside which -----------------------------------------------------------------------------


def _member(rows: list[tuple[int, str, str]]) -> pd.DataFrame:
    """(event, family, key) -> the long membership table of the published tables, in the total column."""
    return pd.DataFrame([{"event": e, "column": TOTAL, "family": f, "key": k} for e, f, k in rows])


def test_subset_relations_follow_the_rows() -> None:
    # Zone Z holds events 1-6, all of them inside kommune K (1-7): K - Z = 1 would isolate event 7.
    rows = [(e, "zone", "Z") for e in range(1, 7)] + [(e, "kommune", "K") for e in range(1, 8)]
    member = _member(rows)
    values = {("zone", "Z", TOTAL): 6, ("kommune", "K", TOTAL): 7}
    assert _subset_relations(member, values, K) == [Relation(("kommune", "K", TOTAL), (("zone", "Z", TOTAL),))]


def test_no_subset_relation_when_the_rest_is_large_or_the_rows_are_not_all_inside() -> None:
    big = [(e, "zone", "Z") for e in range(1, 7)] + [(e, "kommune", "K") for e in range(1, 20)]
    assert _subset_relations(_member(big), {("zone", "Z", TOTAL): 6, ("kommune", "K", TOTAL): 19}, K) == []
    # Event 99 is in the zone but not in the kommune: the zone's rows are not a subset of the kommune's.
    partial = [(e, "zone", "Z") for e in (*range(1, 6), 99)] + [(e, "kommune", "K") for e in range(1, 8)]
    assert _subset_relations(_member(partial), {("zone", "Z", TOTAL): 6, ("kommune", "K", TOTAL): 7}, K) == []


def _box(x0: float, y0: float, x1: float, y1: float) -> bytes:
    return shapely.to_wkb(shapely.box(x0, y0, x1, y1))


def test_containment_by_boundaries() -> None:
    kommune = AreaRow("0101", "K", {}, wkb=None)
    inside = AreaRow("1", "Zone inside", {}, wkb=_box(100, 100, 200, 200))
    half_out = AreaRow("2", "Zone half outside", {}, wkb=_box(950, 100, 1050, 200))
    rows = {"kommune": [kommune], "zone": [inside, half_out]}
    values = {("kommune", "0101", TOTAL): 8, ("zone", "1", TOTAL): 6, ("zone", "2", TOTAL): 6}
    rels = containment(rows, [TOTAL], values, K, {"0101": _box(0, 0, 1000, 1000)}, {}, None,
                       inner_families=("zone",), outer_families=("kommune",))
    assert rels == [Relation(("kommune", "0101", TOTAL), (("zone", "1", TOTAL),))]
    # Where the outer value is far above the inner one (rest >= k) the pair does not matter and is not made.
    values[("kommune", "0101", TOTAL)] = 30
    assert containment(rows, [TOTAL], values, K, {"0101": _box(0, 0, 1000, 1000)}, {}, None,
                       inner_families=("zone",), outer_families=("kommune",)) == []
