"""The OpenAPI document, made to describe what the service really answers.

FastAPI documents the routes' parameters and bodies; this adds, for every operation and by the same rules that
decide the answers (so a route added later is described without anyone remembering to):

* the error answers it can give, each `application/problem+json` (RFC 9457): 400 (an untrusted Host, malformed
  JSON, an unsupported CRS), 422 (any parameter or body field, control characters included), 401/403/429
  where a token is read, 404 where a path names a resource, 409 on writes, 412/428 where `If-Match` is taken,
  413 where a body is sent;
* the token as an HTTP bearer security scheme, optional (no token is the public), instead of a header
  parameter, on the operations that read it;
* the success answers' schemas and media types the routes declare with `geoservice.api.answers.ok`;
* the zone kinds and overlay categories of `layers/` as the enums of the parameters that take them.

The document is built once per application and cached by FastAPI; nothing here runs per request.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from geoservice.api import answers
from geoservice.api.problems import PROBLEM_MEDIA_TYPE
from geoservice.layers import get_layers
from geoservice.overlays.taxonomy import get_overlay_rules
from geoservice.textcheck import document_text
from geoservice.zones import ZONE_STATUSES

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details; `errors` names each field and the reason",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {
            "type": "object", "required": ["field", "reason"],
            "properties": {"field": {"type": "string"}, "reason": {"type": "string"}}}},
    },
}

DESCRIPTIONS = {
    400: "Bad request: an untrusted Host header, malformed JSON, an unsupported CRS",
    401: "The token is unknown, revoked, expired or malformed",
    403: "Not allowed for the token's role (or outside an officer's politikreds)",
    404: "No such resource that this role may see",
    409: "Conflicts with the current state (e.g. the zone's lifecycle)",
    412: "If-Match does not match the current version",
    413: "The request body is larger than the limit",
    422: "A parameter or body field is invalid; `errors` names each one and the reason",
    428: "If-Match is required for this change",
    429: "Too many failed authentications from this address; see Retry-After",
    503: "The service cannot answer now (e.g. the database is unavailable); try again later",
}
BEARER = "bearerToken"
WRITE_METHODS = {"post", "put", "patch", "delete"}


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def build(app: FastAPI) -> dict[str, Any]:
    document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas["Problem"] = PROBLEM_SCHEMA
    for model in answers.REGISTRY.values():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
        for name, definition in [*schema.pop("$defs", {}).items(), (model.__name__, schema)]:
            if schemas.setdefault(name, definition) != definition:
                raise RuntimeError(f"two different schemas are called {name} in the OpenAPI document")
    components["securitySchemes"] = {BEARER: {
        "type": "http", "scheme": "bearer",
        "description": "A staff token (`geoservice users add`); without one the request is the public's"}}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in WRITE_METHODS | {"get"}:
                _describe(path, method, operation)
    return document


def code_lists() -> dict[str, list[str]]:
    """The codes parameters take, from layers/ (rules as data: a new kind or category is documented too)."""
    rules = get_overlay_rules()
    return {
        "kinds": list(get_layers().kinds),
        "zone-statuses": list(ZONE_STATUSES),
        "incident-categories": [*rules.groups, *rules.categories],
        "report-categories": list(rules.report_categories),
        "report-statuses": list(rules.report_statuses),
    }


# What str.strip() removes, less the control characters (refused anyway): the space around a code in a list.
_SPACE = "[ \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*"


def csv_pattern(codes: list[str]) -> str:
    """A comma-separated list of codes as `parse_csv` reads it: blanks around them and empty items are ignored."""
    item = f"{_SPACE}({'|'.join(re.escape(c) for c in codes)})?{_SPACE}"
    return f"^{item}(,{item})*$"


def _codes(schema: dict[str, Any]) -> None:
    name = schema.pop("x-codes-of", None)
    many = schema.pop("x-many", "yes") == "yes"
    if name is None:
        return
    codes = code_lists()[name]
    if many:
        schema["pattern"] = csv_pattern(codes)
    else:
        schema["enum"] = codes


def _describe(path: str, method: str, operation: dict[str, Any]) -> None:
    parameters = operation.get("parameters", [])
    for parameter in parameters:
        schema = parameter.get("schema", {})
        options = schema.get("anyOf", [])
        if len(options) == 2 and {"type": "null"} in options:
            # a query parameter is absent or a string, never null
            (value,) = [o for o in options if o != {"type": "null"}]
            schema = parameter["schema"] = {**{k: v for k, v in schema.items() if k != "anyOf"}, **value}
        _codes(schema)
        # geoservice.api.hardening refuses control characters in any query or path (repeated parameters too)
        document_text(schema)
        if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
            document_text(schema["items"])
    headers = {p["name"].lower() for p in parameters if p.get("in") == "header"}
    reads_token = "authorization" in headers or operation.pop("x-reads-token", False)
    if reads_token:
        # the token is a security scheme (optional: no token is the public), not a parameter to fuzz
        operation["parameters"] = [p for p in parameters
                                   if not (p.get("in") == "header" and p["name"].lower() == "authorization")]
        operation["security"] = [{}, {BEARER: []}]
    if not operation.get("parameters"):
        operation.pop("parameters", None)
    codes = {400, 422}
    if reads_token:
        codes |= {401, 403, 429}
    if "{" in path:
        codes.add(404)
    if method in WRITE_METHODS:
        codes.add(409)
    if "if-match" in headers:
        codes |= {412, 428}
    if "requestBody" in operation:
        codes.add(413)
    responses = operation.setdefault("responses", {})
    # codes a route declares itself (e.g. `responses={404: {}}`, or a 503 when the database is away) are problems too
    for code in sorted(codes | {int(c) for c in responses if str(c)[0] in "45"}):
        response = responses.setdefault(str(code), {})
        response.setdefault("description", DESCRIPTIONS.get(code, "Error"))
        content = response.get("content") or {}
        # a route's own error body stays (audit/verify answers 409 with its report); FastAPI's 422 does not
        if not content or "HTTPValidationError" in str(content):
            response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
            if response["description"] == "Validation Error":
                response["description"] = DESCRIPTIONS[422]
    for code, response in responses.items():
        content = response.get("content", {})
        if str(code)[0] == "2" and len(content) > 1:
            # FastAPI adds an untyped application/json entry next to the media types a route declares
            for media_type in [m for m, c in content.items() if c.get("schema") in ({}, None)]:
                del content[media_type]
