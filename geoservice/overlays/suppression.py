"""Cell suppression for public tables: primary (small cells) and secondary (cells that could be recovered by
subtraction), over one whole table at a time so that every query reads the same published value of a cell.

A table is a set of cells (area, column) with counts, and relations `parent = Σ children + rest`: a row total
and its category groups, a politikreds and its kommuner, the country and its politikredse or grid cells, or an
area and a smaller area inside it (then `rest` is what lies outside the smaller one). A relation leaks when
subtraction of published cells yields a small positive number: the rest alone (nothing suppressed among the
children), a single suppressed child, or a group of suppressed children (with the rest) whose sum is below the
threshold. A leak is closed by suppressing the smallest positive published child, or the parent when no child
is left; this repeats until no relation leaks (the cells suppressed only ever grow, so it ends).

Primary: a cell is sensitive when 0 < value < threshold. Zeros are published (an empty cell discloses no one).

The labels tell more than "unknown": zeros are published, so "<k" means 1..k-1, and a cell "withheld" to protect
another holds at least k. Subtraction along one relation is not all an attacker can do either: relations chain
(a politikreds, its kommuner, their 1 km cells), and their bounds combine. So, given `Atoms` (the pieces of the
map that no published figure splits: rows counted in exactly the same cells), the published table is audited as a
whole: every atom is a non-negative unknown, every published cell fixes the sum of its atoms, every withheld one
bounds it (1..k-1 or at least k), and these bounds are propagated until nothing tightens. A "<k" cell whose range
comes out narrower than 1..k-1, or an atom pinned inside 1..k-1, is a leak, closed by withholding the smallest
published cell that shares an atom with it. Bound propagation is weaker than linear programming, never stronger,
so every leak it finds is real; tests compare it with an exact LP audit (scipy) on real tables.

Insiders: an officer sees the exact rows of their own politikreds. For a cell that spans several politikredse
(`insider_parts`: the part of the cell in each), the cell minus one kreds's part must not be small either.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

import numpy as np

Key = tuple[Hashable, ...]

# Bound propagation stops when nothing tightens, or after this many passes (chains in real tables are short).
MAX_PASSES = 60
# A small count is protected when no combination of published figures pins it to one value: its range must
# keep at least MIN_RANGE + 1 values. (Asking for 3 values withholds the country's totals on real quarters.)
MIN_RANGE = 1
# Cells this large (the country, a politikreds) are not searched through for a cell to withhold.
_WIDE = 500


@dataclass(frozen=True)
class Relation:
    parent: Key
    children: tuple[Key, ...]
    exact: bool = False    # the children make up the whole parent (else something may lie outside them)


@dataclass(frozen=True)
class Atoms:
    """Atom `atom_of_edge[i]` counts in cell `cells[cell_of_edge[i]]`; atoms are numbered 0..n_atoms-1."""

    cells: list[Key]
    cell_of_edge: np.ndarray
    atom_of_edge: np.ndarray
    n_atoms: int
    nonzero: frozenset = frozenset()   # cells known not to be empty (listed only when something is counted)


def suppress(values: dict[Key, int], relations: Iterable[Relation], threshold: int, *,
             atoms: Atoms | None = None, insider_parts: dict[Key, tuple[int, ...]] | None = None) -> set[Key]:
    """The set of cells to withhold (primary and secondary)."""
    rels = list(relations)
    insider_parts = insider_parts or {}
    hidden = {key for key, v in values.items() if 0 < v < threshold}
    hidden |= {key for key, parts in insider_parts.items()
               if any(0 < values.get(key, 0) - p < threshold for p in parts)}
    # Withholding more only loosens the table, so a cell once shown free stays free: `pinned` is what is left
    # to check (None: every small cell).
    pinned: list[int] | None = None
    while True:
        _relation_fixed_point(rels, values, hidden, threshold)
        if atoms is None:
            return hidden
        fixes = bound_leak_fixes(values, atoms, hidden, threshold, insider_parts, rels) - hidden
        if not fixes:
            # Propagation is quick but weaker than an attacker with a linear-programming solver: the small
            # cells are then checked exactly.
            pinned = lp_pinned_cells(values, atoms, hidden, threshold, pinned)
            fixes = _fixes_for(pinned, values, atoms, hidden, rels) - hidden
        if not fixes:
            return hidden
        hidden |= fixes


def _relation_fixed_point(rels: list[Relation], values: dict[Key, int], hidden: set[Key], threshold: int) -> None:
    changed = True
    while changed:
        changed = False
        for rel in rels:
            extra = _leak_fix(rel, values, hidden, threshold)
            if extra is not None:
                hidden.add(extra)
                changed = True


@dataclass
class Bounds:
    cell_lo: np.ndarray
    cell_hi: np.ndarray
    atom_lo: np.ndarray
    atom_hi: np.ndarray
    rest_lo: np.ndarray    # per relation: what lies in the parent outside its children (0 for a partition)
    rest_hi: np.ndarray


@dataclass
class _System:
    """Every published figure as a sum: cells of their atoms, relation parents of their children (and a rest
    when the children do not cover the parent). Variables: cells, then atoms, then rests."""

    n_cells: int
    n_atoms: int
    total: np.ndarray            # per constraint: the variable that is the sum
    con_of_edge: np.ndarray      # constraint of each (constraint, member) edge
    member_of_edge: np.ndarray


def _system(atoms: Atoms, relations: list[Relation]) -> _System:
    index = {cell: i for i, cell in enumerate(atoms.cells)}
    n_cells, n_atoms = len(atoms.cells), atoms.n_atoms
    totals = list(range(n_cells))
    cons, members = [atoms.cell_of_edge], [n_cells + atoms.atom_of_edge]
    rest = n_cells + n_atoms
    for rel in relations:
        if rel.parent not in index:
            continue
        children = [index[c] for c in rel.children if c in index]
        if not rel.exact:
            children.append(rest)
            rest += 1
        con = len(totals)
        totals.append(index[rel.parent])
        cons.append(np.full(len(children), con))
        members.append(np.array(children, dtype=np.int64))
    return _System(n_cells, n_atoms, np.array(totals, dtype=np.int64),
                   np.concatenate(cons).astype(np.int64), np.concatenate(members).astype(np.int64))


def propagate(atoms: Atoms, cell_lo: np.ndarray, cell_hi: np.ndarray, relations: Iterable[Relation] = ()
              ) -> Bounds:
    """Tighten the ranges of every variable against every sum until stable: a sum lies between the sums of its
    members' bounds; a member is the sum minus the other members."""
    system = _system(atoms, list(relations))
    n_vars = max(int(system.member_of_edge.max(initial=-1)) + 1, system.n_cells + system.n_atoms)
    lo = np.zeros(n_vars)
    hi = np.full(n_vars, np.inf)
    lo[:system.n_cells], hi[:system.n_cells] = cell_lo, cell_hi
    con, member, total = system.con_of_edge, system.member_of_edge, system.total
    n_cons = len(total)
    for _ in range(MAX_PASSES):
        m_lo, m_hi = lo[member], hi[member]
        finite = np.isfinite(m_hi)
        s_lo = np.bincount(con, weights=m_lo, minlength=n_cons)
        s_hi = np.bincount(con, weights=np.where(finite, m_hi, 0.0), minlength=n_cons)
        n_inf = np.bincount(con, weights=~finite, minlength=n_cons)
        new_lo, new_hi = lo.copy(), hi.copy()
        np.maximum.at(new_lo, total, s_lo)
        np.minimum.at(new_hi, total, np.where(n_inf > 0, np.inf, s_hi))
        others_lo = s_lo[con] - m_lo
        others_hi = np.where(n_inf[con] - ~finite > 0, np.inf, s_hi[con] - np.where(finite, m_hi, 0.0))
        np.minimum.at(new_hi, member, np.floor(hi[total][con] - others_lo + 1e-9))
        np.maximum.at(new_lo, member, np.ceil(lo[total][con] - others_hi - 1e-9))
        new_lo = np.maximum(new_lo, 0.0)
        stable = np.array_equal(new_lo, lo) and np.array_equal(new_hi, hi)
        lo, hi = new_lo, new_hi
        if stable:
            break
    c, a = system.n_cells, system.n_cells + system.n_atoms
    return Bounds(lo[:c], hi[:c], lo[c:a], hi[c:a], lo[a:], hi[a:])


