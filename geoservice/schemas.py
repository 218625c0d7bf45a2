"""Request bodies. Unknown fields are refused everywhere (`extra="forbid"`): a typo must not be ignored."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Visibility = Literal["public", "internal", "restricted"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ZoneProperties(Strict):
    kind: str = Field(description="Zone kind code from layers/kinds.yaml, e.g. nattelivszone")
    name: str = Field(min_length=1, max_length=200)
    valid_from: str = Field(
        description="Start, ISO 8601. With an offset it is that instant; without, Copenhagen local time; "
        "a date alone is the start of that local day."
    )
    valid_to: str | None = Field(
        default=None,
        description="End (exclusive), ISO 8601. A date alone means 'til og med' that day: valid until the "
        "next local midnight. Omit for no end where the kind allows it.",
    )
    decision_ref: str | None = Field(default=None, max_length=200)
    decided_by: str | None = Field(default=None, max_length=200)
    legal_basis: str | None = Field(default=None, max_length=500)
    reason: str | None = Field(default=None, max_length=4000)
    description: str | None = Field(default=None, max_length=4000)
    visibility: Visibility | None = None
    illustrative: bool = False
    list_edition: str | None = Field(default=None, max_length=40)
    publish: bool = Field(default=False, description="Publish at once instead of creating a draft")
    override_reason: str | None = Field(
        default=None, max_length=2000, description="Admin only: override a kind rule, with the reason"
    )


class ZoneFeatureIn(Strict):
    type: Literal["Feature"]
    geometry: dict[str, Any]
    properties: ZoneProperties
    crs: dict[str, Any] | None = Field(default=None, description="Legacy GeoJSON crs member (e.g. EPSG:25832)")


class ZonePatch(Strict):
    """Changes to a zone. Boundary and period change only while the zone is a draft; after publication
    they change through extend or amend, so the history keeps the decision that made each change."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    visibility: Visibility | None = None
    illustrative: bool | None = None
    list_edition: str | None = Field(default=None, max_length=40)
    decision_ref: str | None = Field(default=None, max_length=200)
    decided_by: str | None = Field(default=None, max_length=200)
    legal_basis: str | None = Field(default=None, max_length=500)
    reason: str | None = Field(default=None, max_length=4000)
    valid_from: str | None = None
    valid_to: str | None = None
    geometry: dict[str, Any] | None = None
    crs: dict[str, Any] | None = None
    override_reason: str | None = Field(default=None, max_length=2000)


class RevokeIn(Strict):
    reason: str = Field(min_length=3, max_length=4000)
    at: str | None = Field(default=None, description="When the revocation takes effect; default now")
    decision_ref: str | None = Field(default=None, max_length=200)
