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

# Exit codes of `validity report` for cron: 1 overdue (or a finding with --fail-on any), 2 bad input,
# 3 the database could not be reached (nothing was checked).
EXIT_DB_DOWN = 3
CONNECT_TIMEOUT_S = 5


def ready_database(*, sync: bool = True) -> None:
    """Reach the database quickly (a one-line message and exit 3 when it is down, instead of a pool timeout
    after 30 s), and copy layers/kinds.yaml into it: a rule changed in the file since the last `db migrate`
    applies to this run (cheap and idempotent)."""
    import psycopg

    from geoservice.cli.common import current_settings
    from geoservice.db import connect
    from geoservice.layers import get_layers
    from geoservice.store.kinds import sync_kinds

    settings = current_settings()
    try:
        with connect(settings, connect_timeout=CONNECT_TIMEOUT_S) as conn:
            if sync:
                sync_kinds(conn, get_layers())
    except psycopg.OperationalError as exc:
        reason = " ".join(str(exc).split())
        typer.echo(f"error: database unavailable, nothing was checked: {reason}", err=True)
        raise typer.Exit(EXIT_DB_DOWN) from None


validity_app = typer.Typer(help="Legal validity: the report and as-of checks.", no_args_is_help=True)
audit_app = typer.Typer(help="The append-only audit log.", no_args_is_help=True)


# --- validity ------------------------------------------------------------------------------------------------


@validity_app.command("report")
@reports_errors
def validity_report(
    at: Annotated[str | None, typer.Option(help="The moment to report at (default now)")] = None,
    output: Annotated[str, typer.Option("--format", help="text, csv or json")] = "text",
    fail_on: Annotated[str, typer.Option(help="Exit 1 on: overdue (default), any finding, or never")] = "overdue",
    historical: Annotated[str, typer.Option(help="A historical record (imported past designations): group (one "
                                                 "finding per import) or list (its overrides one by one)")
                          ] = "group",
) -> None:
    """Zones expiring, expired but still published, chain gaps, missing decisions and overrides.
    Exits 1 when something is overdue (for cron), 2 on bad input, 3 when the database cannot be reached."""
    from geoservice import validity

    if output not in ("text", "csv", "json") or fail_on not in ("overdue", "any", "never") \
            or historical not in ("group", "list"):
        raise GeoserviceError("--format is text, csv or json; --fail-on is overdue, any or never; --historical is "
                              "group or list")
    moment = timeutil.parse_instant(at, "--at") if at else None
    ready_database()
    body = with_db(lambda db: validity.report(db, operator(), moment, historical=historical))
    if output == "json":
        typer.echo(json.dumps(body, ensure_ascii=False, indent=2))
    elif output == "csv":
        typer.echo(validity.as_csv(body), nl=False)
    else:
        typer.echo(validity.as_text(body), nl=False)
    findings = sum(len(body[s]) for s in validity.FINDINGS)
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
    import psycopg

    from geoservice import validity

    ready_database(sync=False)
    try:
        result = with_db(lambda db: validity.verify_audit(db, operator()))
    except psycopg.errors.UndefinedFunction:
        raise GeoserviceError("this database has no audit chain yet: run `geoservice db migrate` first") from None
    if result["ok"]:
        typer.echo(f"audit log ok: {result['rows_checked']} rows, head {result['head_hash']}")
        return
    typer.echo(f"audit log BROKEN at row id {result['broken_id']} (seq {result['broken_seq']}): "
               f"{result['problem']}", err=True)
    raise typer.Exit(1)
