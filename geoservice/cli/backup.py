"""`geoservice db backup FILE` and `geoservice db restore FILE`: backups proven by restoring them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geoservice import backup as backups
from geoservice.cli.common import current_settings, reports_errors
from geoservice.cli.setup import db_app


@db_app.command("backup")
@reports_errors
def db_backup(file: Annotated[Path, typer.Argument(help="The dump to write (pg_dump custom format)")]) -> None:
    """Dump the database (pg_dump custom format) and write FILE.json beside it with the audit chain's head hash
    from the same snapshot. Exits 1 if the audit chain is broken (the dump is written all the same)."""
    info = backups.backup(current_settings(), file)
    size = file.stat().st_size
    typer.echo(f"backup of {info.database} written to {file} ({size:,} bytes) and {backups.sidecar(file)}")
    if not info.audit.ok:
        typer.echo(f"warning: the audit chain is broken: {info.audit.problem}", err=True)
        raise typer.Exit(1)
    typer.echo(f"audit chain: {info.audit.rows} rows, head {info.audit.head_hash}")


@db_app.command("restore")
@reports_errors
def db_restore(
    file: Annotated[Path, typer.Argument(help="A dump written by `geoservice db backup`")],
    dbname: Annotated[str | None, typer.Option("--dbname", help="Restore into this database "
                                                                 "(default: the configured one); it must be empty")
                      ] = None,
) -> None:
    """Restore a backup into an empty database (created if missing) in one transaction, then verify the audit
    chain and compare its head hash with the one recorded at backup time. Exits 1 when they differ."""
    result = backups.restore(current_settings(), file, dbname)
    typer.echo(f"restored {file} into {result.database}")
    typer.echo(f"audit chain: {result.restored.rows} rows, head {result.restored.head_hash} "
               f"(backup: {result.expected.rows} rows, head {result.expected.head_hash})")
    if not result.verified:
        reason = result.restored.problem or "the head hash differs from the one recorded at backup time"
        typer.echo(f"error: the restored audit chain does not verify: {reason}", err=True)
        raise typer.Exit(1)
    typer.echo("verified: the restored audit chain is intact and ends where the backup's did")
