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
        return Actor(name=self.username or "anonymous", role=self.role.value, user_id=self.user_id)


PUBLIC = Principal(role=Role.public)


@dataclass(frozen=True)
class ZoneFilter:
    """The part of a zone query that a role decides."""

    visibilities: tuple[str, ...]
    restricted_politikreds: str | None  # restricted zones of this district are visible too
    drafts: bool
    only_in_force: bool  # the public sees only zones in force at the requested time


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


def can_see_raw_overlays_everywhere(principal: Principal) -> bool:
    return principal.role in (Role.analyst, Role.legal, Role.admin)


def new_token() -> tuple[str, bytes, str]:
    """A fresh API token: (the token, shown once; its SHA-256 hash, stored; a short prefix for listings)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, hash_token(token), token[:10]


def hash_token(token: str) -> bytes:
    # Tokens carry 256 random bits, so a plain SHA-256 (no salt, no stretching) is enough to store them.
    return hashlib.sha256(token.encode("utf-8")).digest()
