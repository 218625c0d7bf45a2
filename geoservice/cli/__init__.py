"""The `geoservice` command line: cluster, database, demo data, users, zones, validity, maps, overlays and the
server. Each command group lives in its own module; this one assembles them."""

from __future__ import annotations

import sys

import typer

from geoservice.cli import backup as _backup  # noqa: F401  (adds `db backup` and `db restore` to db_app)
from geoservice.cli.assets import assets_app
from geoservice.cli.common import reports_errors
from geoservice.cli.feeds import feeds_app, webhooks_app
from geoservice.cli.ha import ha_app
from geoservice.cli.maps import map_app
from geoservice.cli.overlays import overlays_app
from geoservice.cli.setup import cluster_app, db_app, demo_app, migrate_and_sync, serve, up
from geoservice.cli.users import users_app
from geoservice.cli.validity import audit_app, validity_app
from geoservice.cli.zone_imports import create_command, import_command
from geoservice.cli.zones import zones_app

app = typer.Typer(help="geoservice: Danish police zones with legal validity periods, on PostGIS.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(cluster_app, name="cluster")
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(users_app, name="users")
zones_app.command("import")(reports_errors(import_command))
zones_app.command("create")(reports_errors(create_command))
app.add_typer(zones_app, name="zones")
app.add_typer(validity_app, name="validity")
app.add_typer(audit_app, name="audit")
app.add_typer(map_app, name="map")
app.add_typer(ha_app, name="ha")
app.add_typer(assets_app, name="assets")
app.add_typer(overlays_app, name="overlays")
app.add_typer(feeds_app, name="feeds")
app.add_typer(webhooks_app, name="webhooks")
app.command("up")(up)
app.command("serve")(serve)

__all__ = ["app", "main", "migrate_and_sync"]


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