def published_ranges(values: dict[Key, int], cells: list[Key], hidden: set[Key], threshold: int,
                     nonzero: set[Key] | frozenset = frozenset()) -> tuple[np.ndarray, np.ndarray]:
    """What the published table says of each cell: its value, "<k" (1..k-1 where zeros are published:
    `nonzero`; else 0..k-1) or withheld (k or more)."""
    v = np.array([values.get(c, 0) for c in cells], dtype=float)
    is_hidden = np.array([c in hidden for c in cells], dtype=bool)
    small = is_hidden & (v < threshold)
    floor = np.array([1.0 if c in nonzero else 0.0 for c in cells])
    lo = np.where(is_hidden, np.where(small, floor, float(threshold)), v)
    hi = np.where(is_hidden, np.where(small, float(threshold - 1), np.inf), v)
    return lo, hi


def _pinned(lo: np.ndarray, hi: np.ndarray, k: int) -> np.ndarray:
    """Ranges that say "a few, and exactly so many" (1..k-1 with fewer than MIN_RANGE + 1 values)."""
    return (lo >= 1) & (lo <= k - 1) & (hi - lo < MIN_RANGE)


def bound_leaks(values: dict[Key, int], atoms: Atoms, hidden: set[Key], threshold: int,
                insider_parts: dict[Key, tuple[int, ...]] | None = None, relations: Iterable[Relation] = (),
                ) -> list[int]:
    """Variables (cells, then atoms, then rests; see `_system`) that the published table pins too far."""
    lo, hi = published_ranges(values, atoms.cells, hidden, threshold, atoms.nonzero)
    b = propagate(atoms, lo, hi, relations)
    k = threshold
    v = np.array([values.get(c, 0) for c in atoms.cells], dtype=float)
    is_hidden = np.array([c in hidden for c in atoms.cells], dtype=bool)
    narrow = b.cell_hi - b.cell_lo < MIN_RANGE
    leaked = set(np.nonzero(is_hidden & (v > 0) & (v < k) & narrow)[0].tolist())
    for i, cell in enumerate(atoms.cells):
        for part in (insider_parts or {}).get(cell, ()):
            if is_hidden[i] and narrow[i] and 1 <= b.cell_lo[i] - part <= k - 1:
                leaked.add(i)
    n_cells = len(atoms.cells)
    leaked |= {n_cells + a for a in np.nonzero(_pinned(b.atom_lo, b.atom_hi, k))[0].tolist()}
    leaked |= {n_cells + atoms.n_atoms + r for r in np.nonzero(_pinned(b.rest_lo, b.rest_hi, k))[0].tolist()}
    return sorted(leaked)


