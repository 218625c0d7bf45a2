"""Roles and what each may see and do. Every role boundary is decided here and nowhere else.

| role    | sees zones                                                       | drafts | writes              |
|---------|------------------------------------------------------------------|--------|---------------------|
| public  | published, public, in force at the requested time                | no     | nothing             |
| officer | public + internal; restricted only in their own politikreds      | no     | insecurity reports  |
| analyst | public + internal                                                | no     | overlay imports     |
| legal   | everything                                                       | yes    | lifecycle actions   |
| admin   | everything                                                       | yes    | everything          |
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

from geoservice.db import Actor
from geoservice.errors import Forbidden, Unauthorized

TOKEN_PREFIX = "gs_"


class Role(StrEnum):
    public = "public"
    officer = "officer"
    analyst = "analyst"
    legal = "legal"
    admin = "admin"


STAFF_ROLES = (Role.officer, Role.analyst, Role.legal, Role.admin)


@dataclass(frozen=True)
class Principal:
    role: Role
    user_id: int | None = None
    username: str | None = None
    politikreds_code: str | None = None
    sector_code: str | None = None

    @property
    def is_public(self) -> bool:
        return self.role == Role.public

    @property
    def actor(self) -> Actor:
        """Who the audit log names: the user, or their id should a name ever be blank; "anonymous" only for
        the public (no token), so a token user's writes are never anonymous."""
        if self.username and self.username.strip():
            name = self.username
        elif self.user_id is not None:
            name = f"user#{self.user_id}"
        else:
            name = "anonymous"
        return Actor(name=name, role=self.role.value, user_id=self.user_id)


PUBLIC = Principal(role=Role.public)


@dataclass(frozen=True)
class ZoneFilter:
    """The part of a zone query that a role decides."""

    visibilities: tuple[str, ...]
    restricted_politikreds: str | None  # restricted zones of this district are visible too
    drafts: bool
    only_in_force: bool  # the public sees only zones in force at the requested time

    def sees(self, visibility: str, politikreds_code: str | None) -> bool:
        """The same rule as the database function zone_visible (migrations/0009), for rows already loaded."""
        return visibility in self.visibilities or (
            visibility == "restricted"
            and self.restricted_politikreds is not None
            and politikreds_code == self.restricted_politikreds
        )


def zone_filter(principal: Principal) -> ZoneFilter:
    match principal.role:
        case Role.public:
            return ZoneFilter(("public",), None, drafts=False, only_in_force=True)
        case Role.officer:
            return ZoneFilter(("public", "internal"), principal.politikreds_code, drafts=False, only_in_force=False)
        case Role.analyst:
            return ZoneFilter(("public", "internal"), None, drafts=False, only_in_force=False)
        case Role.legal | Role.admin:
            return ZoneFilter(("public", "internal", "restricted"), None, drafts=True, only_in_force=False)
    raise AssertionError(principal.role)


def require(principal: Principal, *roles: Role, action: str) -> None:
    if principal.role not in roles:
        allowed = ", ".join(r.value for r in roles)
        if principal.is_public:
            raise Unauthorized(f"{action} needs a token of one of the roles {allowed}")
        raise Forbidden(
            f"{action} needs one of the roles {allowed}; this request is {principal.role.value}",
            extra={"required_roles": [r.value for r in roles], "role": principal.role.value},
        )



