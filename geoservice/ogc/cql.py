"""CQL2 filters (OGC API – Features Part 3) translated into SQL with server-side parameters.

Text and JSON are parsed by `cql2` (the maintained CQL2 parser from PyPI, a Rust core), which also checks the
expression against the CQL2 grammar; the canonical CQL2-JSON it gives back is walked here and composed with
`psycopg.sql` — property names become the expressions of the collection's queryables, every literal becomes a
parameter. Nothing the client sent is ever pasted into the SQL text.

Supported: comparison (=, <>, <, <=, >, >=, LIKE, BETWEEN, IN, IS NULL), AND/OR/NOT, property-property
comparisons, the spatial functions S_INTERSECTS, S_WITHIN, S_CONTAINS, S_DISJOINT, S_EQUALS, S_TOUCHES,
S_OVERLAPS, S_CROSSES (GeoJSON geometries and BBOX), and the temporal functions T_INTERSECTS, T_DISJOINT,
T_DURING, T_CONTAINS, T_BEFORE, T_AFTER, T_EQUALS, T_MEETS, T_METBY, T_OVERLAPS, T_OVERLAPPEDBY, T_STARTS,
T_STARTEDBY, T_FINISHES, T_FINISHEDBY on instants and intervals (the validity period is an interval).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Literal

import cql2
from psycopg import sql as S

from geoservice import timeutil
from geoservice.errors import BadRequest, FieldError, GeoserviceError

Kind = Literal["string", "integer", "number", "boolean", "datetime", "interval", "geometry"]


@dataclass(frozen=True)
class Queryable:
    """A property a filter may name: its SQL expression, its type, and how it is described in /queryables.
    For geometry, `sql` is the geometry in EPSG:4326 and `sql_storage` in the storage CRS (EPSG:25832)."""

    sql: S.Composable
    kind: Kind
    title: str
    sql_storage: S.Composable | None = None
    schema: dict[str, Any] = field(default_factory=dict)


SPATIAL = {
    "s_intersects": "ST_Intersects", "s_within": "ST_Within", "s_contains": "ST_Contains",
    "s_disjoint": "ST_Disjoint", "s_equals": "ST_Equals", "s_touches": "ST_Touches",
    "s_overlaps": "ST_Overlaps", "s_crosses": "ST_Crosses",
}
COMPARISON = {"=": "=", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}

# Temporal relations on (lo, hi) pairs (an instant has lo = hi), after Allen's interval algebra as CQL2 uses it.
TEMPORAL = {
    "t_intersects": "{al} <= {bh} AND {bl} <= {ah}",
    "t_disjoint": "NOT ({al} <= {bh} AND {bl} <= {ah})",
    "t_during": "{bl} < {al} AND {ah} < {bh}",
    "t_contains": "{al} < {bl} AND {bh} < {ah}",
    "t_before": "{ah} < {bl}",
    "t_after": "{al} > {bh}",
    "t_equals": "{al} = {bl} AND {ah} = {bh}",
    "t_meets": "{ah} = {bl}",
    "t_metby": "{al} = {bh}",
    "t_overlaps": "{al} < {bl} AND {bl} < {ah} AND {ah} < {bh}",
    "t_overlappedby": "{bl} < {al} AND {al} < {bh} AND {bh} < {ah}",
    "t_starts": "{al} = {bl} AND {ah} < {bh}",
    "t_startedby": "{al} = {bl} AND {bh} < {ah}",
    "t_finishes": "{ah} = {bh} AND {bl} < {al}",
    "t_finishedby": "{ah} = {bh} AND {al} < {bl}",
}


def _bad(reason: str) -> BadRequest:
    return BadRequest(f"filter: {reason}", errors=[FieldError("filter", reason)])


def parse(text: str, lang: str | None) -> dict[str, Any]:
    """The filter as canonical CQL2-JSON; `lang` is cql2-text (default for a query parameter) or cql2-json."""
    lang = lang or "cql2-text"
    try:
        if lang == "cql2-text":
            expr = cql2.parse_text(text)
        elif lang == "cql2-json":
            expr = cql2.parse_json(text)
        else:
            raise BadRequest(f"filter-lang: unsupported {lang!r}",
                             errors=[FieldError("filter-lang", "use cql2-text or cql2-json")])
        expr.validate()
        return expr.to_json()
    except GeoserviceError:
        raise
    except Exception as exc:  # cql2 raises its own ParseError/ValidationError, and ValueError for JSON
        raise _bad(f"not valid {lang}: {str(exc).splitlines()[0][:300]}") from None


class Translator:
    def __init__(self, queryables: dict[str, Queryable], filter_srid: int = 4326) -> None:
        self.queryables = queryables
        self.filter_srid = filter_srid
        self.params: dict[str, Any] = {}

    def param(self, value: Any) -> S.Composable:
        name = f"cql_{len(self.params)}"
        self.params[name] = value
        return S.Placeholder(name)

    def prop(self, node: Any) -> Queryable:
        name = node["property"]
        known = self.queryables.get(name)
        if known is None:
            raise BadRequest(f"filter: unknown property {name!r}", errors=[FieldError(
                "filter", f"unknown property {name!r}; queryable: " + ", ".join(sorted(self.queryables)))])
        return known

    def expr(self, node: Any) -> S.Composable:
        if isinstance(node, bool):
            return S.SQL("TRUE") if node else S.SQL("FALSE")
        if not isinstance(node, dict) or "op" not in node:
            raise _bad(f"expected a predicate, got {json.dumps(node)[:80]}")
        op, args = node["op"].lower(), node.get("args", [])
        if op in ("and", "or"):
            return S.SQL("(") + S.SQL(f" {op.upper()} ").join(self.expr(a) for a in args) + S.SQL(")")
        if op == "not":
            return S.SQL("(NOT {})").format(self.expr(args[0]))
        if op in COMPARISON:
            hint = self.hint(args)
            return S.SQL("({} {} {})").format(self.scalar(args[0], hint), S.SQL(COMPARISON[op]),
                                              self.scalar(args[1], hint))
        if op == "like":
            if self.hint(args) not in ("string", None):
                raise _bad("LIKE compares text; the property is not text")
            return S.SQL("({} LIKE {})").format(self.scalar(args[0], "string"), self.scalar(args[1], "string"))
        if op == "between":
            hint = self.hint(args)
            return S.SQL("({} BETWEEN {} AND {})").format(*(self.scalar(a, hint) for a in args))
        if op == "in":
            hint = self.hint([args[0], *args[1]])
            return S.SQL("({} IN ({}))").format(self.scalar(args[0], hint),
                                                 S.SQL(", ").join(self.scalar(a, hint) for a in args[1]))
        if op == "isnull":
            return S.SQL("({} IS NULL)").format(self.scalar(args[0], None))
        if op in SPATIAL:
            return self.spatial(SPATIAL[op], args)
        if op in TEMPORAL:
            (al, ah), (bl, bh) = self.period(args[0]), self.period(args[1])
            return S.SQL("(" + TEMPORAL[op] + ")").format(al=al, ah=ah, bl=bl, bh=bh)
        raise _bad(f"the operator {node['op']!r} is not supported here")

    def hint(self, args: list[Any]) -> Kind | None:
        """The type of the first property among the operands: literals are checked and cast to it."""
        for arg in args:
            if isinstance(arg, dict) and "property" in arg:
                return self.prop(arg).kind
        return None

    def scalar(self, node: Any, hint: Kind | None) -> S.Composable:
        if isinstance(node, dict) and "property" in node:
            q = self.prop(node)
            if q.kind in ("geometry", "interval"):
                raise _bad(f"{node['property']!r} is a {q.kind}; use a spatial or temporal function")
            return q.sql
        if isinstance(node, dict) and ("timestamp" in node or "date" in node):
            if hint not in ("datetime", None):
                raise _bad(f"a time is compared with a {hint}")
            return S.SQL("{}::timestamptz").format(self.param(self.instant(node)))
        if isinstance(node, dict | list):
            raise _bad(f"unsupported value {json.dumps(node)[:80]}")
        expected = {"string": (str,), "integer": (int, float), "number": (int, float), "boolean": (bool,),
                    "datetime": (str,)}.get(hint or "", (str, int, float, bool))
        if not isinstance(node, expected) or (isinstance(node, bool) and hint in ("integer", "number")):
            raise _bad(f"{json.dumps(node)} is not a {hint}")
        if hint == "datetime":
            return S.SQL("{}::timestamptz").format(self.param(self.instant({"timestamp": node})))
        cast = {"string": "text", "integer": "numeric", "number": "numeric", "boolean": "boolean"}.get(hint or "")
        return S.SQL("{}::{}").format(self.param(node), S.SQL(cast)) if cast else self.param(node)

    @staticmethod
    def instant(node: dict[str, Any]) -> dt.datetime:
        text = node.get("timestamp") or node.get("date")
        return timeutil.parse_instant(str(text), "filter")

    def period(self, node: Any) -> tuple[S.Composable, S.Composable]:
        """(start, end) of a temporal operand; open ends are ±infinity."""
        if isinstance(node, dict) and "property" in node:
            q = self.prop(node)
            if q.kind == "interval":
                return (S.SQL("coalesce(lower({}), '-infinity')").format(q.sql),
                        S.SQL("coalesce(upper({}), 'infinity')").format(q.sql))
            if q.kind == "datetime":
                return q.sql, q.sql
            raise _bad(f"{node['property']!r} is not a time")
        if isinstance(node, dict) and "interval" in node:
            ends = []
            for i, end in enumerate(node["interval"]):
                if end == "..":
                    ends.append(S.SQL("'-infinity'::timestamptz" if i == 0 else "'infinity'::timestamptz"))
                else:
                    moment = self.instant(end if isinstance(end, dict) else {"timestamp": end})
                    ends.append(S.SQL("{}::timestamptz").format(self.param(moment)))
            return ends[0], ends[1]
        if isinstance(node, dict) and ("timestamp" in node or "date" in node):
            moment = S.SQL("{}::timestamptz").format(self.param(self.instant(node)))
            return moment, moment
        raise _bad(f"expected a time, got {json.dumps(node)[:80]}")

    def spatial(self, function: str, args: list[Any]) -> S.Composable:
        """Literals are in filter-crs (default CRS84). Properties are compared in EPSG:4326 for CRS84 and
        EPSG:4326 literals (whose latitude-first axes are turned round), else in the storage CRS, so the
        spatial indexes serve both."""
        wgs84 = abs(self.filter_srid) == 4326
        operands = []
        for arg in args:
            if isinstance(arg, dict) and "property" in arg:
                q = self.prop(arg)
                if q.kind != "geometry":
                    raise _bad(f"{arg['property']!r} is not a geometry")
                operands.append(q.sql if wgs84 or q.sql_storage is None else q.sql_storage)
                continue
            if isinstance(arg, dict) and str(arg.get("op", "")).lower() == "envelope":  # ENVELOPE(...) in text
                arg = {"bbox": arg.get("args", [])}
            if isinstance(arg, dict) and "bbox" in arg:
                box = [float(c) for c in arg["bbox"]]
                if len(box) not in (4, 6):
                    raise _bad("a bbox has 4 (or 6) numbers")
                x0, y0, x1, y1 = (box[0], box[1], box[3], box[4]) if len(box) == 6 else box
                if self.filter_srid == -4326:
                    x0, y0, x1, y1 = y0, x0, y1, x1
                literal = S.SQL("ST_MakeEnvelope({}, {}, {}, {}, {})").format(
                    *(self.param(c) for c in (x0, y0, x1, y1)), S.Literal(abs(self.filter_srid)))
            elif isinstance(arg, dict) and "type" in arg and ("coordinates" in arg or "geometries" in arg):
                literal = S.SQL("ST_SetSRID(ST_GeomFromGeoJSON({}), {})").format(
                    self.param(json.dumps(arg)), S.Literal(abs(self.filter_srid)))
                if self.filter_srid == -4326:
                    literal = S.SQL("ST_FlipCoordinates({})").format(literal)
            else:
                raise _bad(f"expected a geometry, got {json.dumps(arg)[:80]}")
            if not wgs84 and self.filter_srid != 25832:
                literal = S.SQL("ST_Transform({}, 25832)").format(literal)
            operands.append(literal)
        return S.SQL("{}({}, {})").format(S.SQL(function), operands[0], operands[1])


def to_sql(tree: dict[str, Any], queryables: dict[str, Queryable], filter_srid: int = 4326
           ) -> tuple[S.Composable, dict[str, Any]]:
    """A CQL2-JSON expression as an SQL condition and its parameters."""
    translator = Translator(queryables, filter_srid)
    return translator.expr(tree), translator.params