def bound_leak_fixes(values: dict[Key, int], atoms: Atoms, hidden: set[Key], threshold: int,
                     insider_parts: dict[Key, tuple[int, ...]] | None = None, relations: Iterable[Relation] = (),
                     ) -> set[Key]:
    """For each leak, the smallest published positive cell in a sum with it (or, failing that, in a sum with one
    of those)."""
    relations = list(relations)
    leaked = bound_leaks(values, atoms, hidden, threshold, insider_parts, relations)
    return _fixes_for(leaked, values, atoms, hidden, relations)


def _fixes_for(leaked: Iterable[int], values: dict[Key, int], atoms: Atoms, hidden: set[Key],
               relations: list[Relation]) -> set[Key]:
    """For each leaked variable, the smallest published positive cell in a sum with it (or, failing that, in a
    sum with one of those)."""
    leaked = list(leaked)
    if not leaked:
        return set()
    system = _system(atoms, relations)
    sums_of: dict[int, set[int]] = defaultdict(set)
    vars_of: dict[int, list[int]] = defaultdict(list)
    for con, var in zip(system.con_of_edge.tolist(), system.member_of_edge.tolist(), strict=True):
        sums_of[var].add(con)
        vars_of[con].append(var)
    for con, var in enumerate(system.total.tolist()):
        sums_of[var].add(con)
        vars_of[con].append(var)
    n_cells = system.n_cells

    def neighbours(var: int) -> set[int]:
        return {v for con in sums_of[var] if len(vars_of[con]) <= _WIDE or var >= n_cells for v in vars_of[con]}

    def smallest_published(candidates: Iterable[int]) -> int | None:
        options = sorted((values.get(atoms.cells[c], 0), str(atoms.cells[c]), c) for c in set(candidates)
                         if c < n_cells and atoms.cells[c] not in hidden and values.get(atoms.cells[c], 0) > 0)
        return options[0][2] if options else None

    fixes: set[Key] = set()
    for var in leaked:
        near = neighbours(var)
        pick = smallest_published(near)
        if pick is None:
            pick = smallest_published(v2 for v in near for v2 in neighbours(v))
        if pick is not None:
            fixes.add(atoms.cells[pick])
    return fixes


