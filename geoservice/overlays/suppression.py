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
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass

Key = tuple[Hashable, ...]


@dataclass(frozen=True)
class Relation:
    parent: Key
    children: tuple[Key, ...]


def suppress(values: dict[Key, int], relations: Iterable[Relation], threshold: int) -> set[Key]:
    """The set of cells to withhold (primary and secondary)."""
    rels = list(relations)
    hidden = {key for key, v in values.items() if 0 < v < threshold}
    changed = True
    while changed:
        changed = False
        for rel in rels:
            extra = _leak_fix(rel, values, hidden, threshold)
            if extra is not None:
                hidden.add(extra)
                changed = True
    return hidden


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
