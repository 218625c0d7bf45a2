"""Det Danske Kvadratnet: the Danish square grid in EPSG:25832 with its standard cell names.

A cell is named by its size and the south-west corner in units of that size, northing first:
`1km_6176_723` is the kilometre cell whose corner is at E 723,000 m, N 6,176,000 m; `100m_61760_7230` one of
its hundred-metre cells.
"""

from __future__ import annotations

import re

from geoservice.errors import FieldError, InvalidInput

GRIDS = {"grid100m": 100, "grid1km": 1000}
PREFIX = {100: "100m", 1000: "1km", 10000: "10km"}
_NAME = re.compile(r"^(100m|1km|10km)_(\d+)_(\d+)$")


def cell_name(size_m: int, x: float, y: float) -> str:
    return f"{PREFIX[size_m]}_{int(y // size_m)}_{int(x // size_m)}"


def cell_bounds(name: str) -> tuple[int, float, float, float, float]:
    """(size, xmin, ymin, xmax, ymax) in EPSG:25832 of a cell name."""
    match = _NAME.match(name)
    if not match:
        raise InvalidInput(f"{name!r} is not a Det Danske Kvadratnet cell name",
                           errors=[FieldError("cell", "expected e.g. 1km_6176_723 or 100m_61760_7230")])
    size = {"100m": 100, "1km": 1000, "10km": 10000}[match[1]]
    n, e = int(match[2]), int(match[3])
    return size, e * size, n * size, (e + 1) * size, (n + 1) * size
