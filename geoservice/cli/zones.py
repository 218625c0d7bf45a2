"""Zones: listing and export, and their lifecycle (publish, extend, amend, revoke, archive, history)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from geoservice import timeutil
from geoservice.access import Role
from geoservice.cli.common import csv_list, operator, principal_as, reports_errors, with_db
from geoservice.db import Database
from geoservice.errors import GeoserviceError

T = TypeVar("T")

zones_app = typer.Typer(help="Zones and their lifecycle.", no_args_is_help=True)


# --- zones ---------------------------------------------------------------------------------------------------


def _features(role: Role, *, at: dt.datetime | None, kinds: list[str] | None, statuses: list[str] | None,
              page: int = 1000) -> list[dict[str, Any]]:
    """Every zone the role sees (in force at `at`, when given), page by page."""
    from geoservice import zones as domain

    async def collect(db: Database) -> list[dict[str, Any]]:
        features: list[dict[str, Any]] = []
        while True:
            zq = domain.zone_query(principal_as(role), at=at, kinds=kinds, statuses=statuses, limit=page,
                                   offset=len(features))
            text, matched, returned = await domain.list_zones(db, zq)
            features.extend(json.loads(text))
            if returned == 0 or len(features) >= matched:
                return features

    return with_db(collect)


@zones_app.command("list")
@reports_errors
def zones_list(
    kind: Annotated[str | None, typer.Option(help="Kind code(s), comma-separated")] = None,
    at: Annotated[str | None, typer.Option(help="Only zones in force then (ISO 8601)")] = None,
    status: Annotated[str | None, typer.Option(help="Status(es), comma-separated")] = None,
    role: Annotated[Role, typer.Option("--as", help="See the zones as this role")] = Role.admin,
    output: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """List zones with their status and period."""
    moment = timeutil.parse_instant(at, "--at") if at else None
    features = _features(role, at=moment, kinds=csv_list(kind), statuses=csv_list(status))
    if output == "json":
        typer.echo(json.dumps([f["properties"] for f in features], ensure_ascii=False, indent=2))
        return
    for f in features:
        p = f["properties"]
        period = f"{_short(p['valid_from'])} → {_short(p['valid_to'])}"
        typer.echo(f"{p['id']:>5}  {p['kind']:26} {p['status']:10} {period:47} {p['name']}")
    typer.echo(f"{len(features)} zone(s)", err=True)


def _short(value: str | None) -> str:
    """A time to the minute with its offset (2026-03-29 03:00+02:00): local time alone is ambiguous."""
    if not value:
        return "∞"
    return dt.datetime.fromisoformat(value).isoformat(timespec="minutes").replace("T", " ")


@zones_app.command("export")
@reports_errors
def zones_export(
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write: .geojson or .gpkg")],
    kind: Annotated[str | None, typer.Option(help="Kind code(s), comma-separated")] = None,
    at: Annotated[str | None, typer.Option(help="Only zones in force then (ISO 8601)")] = None,
    status: Annotated[str | None, typer.Option(help="Status(es), comma-separated")] = None,
    role: Annotated[Role, typer.Option("--as", help="Export what this role sees")] = Role.public,
) -> None:
    """Export zones to GeoJSON or GeoPackage (EPSG:4326). By default exactly what the public sees now."""
    suffix = output.suffix.lower()
    if suffix not in (".geojson", ".json", ".gpkg"):
        raise GeoserviceError(f"unsupported output {output.name}: use .geojson or .gpkg")
    moment = timeutil.parse_instant(at, "--at") if at else None
    features = _features(role, at=moment, kinds=csv_list(kind), statuses=csv_list(status))
    if suffix in (".geojson", ".json"):
        output.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                          encoding="utf-8")
    else:
        write_geopackage(features, output)
    typer.echo(f"wrote {len(features)} zone(s) to {output}")


# The columns of an exported zone layer (the properties of geoservice/sql/zone_feature.sql) with their field
# types, so an export has real date-time fields and an empty export still has every column.
GPKG_COLUMNS: dict[str, str] = {
    "id": "int64", "kind": "str", "kind_name": "str", "kind_name_en": "str", "name": "str", "status": "str",
    "version": "int64", "version_status": "str", "change": "str", "valid_from": "datetime",
    "valid_to": "datetime", "ended_at": "datetime", "ended_reason": "str", "designation_end": "datetime",
    "decision_ref": "str", "decided_by": "str", "legal_basis": "str", "reason": "str", "boundary_text": "str",
    "daily_window": "str",
    "visibility": "str", "illustrative": "bool", "description": "str", "politikreds": "str",
    "list_edition": "str", "published_at": "datetime", "revoked_at": "datetime", "revoke_reason": "str",
    "override": "str", "area_m2": "float64", "source": "str",
}


def write_geopackage(features: list[dict[str, Any]], path: Path, layer: str = "zones") -> None:
    """Zones as a GeoPackage layer of MultiPolygons in EPSG:4326; times as date-time fields (UTC, as the
    GeoPackage format stores them), nested values (daily window, override) as JSON text."""
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import MultiPolygon, shape

    columns: dict[str, list[Any]] = {name: [] for name in GPKG_COLUMNS}
    geometries = []
    for f in features:
        props = f["properties"]
        for name in GPKG_COLUMNS:
            value = props.get(name)
            columns[name].append(json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value)
        geometry = shape(f["geometry"])
        geometries.append(MultiPolygon([geometry]) if geometry.geom_type == "Polygon" else geometry)
    data: dict[str, Any] = {}
    for name, kind in GPKG_COLUMNS.items():
        values = columns[name]
        if kind == "datetime":
            data[name] = pd.to_datetime(pd.Series(values, dtype="object"), utc=True, format="ISO8601")
        elif kind == "str":
            data[name] = pd.Series(values, dtype="object")
        elif kind == "bool":
            data[name] = pd.Series(values, dtype="boolean")
        elif kind == "int64":
            data[name] = pd.Series(values, dtype="Int64")
        else:
            data[name] = pd.Series(values, dtype=kind)
    frame = gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geometries, crs="EPSG:4326"), crs="EPSG:4326")
    if path.exists():
        path.unlink()
    frame.to_file(path, layer=layer, driver="GPKG", engine="pyogrio", geometry_type="MultiPolygon")


# --- lifecycle (the CLI acts as a local admin; the audit log names the OS user) --------------------------------


def _body(model: type[T], options: dict[str, str], **fields: Any) -> T:
    """The request body of a lifecycle step, with bad input reported as the option it came from (exit 2)."""
    from pydantic import ValidationError

    try:
        return model(**fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{options.get(str(e['loc'][0]), str(e['loc'][0])) if e['loc'] else 'input'}: {e['msg']}"
            for e in exc.errors())
        raise GeoserviceError(problems) from None


def _geometry_file(path: Path | None) -> dict[str, Any] | None:
    """A boundary from a GeoJSON file: a geometry, a Feature, or a FeatureCollection with one feature."""
    if path is None:
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("type") == "FeatureCollection":
        if len(data.get("features", [])) != 1:
            raise GeoserviceError(f"{path}: expected exactly one feature, found {len(data.get('features', []))}")
        data = data["features"][0]
    return data.get("geometry") if data.get("type") == "Feature" else data


@zones_app.command("publish")
@reports_errors
def zones_publish(
    zone_id: int,
    effective_from: Annotated[str | None, typer.Option(help="When it takes effect (default: draft's start)")] = None,
    decision_ref: Annotated[str | None, typer.Option()] = None,
    allow_overlap: Annotated[bool, typer.Option(help="An extension may start before the current end")] = False,
    override_reason: Annotated[str | None, typer.Option(help="Override a kind rule, with this reason")] = None,
) -> None:
    """Publish the zone's draft decision."""
    from geoservice import lifecycle
    from geoservice.schemas import PublishIn

    body = _body(PublishIn, {"effective_from": "--effective-from", "decision_ref": "--decision-ref",
                             "override_reason": "--override-reason"},
                 effective_from=effective_from, decision_ref=decision_ref, allow_overlap=allow_overlap,
                 override_reason=override_reason)
    with_db(lambda db: lifecycle.publish(db, operator(), zone_id, body))
    typer.echo(f"zone {zone_id} published")