def _leak_fix(rel: Relation, values: dict[Key, int], hidden: set[Key], threshold: int) -> Key | None:
    """A cell whose suppression closes a leak in this relation, or None when it does not leak."""
    parent = values.get(rel.parent, 0)
    child_values = [values.get(c, 0) for c in rel.children]
    rest = max(parent - sum(child_values), 0)
    hidden_children = [v for c, v in zip(rel.children, child_values, strict=True) if c in hidden]
    if rel.parent in hidden:
        # The parent is recovered as the sum of its children when all are published and nothing lies outside.
        if hidden_children or rest > 0:
            return None
    else:
        unknown = hidden_children + ([rest] if rest > 0 else [])
        positive = [v for v in unknown if v > 0]
        leaks = (0 < sum(unknown) < threshold) or (len(positive) == 1 and bool(hidden_children) and
                                                   hidden_children[0] > 0 and len(hidden_children) == 1 and rest == 0)
        if not leaks:
            return None
    candidates = sorted((v, str(c), c) for c, v in zip(rel.children, child_values, strict=True)
                        if c not in hidden and v > 0)
    if candidates:
        return candidates[0][2]
    if rel.parent not in hidden and parent > 0:
        return rel.parent
    return None


def lp_pinned_cells(values: dict[Key, int], atoms: Atoms, hidden: set[Key], threshold: int,
                    candidates: list[int] | None = None) -> list[int]:
    """The "<k" cells (indexes; among `candidates` if given) that some combination of published figures pins to
    one value: the greatest and the least the cell can be over all non-negative atom counts consistent with the
    table (linear programming). The true counts are one solution, so a cell is free as soon as one of the two
    differs from its value."""
    from scipy.optimize import linprog
    from scipy.sparse import csr_matrix, vstack

    cells, k = atoms.cells, threshold
    v = np.array([values.get(c, 0) for c in cells], dtype=float)
    is_hidden = np.array([c in hidden for c in cells], dtype=bool)
    small = np.nonzero(is_hidden & (v > 0) & (v < k))[0]
    if candidates is not None:
        small = np.array(sorted(set(small.tolist()) & set(candidates)), dtype=np.int64)
    if len(small) == 0 or atoms.n_atoms == 0:
        return []
    a = csr_matrix((np.ones(len(atoms.cell_of_edge)), (atoms.cell_of_edge, atoms.atom_of_edge)),
                   shape=(len(cells), atoms.n_atoms))
    a.data[:] = 1.0
    lo, hi = published_ranges(values, cells, hidden, k, atoms.nonzero)
    eq = lo == hi
    bounded = ~eq & np.isfinite(hi)
    a_ub = vstack([-a[~eq], a[bounded]]).tocsr()
    b_ub = np.concatenate([-lo[~eq], hi[bounded]])
    pinned = []
    a_eq, b_eq = a[eq], lo[eq]
    for c in small.tolist():
        row = a[c].toarray().ravel()
        high = linprog(-row, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        if high.status == 0 and np.floor(-high.fun + 1e-6) > v[c]:
            continue
        low = linprog(row, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        if low.status == 0 and np.ceil(low.fun - 1e-6) < v[c]:
            continue
        pinned.append(c)
    return pinned
