"""Request bodies of the feed routes (unknown fields refused, as everywhere: geoservice/schemas.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictBool

from geoservice.schemas import Strict, Visibility

EventType = Literal["zone.designated", "zone.extended", "zone.amended", "zone.revoked", "zone.archived",
                    "zone.updated"]


class CalendarSecretIn(Strict):
    username: str | None = Field(default=None, max_length=200,
                                 description="Whose calendar (admin only; default: the caller)")
    label: str | None = Field(default=None, max_length=200, description="To recognise the address, e.g. Outlook")


class SubscriptionIn(Strict):
    url: str = Field(max_length=2000, description="http(s) URL the events are POSTed to",
                     examples=["https://kommune.example/hooks/zones"])
    event_types: list[EventType] | None = Field(default=None, min_length=1,
                                                description="Event types to send; omit for every type")
    visibility: Visibility = Field(default="public", description="The most restricted zone visibility to send "
                                   "events of: public < internal < restricted")
    description: str | None = Field(default=None, max_length=500)


class SubscriptionPatch(Strict):
    url: str | None = Field(default=None, max_length=2000)
    event_types: list[EventType] | None = Field(default=None, min_length=1)
    visibility: Visibility | None = None
    description: str | None = Field(default=None, max_length=500)
    active: StrictBool | None = None
    rotate_secret: StrictBool = Field(default=False, description="Make a new signing secret (in the answer only)")
