"""One stored answer sent many times: the content coding the client accepts (each compressed once), a strong
ETag per coding, and 304 Not Modified for a client that already has it (RFC 9110 8.8.3, 13.1.2)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.responses import Response

from geoservice.compression import SUFFIX, accepted_codings, compressible


def etag_matches(if_none_match: str, base: str) -> bool:
    """Weak comparison, as If-None-Match asks for: any listed tag of any coding of this answer (a proxy may have
    weakened it to W/"...")."""
    for token in if_none_match.split(","):
        token = token.strip()
        if token == "*":
            return True
        tag = token.removeprefix("W/").strip('"')
        if tag == base or (tag.startswith(base + "-") and tag[len(base) + 1:] in SUFFIX.values()):
            return True
    return False


def respond(request_headers: Headers, *, base_etag: str, media_type: str, body: bytes,
            variant: Callable[[str], bytes], cache_control: str, vary: str = "Accept-Encoding",
            extra: dict[str, str] | None = None) -> Response:
    """200 with the best coding the client accepts, or 304 when it already holds this answer."""
    coding = None
    if compressible(media_type, len(body)):
        codings = accepted_codings(request_headers.get("accept-encoding"))
        coding = codings[0] if codings else None
    headers = {**(extra or {}), "ETag": f'"{base_etag}-{SUFFIX[coding]}"' if coding else f'"{base_etag}"',
               "Cache-Control": cache_control, "Vary": vary}
    if_none_match = request_headers.get("if-none-match")
    if if_none_match and etag_matches(if_none_match, base_etag):
        return Response(status_code=304, headers=headers)
    if coding:
        headers["Content-Encoding"] = coding
        return Response(variant(coding), media_type=media_type, headers=headers)
    return Response(body, media_type=media_type, headers=headers)
