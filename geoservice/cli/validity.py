"""Legal validity from the command line: the report (for cron) and the track check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from geoservice import timeutil
from geoservice.access import Role
from geoservice.cli.common import operator, principal_as, reports_errors, with_db
from geoservice.errors import GeoserviceError

validity_app = typer.Typer(help="Legal validity: the report and as-of checks.", no_args_is_help=True)
audit_app = typer.Typer(help="The append-only audit log.", no_args_is_help=True)


# --- validity ------------------------------------------------------------------------------------------------


@validity_app.command("report")
@reports_errors
def validity_report(
    at: Annotated[str | None, typer.Option(help="The moment to report at (default now)")] = None,
    output: Annotated[str, typer.Option("--format", help="text, csv or json")] = "text",
    fail_on: Annotated[str, typer.Option(help="Exit 1 on: overdue (default), any finding, or never")] = "overdue",
) -> None:
    """Zones expiring, expired but still published, chain gaps, missing decisions and overrides.
    Exits 1 when something is overdue (for cron)."""
    from geoservice import validity

    if output not in ("text", "csv", "json") or fail_on not in ("overdue", "any", "never"):
        raise GeoserviceError("--format is text, csv or json; --fail-on is overdue, any or never")
    moment = timeutil.parse_instant(at, "--at") if at else None
    body = with_db(lambda db: validity.report(db, operator(), moment))
    if output == "json":
        typer.echo(json.dumps(body, ensure_ascii=False, indent=2))
    elif output == "csv":
        typer.echo(validity.as_csv(body), nl=False)
    else:
        typer.echo(validity.as_text(body), nl=False)
    findings = sum(len(body[s]) for s in validity.SECTIONS)
    if (fail_on == "overdue" and body["overdue"]) or (fail_on == "any" and findings):
        raise typer.Exit(1)


@validity_app.command("track")
@reports_errors
def validity_track(
    path: Annotated[Path, typer.Argument(help="CSV with lat,lon,at[,label] or GeoJSON points with an 'at' property")],
    role: Annotated[Role, typer.Option("--as", help="Check as this role")] = Role.legal,
) -> None:
    """As-of check of timed points: the zones in force at each, and enter/exit events, as JSON."""
    from geoservice import validity
    from geoservice.schemas import TrackIn

    body = TrackIn(points=_read_track(path))
    principal = principal_as(role)
    answer = with_db(lambda db: validity.check_track(db, principal, body))
    typer.echo(json.dumps(answer, ensure_ascii=False, indent=2))


def _read_track(path: Path) -> list[dict[str, Any]]:
    import csv

    if path.suffix.lower() in (".geojson", ".json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        points = []
        for i, f in enumerate(data.get("features", [])):
            if (f.get("geometry") or {}).get("type") != "Point":
                raise GeoserviceError(f"{path}: feature {i} is not a Point")
            lon, lat = f["geometry"]["coordinates"][:2]
            props = f.get("properties") or {}
            points.append({"lat": lat, "lon": lon, "at": props.get("at") or props.get("time"),
                           "label": props.get("label")})
        return points
    with path.open(encoding="utf-8", newline="") as fh:
        return [{k: v for k, v in row.items() if k in ("lat", "lon", "at", "label")} for row in csv.DictReader(fh)]



# --- audit -------------------------------------------------------------------------------------------------------


@audit_app.command("verify")
@reports_errors
def audit_verify() -> None:
    """Check the audit log's hash chain. Exits 1 naming the first row that was changed, removed or written past
    the database trigger; prints the hash of the last row when the chain is whole (keep it elsewhere: a
    superuser could rebuild the whole chain, but not one that matches a head hash kept outside)."""
    from geoservice import validity

    result = with_db(lambda db: validity.verify_audit(db, operator()))
    if result["ok"]:
        typer.echo(f"audit log ok: {result['rows_checked']} rows, head {result['head_hash']}")
        return
    typer.echo(f"audit log BROKEN at row id {result['broken_id']} (seq {result['broken_seq']}): "
               f"{result['problem']}", err=True)
    raise typer.Exit(1)