@zones_app.command("extend")
@reports_errors
def zones_extend(
    zone_id: int,
    valid_to: Annotated[str, typer.Option("--to", help="End of the extension (a date alone: til og med)")],
    decision_ref: Annotated[str, typer.Option(help="The new decision")],
    valid_from: Annotated[str | None, typer.Option("--from", help="Default: the current end")] = None,
    geometry: Annotated[Path | None, typer.Option(help="GeoJSON file with a new boundary")] = None,
    reason: Annotated[str | None, typer.Option()] = None,
    allow_overlap: Annotated[bool, typer.Option()] = False,
    draft: Annotated[bool, typer.Option(help="Keep the extension as a draft")] = False,
    override_reason: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Extend a zone by a new decision continuing from its end."""
    from geoservice import lifecycle
    from geoservice.schemas import ExtendIn

    body = _body(ExtendIn, {"valid_to": "--to", "valid_from": "--from", "decision_ref": "--decision-ref",
                            "reason": "--reason", "geometry": "--geometry", "override_reason": "--override-reason"},
                 valid_to=valid_to, valid_from=valid_from, decision_ref=decision_ref, reason=reason,
                 geometry=_geometry_file(geometry), allow_overlap=allow_overlap, publish=not draft,
                 override_reason=override_reason)
    with_db(lambda db: lifecycle.extend(db, operator(), zone_id, body, content_crs=None,
                                                          repair=False))
    typer.echo(f"zone {zone_id} extended to {valid_to}")


@zones_app.command("amend")
@reports_errors
def zones_amend(
    zone_id: int,
    effective_from: Annotated[str, typer.Option("--from", help="The moment the new boundary applies")],
    geometry: Annotated[Path, typer.Option(help="GeoJSON file with the new boundary")],
    decision_ref: Annotated[str, typer.Option()],
    reason: Annotated[str | None, typer.Option()] = None,
    override_reason: Annotated[str | None, typer.Option(help="Record it although a rule refuses it, with this "
                                                             "reason (audited, in the report)")] = None,
) -> None:
    """Change a zone's boundary from a moment (the version before keeps the time before)."""
    from geoservice import lifecycle
    from geoservice.schemas import AmendIn

    body = _body(AmendIn, {"effective_from": "--from", "geometry": "--geometry", "decision_ref": "--decision-ref",
                           "reason": "--reason", "override_reason": "--override-reason"},
                 effective_from=effective_from, geometry=_geometry_file(geometry) or {}, decision_ref=decision_ref,
                 reason=reason, override_reason=override_reason)
    with_db(lambda db: lifecycle.amend(db, operator(), zone_id, body, content_crs=None,
                                                         repair=False))
    typer.echo(f"zone {zone_id} amended from {effective_from}")


@zones_app.command("revoke")
@reports_errors
def zones_revoke(
    zone_id: int,
    reason: Annotated[str, typer.Option()],
    at: Annotated[str | None, typer.Option(help="When the revocation takes effect (default now)")] = None,
    decision_ref: Annotated[str | None, typer.Option()] = None,
    override_reason: Annotated[str | None, typer.Option(help="Record it although a rule refuses it, with this "
                                                             "reason (audited, in the report)")] = None,
) -> None:
    """Revoke a zone from a moment inside its designation (one not yet begun is withdrawn)."""
    from geoservice import lifecycle
    from geoservice.schemas import RevokeIn

    body = _body(RevokeIn, {"reason": "--reason", "at": "--at", "decision_ref": "--decision-ref",
                            "override_reason": "--override-reason"},
                 reason=reason, at=at, decision_ref=decision_ref, override_reason=override_reason)
    answer = with_db(lambda db: lifecycle.revoke(db, operator(), zone_id, body))
    if answer.result.get("kind") == "withdrawal":
        typer.echo(f"zone {zone_id} withdrawn from {answer.result['revoked_at']} before it took effect "
                   f"(versions {', '.join(map(str, answer.result['withdrawn']))} were never in force)")
    else:
        typer.echo(f"zone {zone_id} revoked from {answer.result['revoked_at']}")


@zones_app.command("archive")
@reports_errors
def zones_archive(zone_id: int, reason: Annotated[str | None, typer.Option()] = None) -> None:
    """Withdraw the publication of an expired or revoked zone."""
    from geoservice import lifecycle
    from geoservice.schemas import ArchiveIn

    body = _body(ArchiveIn, {"reason": "--reason"}, reason=reason)
    with_db(lambda db: lifecycle.archive(db, operator(), zone_id, body))
    typer.echo(f"zone {zone_id} archived")


@zones_app.command("history")
@reports_errors
def zones_history(zone_id: int) -> None:
    """Every version and recorded step of a zone, as JSON."""
    from geoservice import lifecycle

    body = with_db(lambda db: lifecycle.history(db, operator(), zone_id))
    typer.echo(json.dumps(json.loads(body), ensure_ascii=False, indent=2))

