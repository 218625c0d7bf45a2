"""Static HTML maps (folium)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geoservice import timeutil
from geoservice.access import Role
from geoservice.cli.common import csv_list, principal_as, reports_errors, with_db

map_app = typer.Typer(help="Static HTML maps (folium) that open with no internet.", no_args_is_help=True)


@map_app.command("export")
@reports_errors
def map_export(
    output: Annotated[Path, typer.Option("-o", "--output", help="HTML file to write")],
    kind: Annotated[str | None, typer.Option(help="Kind code(s), comma-separated")] = None,
    at: Annotated[str | None, typer.Option(help="The moment the map shows (default now)")] = None,
    sector: Annotated[str | None, typer.Option(help="Only zones touching this Din Betjent sector")] = None,
    zone: Annotated[int | None, typer.Option(help="One zone: the map annex of its decision")] = None,
    title: Annotated[str | None, typer.Option()] = None,
    role: Annotated[Role, typer.Option("--as", help="Export what this role sees")] = Role.public,
) -> None:
    """Write a self-contained HTML map of the zones in force (Leaflet inlined, no CDN)."""
    from geoservice import maps

    moment = timeutil.parse_instant(at, "--at") if at else None
    principal = principal_as(role)
    document = with_db(lambda db: maps.export_map(
        db, principal, kinds=csv_list(kind), at=moment, sector=sector, zone_id=zone, title=title))
    output.write_text(document, encoding="utf-8")
    typer.echo(f"wrote {output} ({len(document) // 1024} KB)")

