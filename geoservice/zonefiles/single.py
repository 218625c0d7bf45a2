"""One zone from one boundary file (`geoservice zones create FILE`): the file's geometries, in its CRS (or the
declared one; never guessed), dissolved into one boundary and created through create_zone like any other."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import mapping

from geoservice import zones as domain
from geoservice.access import Principal
from geoservice.errors import FieldError, InvalidGeometry
from geoservice.schemas import ZoneFeatureIn
from geoservice.writes import WriteAnswer
from geoservice.zonefiles.reading import read_zone_file
from geoservice.zonefiles.records import source_crs, to_storage


def boundary_from_file(path: Path, crs: str | None, layer: str | None) -> tuple[dict[str, Any], int]:
    """The file's polygons in EPSG:25832, dissolved (GeoJSON geometry), and how many features they came from."""
    table = read_zone_file(path, layer=layer)
    geometries = to_storage(table.geometries, source_crs(table, crs))
    present = [g for g in geometries if g is not None and not shapely.is_empty(g)]
    if not present:
        raise InvalidGeometry(f"{table.file_name} holds no geometry", errors=[FieldError("file", "no geometry")])
    other = sorted({g.geom_type for g in present} - {"Polygon", "MultiPolygon"})
    if other:
        raise InvalidGeometry(f"{table.file_name}: a zone boundary is made of polygons",
                              errors=[FieldError("geometry", f"the file holds {', '.join(other)}")])
    if len(present) == 1:
        return mapping(present[0]), 1
    valid = [g if shapely.is_valid(g) else shapely.make_valid(g) for g in present]
    return mapping(shapely.union_all(valid)), len(present)


async def create_from_file(db: Any, principal: Principal, path: Path, properties: dict[str, Any], *,
                           crs: str | None, layer: str | None, repair: bool) -> tuple[WriteAnswer, int]:
    domain.kind_rules(properties["kind"], "--kind")  # an unknown kind before the file is read
    geometry, parts = await asyncio.to_thread(boundary_from_file, path, crs, layer)
    feature = ZoneFeatureIn.model_validate({"type": "Feature", "geometry": geometry,
                                            "properties": {k: v for k, v in properties.items() if v is not None}})
    answer = await domain.create_zone(db, principal, feature, content_crs="EPSG:25832", repair=repair)
    return answer, parts
