"""/api/v1/feeds: the public Atom feed of zone decisions and the legal staff's deadline calendar."""

from __future__ import annotations

import datetime as dt
import email.utils
from typing import Annotated, Any
from urllib.parse import urlsplit

import orjson
from fastapi import APIRouter, Body, Path, Query, Request
from starlette.responses import Response

from geoservice.api.answers import JSON, CalendarSecrets, NewCalendarSecret, ok
from geoservice.api.deps import DbDep, PrincipalDep, SettingsDep, codes_of, parse_csv
from geoservice.api.problems import PROBLEM_MEDIA_TYPE
from geoservice.feeds import atom, calendar
from geoservice.feeds.schemas import CalendarSecretIn
from geoservice.settings import Settings

router = APIRouter(prefix="/api/v1/feeds", tags=["feeds"])


def problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": {"type": "object"}}}}


def text_body(media_type: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {media_type: {"schema": {"type": "string"}}}}


def base_url(request: Request, settings: Settings) -> str:
    """Where absolute links point: the configured public address, else the one this request came to."""
    return (settings.public_url or str(request.base_url)).rstrip("/")


def not_modified(request: Request, etag: str, last_modified: dt.datetime | None) -> bool:
    """RFC 9110 13.1: If-None-Match decides when present; else If-Modified-Since against Last-Modified."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or etag in tags
    since_header = request.headers.get("if-modified-since")
    if since_header and last_modified is not None:
        try:
            since = email.utils.parsedate_to_datetime(since_header)
        except (TypeError, ValueError):
            return False
        return since.tzinfo is not None and last_modified.replace(microsecond=0) <= since
    return False


@router.get(
    "/zones.atom",
    summary="Atom feed of designations, extensions, amendments and revocations of public zones",
    description="Newest first, `limit` entries a page; the `next` link pages back (RFC 5005). Entries have "
                "stable tag: ids, a Danish title and summary (period, legal basis, decision), a link to the zone "
                "on the public map and to its GeoJSON. Answers 304 to `If-None-Match` / `If-Modified-Since`.",
    response_class=Response,
    responses={200: text_body(atom.MEDIA_TYPE, "Atom feed (RFC 4287)"), 304: {"description": "Not modified"},
               400: problem("`before` is not a cursor of this feed"), 422: problem("Unknown kind or bad limit")},
)
async def zone_feed(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    kind: Annotated[str | None, Query(description="Only these kinds (codes, comma-separated)",
                                      json_schema_extra=codes_of("kinds"))] = None,
    limit: Annotated[int, Query(ge=1, le=atom.MAX_LIMIT, description="Entries per page")] = atom.DEFAULT_LIMIT,
    before: Annotated[str | None, Query(max_length=200, description="Cursor from the `next` link")] = None,
) -> Response:
    page = await atom.zone_feed(db, base_url=base_url(request, settings), authority=settings.feed_tag_authority,
                                kinds=parse_csv(kind), before=before, limit=limit)
    headers = {"ETag": page.etag, "Cache-Control": "public, max-age=60"}
    if page.last_modified is not None:
        headers["Last-Modified"] = email.utils.format_datetime(page.last_modified.astimezone(dt.UTC), usegmt=True)
    if not_modified(request, page.etag, page.last_modified):
        return Response(status_code=304, headers=headers)
    return Response(page.body, media_type=atom.MEDIA_TYPE, headers=headers)


CALENDAR_HEADERS = {
    # personal and secret: no shared cache may keep it, nor the client's own cache
    "Cache-Control": "private, no-store",
    "Content-Disposition": 'inline; filename="zoner-udloeb.ics"',
}


def _calendar_response(body: bytes) -> Response:
    return Response(body, media_type=calendar.MEDIA_TYPE, headers=CALENDAR_HEADERS)


@router.get(
    "/calendar.ics",
    summary="iCalendar of designation ends and warning dates (legal, admin; Bearer token)",
    response_class=Response,
    responses={200: text_body(calendar.MEDIA_TYPE, "iCalendar (RFC 5545)"),
               401: problem("No or an unknown token"), 403: problem("Not legal or admin")},
)
async def calendar_by_token(request: Request, db: DbDep, settings: SettingsDep, principal: PrincipalDep
                            ) -> Response:
    host = urlsplit(base_url(request, settings)).hostname or "geoservice"
    return _calendar_response(await calendar.calendar_for(db, principal, base_url=base_url(request, settings),
                                                          host=host))


@router.get(
    "/calendar/{secret}.ics",
    summary="The same calendar at a secret address, for calendar clients that cannot send a token (Outlook)",
    response_class=Response,
    responses={200: text_body(calendar.MEDIA_TYPE, "iCalendar (RFC 5545)"),
               404: problem("Unknown or revoked address")},
)
async def calendar_by_secret(
    request: Request, db: DbDep, settings: SettingsDep,
    secret: Annotated[str, Path(max_length=100, description="The secret from POST /api/v1/feeds/calendar/secrets")],
) -> Response:
    principal = await calendar.principal_for_secret(db, secret)
    host = urlsplit(base_url(request, settings)).hostname or "geoservice"
    return _calendar_response(await calendar.calendar_for(db, principal, base_url=base_url(request, settings),
                                                          host=host))


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json", headers=headers)


@router.post(
    "/calendar/secrets", status_code=201,
    summary="A secret calendar address for the caller (legal, admin; an admin may name another legal/admin user)",
    description="The address (`url`, and `webcal` for calendar apps) is in this answer only; only a hash of the "
                "secret is stored. Revoke it with DELETE.",
    responses={**ok((JSON, NewCalendarSecret), status=201), 401: problem("No token"),
               403: problem("Not legal or admin"), 404: problem("No such user"),
               409: problem("The user is not an active legal or admin user")},
)
async def create_calendar_secret(request: Request, db: DbDep, settings: SettingsDep, principal: PrincipalDep,
                                 body: Annotated[CalendarSecretIn, Body()]) -> Response:
    made = await calendar.create_secret(db, principal, username=body.username, label=body.label)
    url = base_url(request, settings) + made.pop("path")
    made.update(url=url, webcal=url.replace("https://", "webcal://", 1).replace("http://", "webcal://", 1))
    return json_response(made, 201, {"Cache-Control": "no-store"})


@router.get("/calendar/secrets", summary="Calendar addresses: your own (legal), everyone's (admin); never the "
                                         "secret itself",
            responses={**ok((JSON, CalendarSecrets)), 401: problem("No token"), 403: problem("Not legal or admin")})
async def list_calendar_secrets(db: DbDep, principal: PrincipalDep) -> Response:
    return json_response({"secrets": await calendar.list_secrets(db, principal)})


@router.delete("/calendar/secrets/{secret_id}", status_code=204,
               summary="Revoke a calendar address (your own; an admin any)",
               responses={404: problem("No such address of yours"), 409: problem("Already revoked")})
async def revoke_calendar_secret(db: DbDep, principal: PrincipalDep,
                                 secret_id: Annotated[int, Path(ge=1, le=2_147_483_647)]) -> Response:
    await calendar.revoke_secret(db, principal, secret_id)
    return Response(status_code=204)
