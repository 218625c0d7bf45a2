"""Helpers shared by the command groups: errors as messages, one event loop per command, the database."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable, Coroutine
from functools import wraps
from typing import Any, TypeVar

import typer

from geoservice.access import Principal, Role
from geoservice.db import Database
from geoservice.errors import GeoserviceError
from geoservice.settings import Settings, get_settings

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def reports_errors(func: F) -> F:
    """Print service errors as messages (not tracebacks) and exit non-zero."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except GeoserviceError as exc:
            typer.echo(f"error: {error_text(exc)}", err=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def error_text(exc: GeoserviceError) -> str:
    """The message for the terminal. The base class is titled "Internal error" (right for an HTTP 500), but a
    command raising it plainly means a usage error the detail explains, so the title is left out."""
    if type(exc) is GeoserviceError:
        return "\n".join([exc.detail, *(f"  - {e.field}: {e.reason}" for e in exc.errors)])
    return str(exc)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def current_settings() -> Settings:
    return get_settings()


def operator() -> Principal:
    """The person at the terminal: a local admin, named in the audit log by their OS user."""
    return Principal(role=Role.admin, username=f"cli:{getpass.getuser()}")


def principal_as(role: Role, politikreds: str | None = None) -> Principal:
    """See data as another role would (exports of what the public sees, for instance)."""
    return Principal(role=role, username=f"cli:{getpass.getuser()}", politikreds_code=politikreds)


def with_db(work: Callable[[Database], Awaitable[T]]) -> T:
    """Run one piece of async work with a connection pool open for the command's lifetime."""

    async def go() -> T:
        db = Database(get_settings())
        await db.open()
        try:
            return await work(db)
        finally:
            await db.close()

    return asyncio.run(go())


def csv_list(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None
