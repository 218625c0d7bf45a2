"""One exception hierarchy for the whole service.

Domain and data-access code raise these; the HTTP layer maps them to RFC 9457 problem documents in one place
(`geoservice.api.problems`) and the CLI prints them and exits non-zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PROBLEM_BASE = "urn:geoservice:problem:"


@dataclass
class FieldError:
    """What is wrong with one input field: `field` is a dotted path (e.g. `properties.valid_to`)."""

    field: str
    reason: str
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "reason": self.reason, **self.extra}


class GeoserviceError(Exception):
    status: int = 500
    slug: str = "internal-error"
    title: str = "Internal error"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[FieldError] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra or {}
        self.headers = headers or {}

    @property
    def type_uri(self) -> str:
        return PROBLEM_BASE + self.slug

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type_uri,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = [e.as_dict() for e in self.errors]
        body.update(self.extra)
        return body

    def __str__(self) -> str:
        lines = [f"{self.title}: {self.detail}"]
        lines += [f"  - {e.field}: {e.reason}" for e in self.errors]
        return "\n".join(lines)


class BadRequest(GeoserviceError):
    status = 400
    slug = "bad-request"
    title = "Bad request"


class InvalidInput(GeoserviceError):
    """Well-formed but wrong: a field with a value the service cannot accept."""

    status = 422
    slug = "invalid-input"
    title = "Invalid input"


class InvalidGeometry(InvalidInput):
    slug = "invalid-geometry"
    title = "Invalid geometry"


class OutsideDenmark(InvalidInput):
    slug = "outside-denmark"
    title = "Coordinates outside Denmark"


class UnsupportedCrs(InvalidInput):
    status = 400
    slug = "unsupported-crs"
    title = "Unknown or unsupported CRS"


class InvalidTime(InvalidInput):
    slug = "invalid-time"
    title = "Invalid time"


class RuleViolation(InvalidInput):
    """A legal rule of the zone kind (from layers/kinds.yaml) refuses the request; `rule` quotes it."""

    slug = "rule-violation"
    title = "Zone rule violated"


class ImportRejected(InvalidInput):
    slug = "import-rejected"
    title = "Import rejected"


class Unauthorized(GeoserviceError):
    status = 401
    slug = "unauthorized"
    title = "Authentication required"

    def __init__(self, detail: str, **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": 'Bearer realm="geoservice"'})
        super().__init__(detail, **kw)


class Forbidden(GeoserviceError):
    status = 403
    slug = "forbidden"
    title = "Not allowed for this role"


class NotFound(GeoserviceError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(GeoserviceError):
    status = 409
    slug = "conflict"
    title = "Conflict with the current state"


class PreconditionFailed(GeoserviceError):
    """If-Match names a state of the zone that is no longer current: someone else changed it first."""

    status = 412
    slug = "precondition-failed"
    title = "The zone has changed"


class PreconditionRequired(GeoserviceError):
    """A write without If-Match where the service is configured to require it (GEOSERVICE_REQUIRE_IF_MATCH)."""

    status = 428
    slug = "precondition-required"
    title = "If-Match required"


class PayloadTooLarge(GeoserviceError):
    status = 413
    slug = "payload-too-large"
    title = "Request body too large"


class UpstreamUnavailable(GeoserviceError):
    """A configured upstream (the street map's tile server, the address search) did not answer usably."""

    status = 502
    slug = "upstream-unavailable"
    title = "Upstream service unavailable"

class ServiceUnavailable(GeoserviceError):
    """The database cannot be reached right now (down, restarting, failing over): try again shortly."""

    status = 503
    slug = "database-unavailable"
    title = "Database unavailable"

class TooManyRequests(GeoserviceError):
    status = 429
    slug = "too-many-requests"
    title = "Too many requests"

    def __init__(self, detail: str, retry_after_s: int, **kw: Any) -> None:
        kw.setdefault("headers", {"Retry-After": str(retry_after_s)})
        kw.setdefault("extra", {"retry_after": retry_after_s})
        super().__init__(detail, **kw)


class SetupError(GeoserviceError):
    """Something the installation should have provided is missing (web assets, server binaries)."""

    slug = "setup"
    title = "Installation incomplete"


class ClusterError(SetupError):
    slug = "database-cluster"
    title = "Local database cluster"


class Gone(GeoserviceError):
    """The resource existed but not at the requested time (a zone outside every one of its versions)."""

    status = 410
    slug = "gone"
    title = "Not in force at that time"