def new_token() -> tuple[str, bytes, str]:
    """A fresh API token: (the token, shown once; its SHA-256 hash, stored; a short prefix for listings)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, hash_token(token), token[:10]


def hash_token(token: str) -> bytes:
    # Tokens carry 256 random bits, so a plain SHA-256 (no salt, no stretching) is enough to store them.
    return hashlib.sha256(token.encode("utf-8")).digest()


# --- Overlays: incidents, insecurity reports and survey data -------------------------------------------------
#
# | role    | raw points and reports | exact aggregates                | survey answers | writes        |
# |---------|------------------------|---------------------------------|----------------|---------------|
# | public  | never                  | never: published tables (below) | never          | nothing       |
# | officer | own politikreds only   | own politikreds; else as public | never          | reports (own) |
# | analyst | everywhere             | everywhere                      | yes            | imports       |
# | legal   | everywhere             | everywhere                      | no             | nothing       |
# | admin   | everywhere             | everywhere                      | yes            | everything    |
#
# Published (public) tables are built so that no query, nor any combination of queries, pins a count below k:
# - fixed geographies only (PUBLIC_GEOGRAPHIES: no grid cells, no bbox, no politikreds/kommune slicing);
# - fixed, non-overlapping, complete periods: one calendar quarter per table, once it has ended, published once
#   and then frozen (geoservice.overlays.aggregates.published_table; no running quarter, no second version);
# - fixed category groups (the taxonomy's top level), each with the row total;
# - every cell of the whole quarter's table is computed at once; counts 0 < n < k are suppressed, then secondary
#   suppression (geoservice.overlays.suppression) withholds more until no combination of published figures
#   pins a small count, the labels read as bounds ("<k" is 1..k-1, "withheld" k or more), officers' exact
#   knowledge of their own politikreds included;
# - a rate (per km², per 1,000 residents) of a suppressed count is withheld too (rate × area = count);
# - survey shares need at least `survey_min_respondents` respondents, by the same relations on respondent counts,
#   applied separately to those who answered the trust question (a group of their own);
# - zone effect (arbitrary designation windows) and raw points are staff only.

PUBLIC_GEOGRAPHIES = ("national", "politikreds", "kommune", "sector", "zone")
STAFF_GEOGRAPHIES = (*PUBLIC_GEOGRAPHIES, "grid1km", "grid100m")
PUBLIC_SURVEY_GEOGRAPHIES = ("national", "politikreds", "kommune", "sector", "zone", "kind")


@dataclass(frozen=True)
class OverlayAccess:
    raw_points: bool                      # may see individual incidents and insecurity reports
    raw_politikreds: str | None           # ... only in this politikreds (officer); None: everywhere
    exact_politikreds: str | None         # exact aggregates only for queries limited to this politikreds
    exact_everywhere: bool                # exact aggregates for any query
    survey_answers: bool                  # individual survey responses
    write_reports: bool
    imports: bool


def overlay_access(principal: Principal) -> OverlayAccess:
    match principal.role:
        case Role.public:
            return OverlayAccess(False, None, None, False, False, False, False)
        case Role.officer:
            kreds = principal.politikreds_code
            return OverlayAccess(kreds is not None, kreds, kreds, False, False, kreds is not None, False)
        case Role.analyst:
            return OverlayAccess(True, None, None, True, True, True, True)
        case Role.legal:
            return OverlayAccess(True, None, None, True, False, False, False)
        case Role.admin:
            return OverlayAccess(True, None, None, True, True, True, True)
    raise AssertionError(principal.role)


def exact_aggregates(principal: Principal, politikreds_filter: str | None) -> bool:
    """Whether an aggregate query gets exact figures (else: the published, suppressed tables)."""
    access = overlay_access(principal)
    if access.exact_everywhere:
        return True
    return access.exact_politikreds is not None and politikreds_filter == access.exact_politikreds


def require_raw_points(principal: Principal, politikreds: str | None = None, *, action: str) -> OverlayAccess:
    """Raw points (incidents, reports) need a staff role; an officer only inside their own politikreds."""
    access = overlay_access(principal)
    if not access.raw_points:
        if principal.is_public:
            raise Unauthorized(f"{action}: raw incident points and reports are never public; use the "
                               "aggregates under /api/v1/overlays/counts")
        raise Forbidden(f"{action} is not allowed for the role {principal.role.value}")
    if access.raw_politikreds is not None and politikreds is not None and politikreds != access.raw_politikreds:
        raise Forbidden(f"{action}: an officer sees raw points only in their own politikreds "
                        f"({access.raw_politikreds}), not in {politikreds}",
                        extra={"role": principal.role.value, "politikreds": access.raw_politikreds})
    return access
