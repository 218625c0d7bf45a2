"""`geoservice assets build DIR`: the web assets with gzip and brotli copies, for a reverse proxy."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geoservice.cli.common import current_settings, reports_errors

assets_app = typer.Typer(help="The web pages' assets (Leaflet, Swagger UI, our scripts and styles).",
                         no_args_is_help=True)


@assets_app.command("build")
@reports_errors
def assets_build(out: Annotated[Path, typer.Argument(help="Directory to write (static/, vendor/ ...)")]) -> None:
    """Write every asset under OUT with .gz and .br copies beside the compressible ones (nginx gzip_static and
    brotli_static serve them; docs/nginx.conf). The pages themselves stay with the service (their asset URLs carry
    content versions)."""
    from geoservice.api.assets import build
    from geoservice.api.web import asset_store

    written = build(asset_store(current_settings()), out)
    typer.echo(f"{written['files']} files written to {out} ({written['compressed']} with .gz and .br copies)")
