"""`geoservice ha ...`: the local pg_auto_failover formation that `./dev ha` serves from (geoservice/ha.py)."""

from __future__ import annotations

import shlex

import typer

from geoservice import ha
from geoservice.cli.common import current_settings, reports_errors

ha_app = typer.Typer(help="A local pg_auto_failover formation: monitor + primary + synchronous standby.",
                     no_args_is_help=True)


@ha_app.command("start")
@reports_errors
def ha_start() -> None:
    """Create (first time) and start the formation; wait for a primary and a secondary."""
    settings = current_settings()
    formation = ha.start(settings)
    typer.echo(f"formation in {formation.root}: monitor on 127.0.0.1:{formation.monitor_port}, nodes on "
               f"{', '.join(f'127.0.0.1:{p}' for p in formation.node_ports)}")
    typer.echo(f"writes:         {formation.database_url('read-write')}")
    typer.echo(f"public reads:   {formation.database_url('prefer-standby')}")


@ha_app.command("env")
@reports_errors
def ha_env() -> None:
    """Shell lines that point the service at the formation (`eval "$(geoservice ha env)"`)."""
    formation = ha.Formation.from_settings(current_settings())
    typer.echo(f"export GEOSERVICE_DATABASE_URL={shlex.quote(formation.database_url('read-write'))}")
    typer.echo(f"export GEOSERVICE_READ_DATABASE_URL={shlex.quote(formation.database_url('prefer-standby'))}")


@ha_app.command("status")
@reports_errors
def ha_status() -> None:
    """Each node as the monitor sees it."""
    settings = current_settings()
    rows = ha.state(ha.Formation.from_settings(settings), settings)
    if not rows:
        typer.echo("the monitor is not running (or the formation does not exist)")
        raise typer.Exit(1)
    for row in rows:
        typer.echo(f"{row['nodename']}  127.0.0.1:{row['nodeport']}  {row['current_group_state']:<13} "
                   f"(assigned {row['assigned_group_state']})  LSN {row['reported_lsn']}")


@ha_app.command("stop")
@reports_errors
def ha_stop() -> None:
    """Stop the nodes and the monitor."""
    ha.stop(current_settings())
    typer.echo("stopped")


@ha_app.command("wipe")
@reports_errors
def ha_wipe(yes: bool = typer.Option(False, "--yes", help="Do not ask")) -> None:
    """Stop the formation and delete its directory."""
    settings = current_settings()
    if not yes:
        typer.confirm(f"Delete {settings.ha_dir} and everything in it?", abort=True)
    ha.wipe(settings)
    typer.echo(f"wiped {settings.ha_dir}")
