"""The legal staff's iCalendar feed (RFC 5545): when each designation ends and its warning dates.

A zone's designations run on as long as each extension starts where the one before ends; a *run* ends where
nothing continues it (as in zone_chain_end, migrations/0005). For each run that ends from CALENDAR_PAST_DAYS ago
on, the calendar has:
- the end itself, a timed event in UTC ("Udløber: ..."; "Ophæves: ..." when a revocation ends it early);
- one all-day event per warning window of the kind (layers/kinds.yaml `warning_days`) on the Copenhagen date the
  window opens, for a natural end only, and only when the window opens after the run began.
UIDs name the zone and the first version of the run, so a published extension moves the same event (SEQUENCE
counts the run's versions); DTSTAMP is when the register last recorded a change to the run, so the body is the
same until something changes.

Calendar clients that subscribe to a URL (Outlook, Google, Apple) cannot send an Authorization header, so a
legal or admin user gets secret calendar addresses of their own (like API tokens, only a hash is stored; each
is revocable; never the API token itself). With a Bearer token the same calendar is served too.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Any

from icalendar import Calendar, Event

from geoservice import __version__, timeutil
from geoservice.access import Principal, Role, hash_token, require, zone_filter
from geoservice.db import Database, finite
from geoservice.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from geoservice.layers import get_layers
from geoservice.store import feeds as store

MEDIA_TYPE = "text/calendar"
CALENDAR_ROLES = (Role.legal, Role.admin)
CALENDAR_PAST_DAYS = 31
SECRET_PREFIX = "gscal_"
REFRESH = dt.timedelta(hours=1)


@dataclass
class Run:
    """An unbroken run of published designations of one zone."""

    zone: dict[str, Any]
    versions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def start(self) -> dt.datetime:
        return self.versions[0]["start"]

    @property
    def end(self) -> dt.datetime:
        return max(v["end"] for v in self.versions)

    @property
    def last(self) -> dict[str, Any]:
        return max(self.versions, key=lambda v: (v["end"], v["version_no"]))

    @property
    def revoked(self) -> bool:
        return self.last["ended_reason"] == "revoked"

    @property
    def recorded(self) -> dt.datetime:
        moments = [v["published_at"] for v in self.versions]
        moments += [v["ended_recorded_at"] for v in self.versions if v["ended_recorded_at"]]
        return max(moments)


def runs(rows: list[dict[str, Any]]) -> list[Run]:
    """Group versions (ordered by zone and start) into runs: a version that starts at or before the end so far
    continues the run."""
    result: list[Run] = []
    for row in rows:
        current = result[-1] if result else None
        if current is None or current.zone["zone_id"] != row["zone_id"] or row["start"] > current.end:
            current = Run(zone=row)
            result.append(current)
        current.versions.append(row)
    return result


def _uid(run: Run, what: str, host: str) -> str:
    return f"zone-{run.zone['zone_id']}-run-{run.versions[0]['version_id']}-{what}@{host}"


def _description(run: Run, base_url: str) -> str:
    zone, last = run.zone, run.last
    lines = [
        f"{zone['name']} ({zone['kind_name']}, zone {zone['zone_id']}, {zone['visibility']}).",
        f"Udpeget {timeutil.format_danish_period(run.start, finite(run.end))}"
        f" ({len(run.versions)} afgørelse{'r' if len(run.versions) > 1 else ''}).",
    ]
    if run.revoked:
        lines.append(f"Ophæves fra {timeutil.format_danish(run.end)}: {zone['revoke_reason'] or ''}".rstrip(": "))
    if last["decision_ref"]:
        by = f" ({last['decided_by']})" if last["decided_by"] else ""
        lines.append(f"Seneste afgørelse: {last['decision_ref']}{by}.")
    if last["legal_basis"]:
        lines.append(f"Hjemmel: {last['legal_basis']}.")
    lines.append(f"Historik: {base_url}/api/v1/zones/{zone['zone_id']}/history · Gyldighed: {base_url}/legal")
    return "\n".join(lines)


def _event(run: Run, uid: str, summary: str, base_url: str) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", run.recorded.astimezone(dt.UTC))
    event.add("last-modified", run.recorded.astimezone(dt.UTC))
    event.add("sequence", len(run.versions) - 1)
    event.add("summary", summary)
    event.add("description", _description(run, base_url))
    event.add("categories", [run.zone["kind_name"]])
    event.add("url", f"{base_url}/legal")
    event.add("transp", "TRANSPARENT")  # a deadline, not a meeting: it does not make anyone busy
    event.add("status", "CONFIRMED")
    return event


def build_calendar(rows: list[dict[str, Any]], *, since: dt.datetime, base_url: str, host: str) -> bytes:
    cal = Calendar()
    cal.add("prodid", f"-//geoservice//zone deadlines {__version__}//DA")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "Zoner: udløb og varsler")
    cal.add("x-wr-caldesc", "Hvornår politiets zoner udløber, og hvornår varslingsvinduerne åbner")
    cal.add("x-wr-timezone", "Europe/Copenhagen")
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})  # RFC 7986
    cal.add("x-published-ttl", "PT1H")  # Outlook's refresh hint
    layers = get_layers()
    for run in runs(rows):
        end = finite(run.end)
        if end is None or end < since:
            continue
        name = run.zone["name"]
        if run.revoked:
            event = _event(run, _uid(run, "end", host), f"Ophæves: {name}", base_url)
        else:
            event = _event(run, _uid(run, "end", host), f"Udløber: {name}", base_url)
        event.add("dtstart", end.astimezone(dt.UTC))  # no DTEND: a moment (RFC 5545 3.6.1)
        cal.add_component(event)
        if run.revoked:
            continue
        rules = layers.kind(run.zone["kind"])
        for days in sorted(rules.warning_days if rules else [], reverse=True):
            # the same local wall-clock time N calendar days before the end, as the report's warning_opens()
            opens = timeutil.to_local(end) - dt.timedelta(days=days)
            if opens <= run.start or opens < since:
                continue
            day = timeutil.to_local(opens).date()
            warning = _event(run, _uid(run, f"warn-{days}d", host),
                             f"Varsel {days} dage: {name} udløber {timeutil.format_danish(end)}", base_url)
            warning.add("dtstart", day)
            warning.add("dtend", day + dt.timedelta(days=1))
            cal.add_component(warning)
    return cal.to_ical()


async def calendar_for(db: Database, principal: Principal, *, base_url: str, host: str) -> bytes:
    require(principal, *CALENDAR_ROLES, action="The deadline calendar")
    since = timeutil.now() - dt.timedelta(days=CALENDAR_PAST_DAYS)
    async with db.connection() as conn:
        rows = await store.calendar_versions(conn, zone_filter(principal), since)
    return build_calendar(rows, since=since, base_url=base_url, host=host)


async def principal_for_secret(db: Database, secret: str) -> Principal:
    """The user a calendar secret belongs to; unknown, revoked or a user no longer legal/admin: 404 (the
    address is all a client has, so it says nothing about which of these it was)."""
    user = None
    if secret.startswith(SECRET_PREFIX):
        async with db.connection() as conn:
            user = await store.user_for_calendar_secret(conn, hash_token(secret))
    if user is None or Role(user["role"]) not in CALENDAR_ROLES:
        raise NotFound("no calendar at this address (unknown or revoked)")
    return Principal(role=Role(user["role"]), user_id=user["id"], username=user["username"],
                     politikreds_code=user["politikreds_code"], sector_code=user["sector_code"])


def new_secret() -> tuple[str, bytes, str]:
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    return secret, hash_token(secret), secret[:12]


def secret_path(secret: str) -> str:
    return f"/api/v1/feeds/calendar/{secret}.ics"


async def create_secret(db: Database, principal: Principal, *, username: str | None, label: str | None
                        ) -> dict[str, Any]:
    """A new calendar address for the caller (legal, admin) or, by an admin, for another legal or admin user.
    The secret is in the answer only."""
    require(principal, *CALENDAR_ROLES, action="A calendar address")
    target = username or principal.username
    if username and username != principal.username and principal.role != Role.admin:
        raise Forbidden("only an admin makes a calendar address for someone else",
                        extra={"role": principal.role.value})
    async with db.transaction(principal.actor, "calendar_secret.add") as conn:
        user = await store.user_by_name(conn, target or "")
        if user is None:
            raise NotFound(f"no user {target!r}")
        if Role(user["role"]) not in CALENDAR_ROLES or not user["active"]:
            raise Conflict(f"{target} is {user['role']}{'' if user['active'] else ', inactive'}; only active legal "
                           "and admin users have a deadline calendar",
                           errors=[FieldError("username", "not an active legal or admin user")])
        secret, digest, prefix = new_secret()
        row = await store.add_calendar_secret(conn, user_id=user["id"], token_hash=digest, prefix=prefix,
                                              label=label, created_by=principal.actor.name)
    return {"id": row["id"], "username": target, "prefix": prefix, "label": label,
            "created_at": timeutil.isoformat_local(row["created_at"]), "secret": secret, "path": secret_path(secret)}


async def list_secrets(db: Database, principal: Principal) -> list[dict[str, Any]]:
    require(principal, *CALENDAR_ROLES, action="Calendar addresses")
    async with db.connection() as conn:
        rows = await store.list_calendar_secrets(conn, None if principal.role == Role.admin else principal.user_id)
    return [{**row, "created_at": timeutil.isoformat_local(row["created_at"]),
             "revoked_at": timeutil.isoformat_local(row["revoked_at"]) if row["revoked_at"] else None}
            for row in rows]


async def revoke_secret(db: Database, principal: Principal, secret_id: int) -> None:
    require(principal, *CALENDAR_ROLES, action="Revoking a calendar address")
    async with db.transaction(principal.actor, "calendar_secret.revoke") as conn:
        row = await store.calendar_secret(conn, secret_id)
        if row is None or (principal.role != Role.admin and row["user_id"] != principal.user_id):
            raise NotFound(f"no calendar address {secret_id} of yours")
        if row["revoked_at"] is not None:
            raise Conflict(f"calendar address {secret_id} is already revoked")
        await store.revoke_calendar_secrets(conn, secret_id=secret_id)


async def revoke_user_secrets(db: Database, principal: Principal, username: str) -> int:
    """Every live calendar address of a user (CLI)."""
    require(principal, Role.admin, action="Revoking calendar addresses")
    async with db.transaction(principal.actor, "calendar_secret.revoke") as conn:
        user = await store.user_by_name(conn, username)
        if user is None:
            raise InvalidInput(f"no user {username!r}", errors=[FieldError("username", "unknown user")])
        return await store.revoke_calendar_secrets(conn, user_id=user["id"])
