"""Users, roles and API tokens."""

from __future__ import annotations

from typing import Annotated

import typer

from geoservice.access import Role, new_token
from geoservice.cli.common import current_settings, operator, reports_errors
from geoservice.db import connect, set_audit_context_sync
from geoservice.errors import Conflict, InvalidInput, NotFound

users_app = typer.Typer(help="Users, roles and API tokens.", no_args_is_help=True)


# --- users ---------------------------------------------------------------------------------------------------


@users_app.command("add")
@reports_errors
def users_add(
    username: str,
    role: Annotated[Role, typer.Option(help="officer, analyst, legal or admin")],
    politikreds: Annotated[str | None, typer.Option(help="Politikreds number (officers: required)")] = None,
    sector: Annotated[str | None, typer.Option(help="Din Betjent sector code")] = None,
    full_name: Annotated[str | None, typer.Option()] = None,
    label: Annotated[str | None, typer.Option(help="Label for the token")] = None,
) -> None:
    """Add a user and print their API token (shown once; only its hash is stored)."""
    from geoservice.store import users

    if role == Role.public:
        raise InvalidInput("the public role needs no user or token")
    users.check_username(username)
    settings = current_settings()
    with connect(settings) as conn, conn.transaction():
        set_audit_context_sync(conn, operator().actor, "user.add")
        if users.find_user(conn, username):
            raise Conflict(f"user {username!r} exists; use `geoservice users token {username}`")
        if sector:
            found = users.sector_exists(conn, sector)
            if not found:
                raise InvalidInput(f"unknown sector {sector!r}")
            politikreds = politikreds or found[1]
        if politikreds and not users.politikreds_exists(conn, politikreds):
            raise InvalidInput(f"unknown politikreds {politikreds!r} (expected a number 1-12)")
        if role == Role.officer and not politikreds:
            raise InvalidInput("an officer needs --politikreds (or --sector)")
        user_id = users.add_user(conn, username=username, role=role.value, full_name=full_name,
                                 politikreds_code=politikreds, sector_code=sector)
        token, digest, prefix = new_token()
        users.add_token(conn, user_id=user_id, token_hash=digest, prefix=prefix, label=label)
    typer.echo(token)
    typer.echo(f"user {username} ({role.value}) added; the token above is shown only once", err=True)


@users_app.command("token")
@reports_errors
def users_token(username: str, label: Annotated[str | None, typer.Option()] = None) -> None:
    """Issue another token for an existing user."""
    from geoservice.store import users

    with connect(current_settings()) as conn, conn.transaction():
        set_audit_context_sync(conn, operator().actor, "token.add")
        row = users.find_user(conn, username)
        if not row:
            raise NotFound(f"no user {username!r}")
        token, digest, prefix = new_token()
        users.add_token(conn, user_id=row[0], token_hash=digest, prefix=prefix, label=label)
    typer.echo(token)


@users_app.command("revoke-tokens")
@reports_errors
def users_revoke(username: str) -> None:
    """Revoke every token of a user."""
    from geoservice.store import users

    with connect(current_settings()) as conn, conn.transaction():
        set_audit_context_sync(conn, operator().actor, "token.revoke")
        row = users.find_user(conn, username)
        if not row:
            raise NotFound(f"no user {username!r}")
        count = users.revoke_tokens(conn, row[0])
    typer.echo(f"revoked {count} token(s) of {username}")


@users_app.command("list")
@reports_errors
def users_list() -> None:
    from geoservice.store import users

    with connect(current_settings()) as conn:
        for name, role, kreds, sector, active, tokens in users.list_users(conn):
            typer.echo(f"{name:20} {role:8} kreds={kreds or '-':3} sector={sector or '-':22} "
                       f"{'active' if active else 'inactive'} tokens={tokens}")
