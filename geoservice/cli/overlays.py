"""`geoservice overlays ...`: imports with a progress bar, aggregates, STRAF11, insecurity reports, zone effect."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from geoservice.access import Role
from geoservice.cli.common import current_settings, operator, principal_as, reports_errors, with_db
from geoservice.db import Database

overlays_app = typer.Typer(help="Incidents, insecurity reports and Tryghedsindeks survey data.", no_args_is_help=True)
reports_app = typer.Typer(help="Insecurity reports (utryghedsmeldinger).", no_args_is_help=True)
overlays_app.add_typer(reports_app, name="reports")



# Rejected rows printed on the terminal; the --rejected-report file holds them all.
MAX_PRINTED_REJECTED = 50


def run_import(work: Callable[[Database, Callable[[str, int, int], None]], Awaitable[Any]],
               labels: dict[str, str], quiet: bool) -> tuple[Any, bool]:
    """Run an import with a progress bar per stage (`labels`: stage -> label); (its report, whether it was
    refused: all or nothing, the report naming every rejected row, as --skip-invalid's does)."""
    from tqdm import tqdm

    from geoservice.overlays.importer import RowsRejected

    bars: dict[str, Any] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if quiet:
            return
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=labels.get(stage, stage), leave=True)
        bar.n = done
        bar.refresh()

    try:
        return with_db(lambda db: work(db, progress)), False
    except RowsRejected as exc:
        return exc.report, True
    finally:
        for bar in bars.values():
            bar.close()


def _import(kind: str, path: Path, source: str, skip_invalid: bool, rejected_report: Path | None,
            layer: str | None, quiet: bool) -> None:
    from geoservice.overlays.importer import import_file

    report, refused = run_import(
        lambda db, progress: import_file(db, operator(), kind, path, source=source, skip_invalid=skip_invalid,
                                         layer=layer, progress=progress),
        {"read": "reading", "check": "checking", "copy": "writing (COPY)"}, quiet)
    if refused:
        typer.echo(f"error: {report.file_name}: {len(report.rejected)} of {report.rows_read} rows rejected, "
                   "nothing was imported. Fix the rows, or use --skip-invalid to import the others.", err=True)
    else:
        typer.echo(report.summary())
    report_rejected(report, rejected_report)
    if refused:
        raise typer.Exit(2)


def report_rejected(report: Any, rejected_report: Path | None) -> None:
    """Every rejected row to the report file (when asked, in both modes; an empty file when none was rejected,
    so an old report is never mistaken for this run's), the first ones with their line on the terminal."""
    from geoservice.overlays.importer import rejected_csv

    if rejected_report:
        rejected_report.write_text(rejected_csv(report), encoding="utf-8")
    if not report.rejected:
        return
    for r in report.rejected[:MAX_PRINTED_REJECTED]:
        value = f" (value {r.value!r})" if r.value not in (None, "") else ""
        typer.echo(f"  {report.unit} {r.row}: {r.field}: {r.reason}{value}", err=True)
    more = len(report.rejected) - MAX_PRINTED_REJECTED
    where = f"the full list is in {rejected_report}" if rejected_report else "use --rejected-report FILE for the " \
                                                                              "full list"
    if more > 0:
        typer.echo(f"  ... and {more} more rejected row(s); {where}", err=True)
    elif rejected_report:
        typer.echo(f"{len(report.rejected)} rejected row(s) written to {rejected_report}", err=True)


FileArg = Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".csv, .geojson, .gpkg or zipped .shp")]
SourceOpt = Annotated[str, typer.Option(help="Where the rows come from; (source, id) identifies a row")]
SkipOpt = Annotated[bool, typer.Option("--skip-invalid", help="Import the good rows, report the rejected ones")]
ReportOpt = Annotated[Path | None, typer.Option(help="Write the rejected rows to this CSV file")]
LayerOpt = Annotated[str | None, typer.Option(help="GeoPackage layer")]
QuietOpt = Annotated[bool, typer.Option("--quiet", help="No progress bar")]


@overlays_app.command("import-incidents")
@reports_errors
def import_incidents(path: FileArg, source: SourceOpt = "import", skip_invalid: SkipOpt = False,
                     rejected_report: ReportOpt = None, layer: LayerOpt = None, quiet: QuietOpt = False) -> None:
    """Import incidents (all or nothing unless --skip-invalid); re-importing the same file changes nothing."""
    _import("incidents", path, source, skip_invalid, rejected_report, layer, quiet)


@overlays_app.command("import-survey")
@reports_errors
def import_survey(path: FileArg, source: SourceOpt = "import", skip_invalid: SkipOpt = False,
                  rejected_report: ReportOpt = None, layer: LayerOpt = None, quiet: QuietOpt = False) -> None:
    """Import Tryghedsindeks survey responses."""
    _import("survey_responses", path, source, skip_invalid, rejected_report, layer, quiet)


