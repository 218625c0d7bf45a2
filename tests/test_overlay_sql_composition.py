"""The overlay SQL is static text, with dynamic parts composed by psycopg.sql: no statement is made by string
replacement, concatenation or interpolation (which is how injection and broken statements get in)."""

from __future__ import annotations

import ast
from pathlib import Path

import geoservice.store.overlays as store
from geoservice.access import PUBLIC, zone_filter


def _calls(tree: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)]


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def test_no_sql_is_built_from_strings() -> None:
    tree = ast.parse(Path(store.__file__).read_text(encoding="utf-8"))
    problems = []
    for call in _calls(tree):
        name = _name(call.func)
        if name == "replace":
            problems.append(f"line {call.lineno}: .replace() on a string")
        if name in ("SQL", "execute", "executemany"):
            for arg in call.args[:1]:
                if any(isinstance(n, ast.BinOp | ast.JoinedStr) for n in ast.walk(arg)):
                    problems.append(f"line {call.lineno}: {name}() of a string built by + or an f-string")
    assert problems == []


def test_the_survey_zone_statement_composes_its_columns() -> None:
    params: dict = {}
    stmt = store._latest_zones(zone_filter(PUBLIC), ["sub_omraade"], params, ("id", "kind", "name"))
    text = stmt.as_string(None)
    assert 'SELECT DISTINCT ON (z.id) "z"."id", "z"."kind", "z"."name", v.geom' in " ".join(text.split())
    assert params["kinds"] == ["sub_omraade"] and "{" not in text
