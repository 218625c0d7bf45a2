"""Statistics Denmark per kommune per quarter: STRAF11 reported offences and FOLK1A population, loaded from
../shared/data/statistics (real data, credited "Kilde: Danmarks Statistik") and served as a map layer."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from geoservice.db import Database
from geoservice.errors import FieldError, InvalidInput, NotFound
from geoservice.store import overlays as store

STRAF11 = "statistics/straf11_reported_offences_by_kommune_quarter.csv"
FOLK1A = "statistics/folk1a_population_by_kommune_quarter.csv"
UNKNOWN = "unknown"  # STRAF11's "Unknown municipality" (no kommune code)
CREDIT = "Kilde: Danmarks Statistik (STRAF11, FOLK1A)"
_QUARTER = re.compile(r"^\d{4}Q[1-4]$")
_YEAR = re.compile(r"^\d{4}$")


def read_statistics(data_dir: Path) -> pd.DataFrame:
    """kommune_code, quarter, reported_offences, population (either may be missing), sorted."""
    straf = pd.read_csv(data_dir / STRAF11, dtype={"kommune_code": str})
    folk = pd.read_csv(data_dir / FOLK1A, dtype={"kommune_code": str})
    straf["kommune_code"] = straf["kommune_code"].fillna(UNKNOWN)
    folk = folk.dropna(subset=["kommune_code"])
    merged = straf[["kommune_code", "quarter", "reported_offences"]].merge(
        folk[["kommune_code", "quarter", "population"]], on=["kommune_code", "quarter"], how="outer")
    merged = merged.sort_values(["kommune_code", "quarter"]).reset_index(drop=True)
    return merged.astype({"reported_offences": "Int64", "population": "Int64"})


def _per_1000(offences: int | None, population: int | None) -> float | None:
    if offences is None or not population:
        return None
    return round(1000 * offences / population, 3)


async def straf11(db: Database, *, period: str | None, kommune: str | None, geometry: bool,
                  simplify_m: float = 200.0) -> dict[str, Any] | bytes:
    """A quarter (2022Q4) or year (2022, summed; population at its last quarter) for every kommune, or the
    whole series of one kommune."""
    async with db.connection() as conn:
        quarters = await store.stat_quarters(conn)
        if not quarters:
            raise NotFound("no STRAF11 statistics are loaded; run `geoservice demo load`")
        if kommune:
            rows = await store.stat_series(conn, kommune)
            if not rows:
                raise NotFound(f"no statistics for kommune {kommune!r}")
            return {"kommune": kommune, "name": rows[0]["name"], "source": CREDIT,
                    "series": [{"quarter": r["quarter"], "reported_offences": r["reported_offences"],
                                "population": r["population"],
                                "per_1000": _per_1000(r["reported_offences"], r["population"])} for r in rows]}
        period = period or quarters[-1]
        if _QUARTER.match(period):
            wanted = [period]
        elif _YEAR.match(period):
            wanted = [f"{period}Q{q}" for q in range(1, 5)]
        else:
            raise InvalidInput(f"period: {period!r}", errors=[FieldError("period", "expected 2022Q4 or 2022")])
        missing = [q for q in wanted if q not in quarters]
        if missing:
            raise NotFound(f"STRAF11 has no figures for {', '.join(missing)} (it covers {quarters[0]}–{quarters[-1]})",
                           errors=[FieldError("period", f"from {quarters[0]} to {quarters[-1]}")])
        rows = await store.stat_period(conn, wanted, geometry=geometry, tolerance=simplify_m)
    areas = []
    unknown = None
    for r in rows:
        if r["key"] == UNKNOWN:
            unknown = r["reported_offences"]
            continue
        areas.append((r, {"key": r["key"], "name": r["name"], "reported_offences": r["reported_offences"],
                          "population": r["population"], "population_quarter": wanted[-1],
                          "per_1000": _per_1000(r["reported_offences"], r["population"])}))
    body: dict[str, Any] = {"layer": "straf11", "period": period, "quarters": wanted, "source": CREDIT,
                            "what": "reported criminal offences (total), per kommune; per 1,000 residents (FOLK1A)",
                            "unknown_municipality": unknown, "available": [quarters[0], quarters[-1]]}
    if not geometry:
        return body | {"areas": [item for _, item in areas]}
    feats = [b'{"type":"Feature","id":' + orjson.dumps(r["key"]) + b',"geometry":' + (r["geometry"] or "null").encode()
             + b',"properties":' + orjson.dumps(item) + b"}" for r, item in areas]
    head = orjson.dumps({"type": "FeatureCollection", **body})
    return head[:-1] + b',"features":[' + b",".join(feats) + b"]}"
