"""`geoservice zones import FILE` (zones from a file, with progress bars) and `geoservice zones create FILE` (one
zone from one boundary file). The CLI acts as a local admin; the audit log names the OS user."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from geoservice.cli.common import operator, with_db
from geoservice.cli.overlays import report_rejected, run_import
from geoservice.db import Database
from geoservice.errors import GeoserviceError

FileArg = Annotated[Path, typer.Argument(exists=True, dir_okay=False,
                                         help=".geojson, .gpkg, zipped Shapefile (.zip) or .kml")]
# Zones listed on the terminal by what happens to them (the --report file holds the whole report).
MAX_PRINTED_ZONES = 40


def import_command(
    path: FileArg,
    mapping: Annotated[Path | None, typer.Option(exists=True, dir_okay=False,
                                                 help="YAML mapping (fields, set, source, crs, link_consecutive, "
                                                      "publish, ...); the options below override it")] = None,
    field: Annotated[list[str] | None, typer.Option(help="TARGET=COLUMN (repeat): key, name, kind, valid_from, "
                                                         "valid_to, decision_ref, decided_by, authority, "
                                                         "legal_basis, boundary_text, reason, description, "
                                                         "visibility, list_edition")] = None,
    set_values: Annotated[list[str] | None, typer.Option("--set", help="TARGET=VALUE for every feature "
                                                                        "(repeat), e.g. kind=visitationszone")]
    = None,
    key: Annotated[str | None, typer.Option(help="Column identifying a zone (features sharing it are one zone, "
                                                 "dissolved); default the name")] = None,
    kind: Annotated[str | None, typer.Option(help="The kind of every zone (same as --set kind=...)")] = None,
    source: Annotated[str | None, typer.Option(help="Where the zones come from; (source, key) identifies a zone "
                                                    "on re-import (default: import)")] = None,
    crs: Annotated[str | None, typer.Option(help="The file's CRS when it declares none, e.g. EPSG:25832 (never "
                                                 "guessed)")] = None,
    layer: Annotated[str | None, typer.Option(help="Layer of a GeoPackage or KML")] = None,
    dry_run: Annotated[bool | None, typer.Option("--dry-run", help="Report what would be created or changed; "
                                                                    "write nothing")] = None,
    publish: Annotated[bool | None, typer.Option("--publish", help="Publish (every publication rule applies); "
                                                                   "default drafts")] = None,
    override_reason: Annotated[str | None, typer.Option(help="Record a decision a rule refuses (e.g. a past start "
                                                             "of a historical record), with this reason")] = None,
    skip_invalid: Annotated[bool | None, typer.Option("--skip-invalid", help="Import the valid zones, report the "
                                                                             "rejected features")] = None,
    repair: Annotated[bool | None, typer.Option("--repair", help="Make invalid boundaries valid (area change "
                                                                 "reported), read 14:0 as 14:00")] = None,
    resolve_local_times: Annotated[bool | None, typer.Option(
        "--resolve-local-times", help="Decide DST-missing or ambiguous local times by the documented rule "
                                      "(reported)")] = None,
    link_by: Annotated[str | None, typer.Option(help="Link consecutive periods of one place into one zone, "
                                                     "matching this target (e.g. authority)")] = None,
    archive_ended: Annotated[bool | None, typer.Option("--archive-ended", help="Archive published zones that have "
                                                                               "ended")] = None,
    historical: Annotated[bool | None, typer.Option("--historical", help="A record of past designations (grouped "
                                                                         "in the validity report)")] = None,
    report: Annotated[Path | None, typer.Option(help="Write the import report (JSON) to this file")] = None,
    rejected_report: Annotated[Path | None, typer.Option(help="Write the rejected features to this CSV file")]
    = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars")] = False,
) -> None:
    """Import zones from a GeoJSON FeatureCollection, GeoPackage, zipped Shapefile or KML: drafts by default,
    all or nothing unless --skip-invalid, idempotent on re-import."""
    from geoservice.zonefiles.apply import import_zones
    from geoservice.zonefiles.options import LinkRule, build_options, mapping_file, parse_pairs

    pairs = parse_pairs(set_values, "--set")
    if kind:
        pairs["kind"] = kind
    fields = parse_pairs(field, "--field")
    if key:
        fields["key"] = key
    options = build_options(
        mapping_file(mapping) if mapping else None, fields=fields or None, set=pairs or None, source=source,
        crs=crs, layer=layer, dry_run=dry_run, publish=publish, override_reason=override_reason,
        skip_invalid=skip_invalid, repair=repair, resolve_local_times=resolve_local_times,
        link_consecutive=LinkRule(by=link_by) if link_by else None, archive_ended=archive_ended,
        historical=historical)
    result, refused = run_import(lambda db, progress: import_zones(db, operator(), path, options, progress=progress),
                                 {"read": "reading", "check": "checking features", "write": "writing zones"}, quiet)
    if report:
        report.write_text(json.dumps(result.as_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
    if refused:
        typer.echo(f"error: {result.file_name}: {len({r.row for r in result.rejected})} of {result.features_read} "
                   "features rejected, nothing was imported. Fix them, or use --skip-invalid to import the others.",
                   err=True)
    else:
        _print_zones(result)
        typer.echo(result.summary())
    report_rejected(result, rejected_report)
    if refused:
        raise typer.Exit(2)


def _print_zones(result: Any) -> None:
    shown = [z for z in result.zones if z.outcome != "unchanged" or result.options.dry_run]
    verb = {"created": "new", "extended": "extended", "changed": "changed", "unchanged": "unchanged",
            "rejected": "rejected"}
    for zone in shown[:MAX_PRINTED_ZONES]:
        periods = [v for v in zone.versions if v["outcome"] != "unchanged"] or zone.versions
        detail = ", ".join(_period(v) for v in periods[:3]) + (" …" if len(periods) > 3 else "")
        where = f" (zone {zone.zone_id})" if zone.zone_id and not result.options.dry_run else ""
        typer.echo(f"  {verb[zone.outcome]:9} {zone.name}{where}: {detail}")
    if len(shown) > MAX_PRINTED_ZONES:
        typer.echo(f"  ... and {len(shown) - MAX_PRINTED_ZONES} more; --report FILE for all")


def _period(version: dict[str, Any]) -> str:
    text = f"{version['valid_from']} → {version['valid_to'] or '∞'}"
    if "area_change_m2" in version:
        text += f", boundary changed {version['area_change_m2']:+,.0f} m²"
    return text


def create_command(
    path: FileArg,
    name: Annotated[str, typer.Option(help="The zone's name")],
    kind: Annotated[str, typer.Option(help="Zone kind code, e.g. visitationszone")],
    valid_from: Annotated[str, typer.Option("--from", help="Start (ISO 8601; Copenhagen time if no offset)")],
    valid_to: Annotated[str | None, typer.Option("--to", help="End (a date alone: til og med)")] = None,
    decision_ref: Annotated[str | None, typer.Option()] = None,
    decided_by: Annotated[str | None, typer.Option()] = None,
    legal_basis: Annotated[str | None, typer.Option()] = None,
    boundary_text: Annotated[str | None, typer.Option(help="The legal boundary in words")] = None,
    reason: Annotated[str | None, typer.Option()] = None,
    description: Annotated[str | None, typer.Option()] = None,
    visibility: Annotated[str | None, typer.Option(help="public, internal or restricted (default the kind's)")]
    = None,
    publish: Annotated[bool, typer.Option("--publish", help="Publish at once (else a draft)")] = False,
    override_reason: Annotated[str | None, typer.Option()] = None,
    crs: Annotated[str | None, typer.Option(help="The file's CRS when it declares none")] = None,
    layer: Annotated[str | None, typer.Option()] = None,
    repair: Annotated[bool, typer.Option("--repair", help="Make an invalid boundary valid (area change "
                                                          "reported)")] = False,
) -> None:
    """Create one zone from one boundary file (every feature's geometry is dissolved into one boundary)."""
    from pydantic import ValidationError

    from geoservice.zonefiles.single import create_from_file

    props = {"kind": kind, "name": name, "valid_from": valid_from, "valid_to": valid_to,
             "decision_ref": decision_ref, "decided_by": decided_by, "legal_basis": legal_basis,
             "boundary_text": boundary_text, "reason": reason, "description": description,
             "visibility": visibility, "publish": publish, "override_reason": override_reason}

    async def work(db: Database) -> Any:
        return await create_from_file(db, operator(), path, props, crs=crs, layer=layer, repair=repair)

    try:
        answer, parts = with_db(work)
    except ValidationError as exc:
        raise GeoserviceError("; ".join(f"--{str(e['loc'][-1]).replace('_', '-')}: {e['msg']}"
                                        for e in exc.errors())) from None
    state = "published" if publish else "draft"
    typer.echo(f"zone {answer.zone_id} created ({state}) from {path.name}"
               + (f" ({parts} features dissolved into one boundary)" if parts > 1 else ""))
    body = json.loads(answer.body)
    if body.get("repair"):
        typer.echo(f"  boundary repaired: {body['repair']['reason']}, area change "
                   f"{body['repair']['area_change_m2']:+,.1f} m²")
