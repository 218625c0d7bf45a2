"""Request bodies of the overlay API (unknown fields are refused, like everywhere)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from geoservice.schemas import Latitude, Longitude, Strict


class ReportIn(Strict):
    lat: Latitude
    lon: Longitude
    category: str = Field(description="Report category code (GET /api/v1/overlays), e.g. belysning")
    text: str = Field(min_length=1, max_length=4000, description="What the participants pointed out")
    reported_on: str | None = Field(default=None, description="Date, ISO 8601 (YYYY-MM-DD); default today")
    walk: str | None = Field(default=None, max_length=200, description="The tryghedsvandring it came from")
    status: Literal["open", "handled"] = "open"


class ReportPatch(Strict):
    status: Literal["open", "handled"] | None = None
    status_note: str | None = Field(default=None, max_length=2000)
    category: str | None = None
    text: str | None = Field(default=None, min_length=1, max_length=4000)
