"""If-Match and Idempotency-Key on writes, as one typed dependency (`PreconditionsDep`)."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import Depends, Header, Request

from geoservice.errors import FieldError, InvalidInput
from geoservice.textcheck import control_character
from geoservice.writes import Preconditions


async def write_preconditions(
    request: Request,
    if_match: Annotated[str | None, Header(
        alias="If-Match", max_length=1000,
        description="The ETag of the zone as you last read it: the write is refused (412) if it has changed since. "
                    "Optional unless GEOSERVICE_REQUIRE_IF_MATCH is set (then 428 without it).")] = None,
    idempotency_key: Annotated[str | None, Header(
        alias="Idempotency-Key", min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$",
        description="Any unique string (e.g. a UUID): a repeat with the same key within 24 hours returns the "
                    "first answer and writes nothing.")] = None,
) -> Preconditions:
    for name, value in (("If-Match", if_match), ("Idempotency-Key", idempotency_key)):
        reason = control_character(value) if value is not None else None
        if value is not None and not value.strip():
            reason = "empty; leave the header out, or send an ETag (If-Match) or a unique key (Idempotency-Key)"
        if reason:
            raise InvalidInput(f"{name}: {reason}", errors=[FieldError(name, reason)])
    # FastAPI has read the body already for the body model; this is its cached copy.
    body = await request.body()
    fingerprint = hashlib.sha256(
        request.method.encode() + b" " + request.url.path.encode() + b"?" + request.url.query.encode() + b"\n"
        + body).hexdigest()
    return Preconditions(
        if_match=if_match,
        if_match_required=request.app.state.settings.require_if_match,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
    )


PreconditionsDep = Annotated[Preconditions, Depends(write_preconditions)]