@overlays_app.command("counts")
@reports_errors
def counts(
    by: Annotated[str, typer.Option(help="national, politikreds, kommune, sector, zone, grid1km or grid100m")
                  ] = "kommune",
    period: Annotated[str | None, typer.Option(help="2025Q3, 2025 or 2025-07 (default the last quarter)")] = None,
    source: Annotated[str, typer.Option(help="incidents or insecurity_reports")] = "incidents",
    category: Annotated[str | None, typer.Option(help="Groups or categories, comma-separated")] = None,
    as_role: Annotated[Role, typer.Option("--as", help="See the figures as this role")] = Role.analyst,
    output: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Counts per area, as a role sees them (the public gets the published, suppressed table)."""
    from geoservice.overlays import aggregates

    async def work(db: Database) -> Any:
        window = aggregates.parse_window(period, None, None)
        params = aggregates.CountParams(source=source, by=by, window=window,
                                        categories=[c for c in (category or "").split(",") if c] or None)
        principal = principal_as(as_role)
        return aggregates.as_json(await aggregates.count(db, current_settings(), principal, params), principal)

    body = with_db(work)
    if output == "json":
        typer.echo(json.dumps(body, ensure_ascii=False, indent=2))
        return
    typer.echo(f"{body['source']} by {body['by']}, {body['from']} – {body['to']}"
               f"{'' if body['exact'] else ' (published table, suppressed)'}")
    for a in body["areas"]:
        rate = f"{a['per_1000']:.2f}/1000" if a.get("per_1000") is not None else ""
        typer.echo(f"{a['key']:>16}  {a['name'][:32]:32} {a['count']!s:>8}  {rate}")


@overlays_app.command("straf11")
@reports_errors
def straf11(period: Annotated[str | None, typer.Option(help="2022Q4 or 2022")] = None,
            kommune: Annotated[str | None, typer.Option(help="The series of one kommune")] = None) -> None:
    """Statistics Denmark STRAF11: reported offences per kommune, per 1,000 residents."""
    from geoservice.overlays.official_statistics import straf11 as layer

    body = with_db(lambda db: layer(db, period=period, kommune=kommune, geometry=False))
    typer.echo(json.dumps(body, ensure_ascii=False, indent=2))


@overlays_app.command("zone-effect")
@reports_errors
def zone_effect(zone_id: int, category: Annotated[str | None, typer.Option()] = None,
                daily_window: Annotated[bool, typer.Option("--daily-window")] = False) -> None:
    """Incidents before vs during a zone's designation period, inside it and in the rest of its kommune."""
    from geoservice.overlays.effect import zone_effect as effect

    body = with_db(lambda db: effect(db, principal_as(Role.analyst), zone_id, at=None,
                                      categories=[c for c in (category or "").split(",") if c] or None,
                                      daily_window=daily_window))
    typer.echo(json.dumps(body, ensure_ascii=False, indent=2))


@overlays_app.command("republish")
@reports_errors
def republish(period: Annotated[str, typer.Option(help="The quarter, e.g. 2025Q3")],
              source: Annotated[str | None, typer.Option(help="incidents or insecurity_reports; default both")] = None,
              ) -> None:
    """Build a quarter's public tables again (they are frozen when first published). The previous and the new
    version can be subtracted by anyone who kept both: only for corrections that matter."""
    from geoservice.overlays.aggregates import SOURCES
    from geoservice.overlays.aggregates import republish as rebuild

    sources = (source,) if source else SOURCES
    with_db(lambda db: rebuild(db, current_settings(), period, sources))
    typer.echo(f"republished the public tables of {period}: {', '.join(sources)}")


@reports_app.command("list")
@reports_errors
def reports_list(status: Annotated[str | None, typer.Option(help="open or handled")] = None,
                 sector: Annotated[str | None, typer.Option()] = None) -> None:
    """List insecurity reports."""
    from geoservice.overlays.points import reports
    from geoservice.store.overlays import PointQuery

    body = with_db(lambda db: reports(db, operator(), PointQuery(
        statuses=[status] if status else None, sector=sector, limit=10_000)))
    for f in json.loads(body)["features"]:
        p = f["properties"]
        typer.echo(f"{p['id']:>6}  {p['reported_on']}  {p['status']:8} {p['category']:14} {p['text'][:60]}")


@reports_app.command("add")
@reports_errors
def reports_add(lat: float, lon: float, category: str, text: str,
                reported_on: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default today)")] = None,
                walk: Annotated[str | None, typer.Option(help="The tryghedsvandring")] = None) -> None:
    """Add an insecurity report."""
    from geoservice.overlays.points import create_report
    from geoservice.overlays.schemas import ReportIn

    body = ReportIn(lat=lat, lon=lon, category=category, text=text, reported_on=reported_on, walk=walk)
    report_id = with_db(lambda db: create_report(db, operator(), body))
    typer.echo(f"added insecurity report {report_id}")


@reports_app.command("status")
@reports_errors
def reports_status(report_id: int, status: str, note: Annotated[str | None, typer.Option()] = None) -> None:
    """Set a report's status: open or handled."""
    from geoservice.overlays.points import patch_report
    from geoservice.overlays.schemas import ReportPatch

    patch = ReportPatch(status=status, status_note=note)  # type: ignore[arg-type]
    with_db(lambda db: patch_report(db, operator(), report_id, patch))
    typer.echo(f"report {report_id}: {status}")
