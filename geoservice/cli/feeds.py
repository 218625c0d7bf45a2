"""Feeds: calendar addresses for legal staff, webhook subscriptions and the delivery worker."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated

import orjson
import typer
from pydantic import ValidationError

from geoservice.cli.common import current_settings, operator, reports_errors, with_db
from geoservice.db import Database
from geoservice.errors import FieldError, InvalidInput
from geoservice.feeds import calendar, webhooks
from geoservice.feeds.schemas import SubscriptionIn, SubscriptionPatch
from geoservice.feeds.worker import DeliveryWorker, Policy, worker_base_url

feeds_app = typer.Typer(help="Feeds: the legal staff's calendar addresses.", no_args_is_help=True)
calendar_app = typer.Typer(help="Secret calendar addresses (iCalendar) for legal and admin users.",
                           no_args_is_help=True)
feeds_app.add_typer(calendar_app, name="calendar")
webhooks_app = typer.Typer(help="Signed webhooks: subscriptions, the delivery log and the worker.",
                           no_args_is_help=True)


# --- calendar addresses ---------------------------------------------------------------------------------------


@calendar_app.command("add")
@reports_errors
def calendar_add(
    username: str,
    label: Annotated[str | None, typer.Option(help="To recognise the address, e.g. Outlook")] = None,
) -> None:
    """Make a secret calendar address for a legal or admin user and print it (shown once)."""
    made = with_db(lambda db: calendar.create_secret(db, operator(), username=username, label=label))
    typer.echo(worker_base_url(current_settings()) + made["path"])
    typer.echo(f"calendar address {made['id']} ({made['prefix']}…) for {username}; shown only once", err=True)


@calendar_app.command("list")
@reports_errors
def calendar_list() -> None:
    """Every calendar address (never the secret, which is not stored)."""
    for row in with_db(lambda db: calendar.list_secrets(db, operator())):
        state = f"revoked {row['revoked_at']}" if row["revoked_at"] else "active"
        typer.echo(f"{row['id']:5} {row['username']:20} {row['prefix']}… {row['label'] or '-':20} {state}")


@calendar_app.command("revoke")
@reports_errors
def calendar_revoke(
    username: Annotated[str | None, typer.Argument(help="Revoke every address of this user")] = None,
    secret_id: Annotated[int | None, typer.Option("--id", help="Revoke one address by its id")] = None,
) -> None:
    """Revoke a user's calendar addresses (or one by --id); their calendars answer 404 from then on."""
    if (username is None) == (secret_id is None):
        raise typer.BadParameter("give a user name or --id")
    if secret_id is not None:
        with_db(lambda db: calendar.revoke_secret(db, operator(), secret_id))
        typer.echo(f"revoked calendar address {secret_id}")
        return
    count = with_db(lambda db: calendar.revoke_user_secrets(db, operator(), username or ""))
    typer.echo(f"revoked {count} calendar address(es) of {username}")


# --- webhooks -------------------------------------------------------------------------------------------------


@webhooks_app.command("add")
@reports_errors
def webhooks_add(
    url: str,
    event: Annotated[list[str] | None, typer.Option(help="Event type (repeatable); default every type")] = None,
    visibility: Annotated[str, typer.Option(help="public, internal or restricted: the most restricted zones "
                                                 "whose events are sent")] = "public",
    description: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Subscribe a URL; prints the signing secret (shown once)."""
    try:
        body = SubscriptionIn.model_validate({"url": url, "event_types": event or None, "visibility": visibility,
                                              "description": description})
    except ValidationError as exc:
        raise InvalidInput("the subscription is refused", errors=[
            FieldError(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]) from None
    made = with_db(lambda db: webhooks.create_subscription(db, operator(), body))
    typer.echo(made["secret"])
    typer.echo(f"subscription {made['id']} → {made['url']}; the secret above is shown only once", err=True)


@webhooks_app.command("list")
@reports_errors
def webhooks_list(json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Subscriptions with their delivery counts (never the secret)."""
    rows = with_db(lambda db: webhooks.list_subscriptions(db, operator()))
    if json_out:
        typer.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    for row in rows:
        counts = row["deliveries"]
        typer.echo(f"{row['id']:4} {'active' if row['active'] else 'inactive':8} {row['visibility']:10} "
                   f"{','.join(row['event_types'] or ['*']):30} {row['url']}  pending={counts['pending']} "
                   f"delivered={counts['delivered']} failed={counts['failed']}")


def _change(subscription_id: int, patch: SubscriptionPatch) -> dict:
    return with_db(lambda db: webhooks.change_subscription(db, operator(), subscription_id, patch))


@webhooks_app.command("disable")
@reports_errors
def webhooks_disable(subscription_id: int) -> None:
    """Stop sending to a subscription; its deliveries wait (enable sends them)."""
    _change(subscription_id, SubscriptionPatch(active=False))
    typer.echo(f"subscription {subscription_id} disabled")


@webhooks_app.command("enable")
@reports_errors
def webhooks_enable(subscription_id: int) -> None:
    """Send to a subscription again, starting with the deliveries that waited."""
    _change(subscription_id, SubscriptionPatch(active=True))
    typer.echo(f"subscription {subscription_id} enabled")


@webhooks_app.command("rotate-secret")
@reports_errors
def webhooks_rotate(subscription_id: int) -> None:
    """A new signing secret, printed once; the old one stops at once."""
    typer.echo(_change(subscription_id, SubscriptionPatch(rotate_secret=True))["secret"])


@webhooks_app.command("log")
@reports_errors
def webhooks_log(
    subscription: Annotated[int | None, typer.Option(help="Only this subscription")] = None,
    status: Annotated[str | None, typer.Option(help="pending, delivered or failed")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The delivery log, newest first."""
    rows = with_db(lambda db: webhooks.list_deliveries(db, operator(), subscription_id=subscription, status=status,
                                                       event_id=None, limit=limit, offset=0))
    if json_out:
        typer.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    for row in rows:
        typer.echo(f"{row['id']:6} sub={row['subscription_id']:<3} {row['type']:16} zone={row['zone_id']:<5} "
                   f"{row['status']:9} attempts={row['attempts']} last={row['last_status_code'] or row['last_error']}")


@webhooks_app.command("retry")
@reports_errors
def webhooks_retry(delivery_id: int) -> None:
    """Send a failed delivery again."""
    with_db(lambda db: webhooks.retry_delivery(db, operator(), delivery_id))
    typer.echo(f"delivery {delivery_id} is due again")


@webhooks_app.command("deliver")
@reports_errors
def webhooks_deliver(
    once: Annotated[bool, typer.Option("--once", help="Send what is due now and exit (cron)")] = False,
) -> None:
    """Run the delivery worker until stopped (SIGTERM, Ctrl-C), beside or instead of the service's own."""
    settings = current_settings()
    policy = Policy.from_settings(settings)

    async def work(db: Database) -> int:
        worker = DeliveryWorker(db, policy, worker_base_url(settings))
        try:
            if once:
                return await worker.drain()
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            await worker.run(stop)
            return 0
        finally:
            await worker.close()

    attempts = with_db(work)
    if once:
        typer.echo(f"{attempts} delivery attempt(s)")

