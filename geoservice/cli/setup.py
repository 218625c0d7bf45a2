"""Setting up: the project-local cluster, the schema, the demo data, and the server."""

from __future__ import annotations

from typing import Annotated

import typer

from geoservice import cluster
from geoservice.cli.common import current_settings, reports_errors, run
from geoservice.db import applied_migrations, connect, migrate
from geoservice.demo.load import load_demo
from geoservice.layers import get_layers
from geoservice.settings import Settings

cluster_app = typer.Typer(help="The project-local PostgreSQL cluster (unused when GEOSERVICE_DATABASE_URL is set).",
                          no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
demo_app = typer.Typer(help="Demo data built from ../shared/data.", no_args_is_help=True)


# --- cluster -------------------------------------------------------------------------------------------------


@cluster_app.command("start")
@reports_errors
def cluster_start() -> None:
    """Create (first time) and start the project-local cluster; a no-op for an external database."""
    settings = current_settings()
    if settings.database_url:
        typer.echo("GEOSERVICE_DATABASE_URL is set: using the external database, no local cluster")
        return
    created = cluster.init(settings)
    cluster.start(settings)
    typer.echo(f"{'created and ' if created else ''}started PostgreSQL in {settings.pg_data_dir} "
               f"on 127.0.0.1:{settings.pg_port}")


@cluster_app.command("stop")
@reports_errors
def cluster_stop() -> None:
    """Stop the project-local cluster."""
    stopped = cluster.stop(current_settings())
    typer.echo("stopped" if stopped else "was not running")


@cluster_app.command("status")
@reports_errors
def cluster_status() -> None:
    settings = current_settings()
    running = cluster.is_running(settings)
    typer.echo(f"{'running' if running else 'stopped'}: {settings.pg_data_dir} port {settings.pg_port}")
    raise typer.Exit(0 if running else 1)


@cluster_app.command("wipe")
@reports_errors
def cluster_wipe(yes: Annotated[bool, typer.Option("--yes", help="Do not ask")] = False) -> None:
    """Stop the cluster and delete its data directory (all local data)."""
    settings = current_settings()
    if not yes:
        typer.confirm(f"Delete {settings.pg_data_dir} and everything in it?", abort=True)
    cluster.wipe(settings)
    typer.echo(f"wiped {settings.pg_data_dir}")


# --- database ------------------------------------------------------------------------------------------------


def migrate_and_sync(settings: Settings, dbname: str | None = None) -> list[str]:
    from geoservice.store.kinds import sync_kinds, unknown_kinds

    cluster.ensure_database(settings, dbname)
    applied = migrate(settings, dbname)
    with connect(settings, dbname) as conn:
        sync_kinds(conn, get_layers())
        stale = unknown_kinds(conn, get_layers())
    if stale:
        typer.echo(f"warning: kinds in the database but not in layers/kinds.yaml: {', '.join(stale)}", err=True)
    return applied


@db_app.command("migrate")
@reports_errors
def db_migrate() -> None:
    """Create the database if needed, apply pending migrations and sync zone kinds from layers/."""
    applied = migrate_and_sync(current_settings())
    typer.echo(f"applied {len(applied)} migration(s){': ' + ', '.join(applied) if applied else ''}; kinds synced")


@db_app.command("status")
@reports_errors
def db_status() -> None:
    """List applied migrations."""
    for mid in applied_migrations(current_settings()):
        typer.echo(mid)


# --- demo ----------------------------------------------------------------------------------------------------


@demo_app.command("load")
@reports_errors
def demo_load() -> None:
    """Build the demo data from ../shared/data and load what is missing (safe to run again)."""
    report = run(load_demo(current_settings()))
    typer.echo(report.summary())
    for history in report.history:
        typer.echo(history.summary())
    typer.echo(report.overlays.summary())


@reports_errors
def up() -> None:
    """Start the cluster, migrate and load the demo data: everything `serve` needs."""
    cluster_start()
    db_migrate()
    demo_load()


@reports_errors
def serve(
    host: Annotated[str | None, typer.Option(help="Default GEOSERVICE_HOST or 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="Default GEOSERVICE_PORT or 8000")] = None,
    workers: Annotated[int, typer.Option(help="Server processes")] = 1,
) -> None:
    """Serve the API and the web map."""
    import psycopg
    import uvicorn

    from geoservice.store.kinds import sync_kinds

    settings = current_settings()
    try:
        with connect(settings, connect_timeout=settings.db_connect_timeout) as conn:
            sync_kinds(conn, get_layers())
    except psycopg.OperationalError as exc:
        # Serve anyway: the API answers 503 (and /readyz says why) until the database is up.
        reason = " ".join(str(exc).split())[:200]
        typer.echo(f"warning: the database is unavailable ({reason}); serving 503 until it is up", err=True)
    typer.echo(f"geoservice on http://{host or settings.host}:{port or settings.port}/ (API docs at /docs)")
    uvicorn.run("geoservice.api.app:create_app", factory=True, host=host or settings.host,
                port=port or settings.port, workers=workers, log_level="warning", access_log=False,
                server_header=False)  # no banner naming the server software

