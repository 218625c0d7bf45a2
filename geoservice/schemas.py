"""Request bodies. Unknown fields are refused everywhere (`extra="forbid"`): a typo must not be ignored.
Booleans are strict (`true`/`false` only): "yes" or "0" must not publish a zone. Numbers are finite (NaN and
Infinity are refused) and text carries no control characters (`geoservice.textcheck`), checked here once for
every body model."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationInfo,
    create_model,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from geoservice.geometry import DENMARK_BBOX, crs_name_pattern
from geoservice.textcheck import document_text, nested_control_character

Visibility = Literal["public", "internal", "restricted"]

# Properties a zone Feature has when read (geoservice/sql/zone_feature.sql) that the service sets itself. A PUT
# may send them back unchanged (GET, edit, PUT) and they are ignored; a POST is refused with the reason.
READ_ONLY_PROPERTIES = (
    "id", "kind_name", "kind_name_en", "status", "version", "version_status", "change", "ended_at",
    "ended_reason", "designation_end", "daily_window", "politikreds", "published_at", "revoked_at",
    "revoke_reason", "override", "area_m2", "source",
)
READ_ONLY_REASON = "read-only (set by the service)"


def _refuse_read_only(value: Any) -> Any:
    raise PydanticCustomError("read_only", READ_ONLY_REASON)


# Present on POST only to say why it is refused; left out of the OpenAPI schema.
RefusedReadOnly = SkipJsonSchema[Annotated[Any, AfterValidator(_refuse_read_only)]]
IgnoredReadOnly = Annotated[Any, Field(description="Read-only (set by the service); ignored on PUT",
                                       json_schema_extra={"readOnly": True})]
BBox = Annotated[list[Annotated[float, Field(ge=-180, le=180)]], Field(min_length=4, max_length=6,
                                    description="RFC 7946 bbox; ignored (derived from the geometry)")]


# A decision's reason may quote the police's whole documentation (the longest in the visitation-zone history is
# 8,700 characters); it is kept whole.
DecisionReason = Annotated[str | None, Field(default=None, max_length=20_000)]
BoundaryText = Annotated[str | None, Field(
    default=None, max_length=20_000,
    description="The legal boundary in words, as the decision states it (streets and landmarks); what applies "
                "where a drawn boundary is approximate")]

# Validated as any latitude and longitude (a point far away is then refused as "outside Denmark", naming the
# distance); the OpenAPI document states Denmark's box, the points the service answers for.
Latitude = Annotated[float, Field(ge=-90, le=90, description="Latitude, EPSG:4326; Denmark lies within "
                                  f"{DENMARK_BBOX[1]}-{DENMARK_BBOX[3]}", json_schema_extra={
                                      "minimum": DENMARK_BBOX[1], "maximum": DENMARK_BBOX[3]})]
Longitude = Annotated[float, Field(ge=-180, le=180, description="Longitude, EPSG:4326; Denmark lies within "
                                   f"{DENMARK_BBOX[0]}-{DENMARK_BBOX[2]}", json_schema_extra={
                                       "minimum": DENMARK_BBOX[0], "maximum": DENMARK_BBOX[2]})]


def _document_strict(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """The OpenAPI schema states the text rule of `Strict._no_control_characters`."""
    multiline = getattr(model, "MULTILINE", frozenset())
    for name, prop in schema.get("properties", {}).items():
        document_text(prop, multiline=name in multiline)


# The legacy GeoJSON crs member, by name only (geometry.crs_from_geojson_member): a link is refused, never fetched.
def _document_crs_member(schema: dict[str, Any]) -> None:
    schema["anyOf"] = [{"type": "object", "required": ["type", "properties"], "properties": {
        "type": {"const": "name"},
        "properties": {"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string", "pattern": crs_name_pattern()}}}}}, {"type": "null"}]


CrsMember = Annotated[dict[str, Any] | None, Field(
    description='Legacy GeoJSON crs member, e.g. {"type": "name", "properties": {"name": "EPSG:25832"}}',
    json_schema_extra=_document_crs_member)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False,
                              json_schema_extra=_document_strict)

    # Free text that may span lines: line feed, carriage return and tab are accepted there, nowhere else.
    MULTILINE: ClassVar[frozenset[str]] = frozenset({
        "reason", "description", "legal_basis", "override_reason", "text", "status_note", "boundary_text"})

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None and not isinstance(value, int | float | bool | BaseModel):
            reason = nested_control_character(value, multiline=info.field_name in cls.MULTILINE)
            if reason:
                raise PydanticCustomError("control_character", reason)
        return value


class ZoneWritableProperties(Strict):
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
    reason: DecisionReason = None
    boundary_text: BoundaryText = None
    description: str | None = Field(default=None, max_length=4000)
    visibility: Visibility | None = None
    illustrative: StrictBool = False
    list_edition: str | None = Field(default=None, max_length=40)
    publish: StrictBool = Field(default=False, description="Publish at once instead of creating a draft")
    override_reason: str | None = Field(
        default=None, max_length=2000, description="Admin only: override a kind rule, with the reason"
    )


ZoneProperties = create_model(  # POST: read-only properties are refused, saying so
    "ZoneProperties", __base__=ZoneWritableProperties,
    **{name: (RefusedReadOnly, None) for name in READ_ONLY_PROPERTIES},  # type: ignore[call-overload]
)
ZoneReplaceProperties = create_model(  # PUT: what GET returned may come back; the read-only part is ignored
    "ZoneReplaceProperties", __base__=ZoneWritableProperties,
    **{name: (IgnoredReadOnly, None) for name in READ_ONLY_PROPERTIES},  # type: ignore[call-overload]
)


class ZoneFeatureIn(Strict):
    """A new zone (POST): a GeoJSON Feature."""

    type: Literal["Feature"]
    id: RefusedReadOnly = None
    bbox: BBox | None = None
    geometry: dict[str, Any]
    properties: ZoneProperties  # type: ignore[valid-type]
    crs: CrsMember = None


class ZoneFeatureReplace(Strict):
    """The whole zone again (PUT): a GeoJSON Feature as GET returned it, edited. A top-level `id` must be the
    zone's id; `bbox` and the read-only properties are ignored."""

    type: Literal["Feature"]
    id: Annotated[int, Field(ge=1, le=2_147_483_647)] | str | None = Field(
        default=None, description="The zone's id, as in the path")
    bbox: BBox | None = None
    geometry: dict[str, Any]
    properties: ZoneReplaceProperties  # type: ignore[valid-type]
    crs: CrsMember = None


class ZonePatch(Strict):
    """Changes to a zone. Boundary and period change only while the zone is a draft; after publication
    they change through extend or amend, so the history keeps the decision that made each change."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    visibility: Visibility | None = None
    illustrative: StrictBool | None = None
    list_edition: str | None = Field(default=None, max_length=40)
    decision_ref: str | None = Field(default=None, max_length=200)
    decided_by: str | None = Field(default=None, max_length=200)
    legal_basis: str | None = Field(default=None, max_length=500)
    reason: DecisionReason = None
    boundary_text: BoundaryText = None
    valid_from: str | None = None
    valid_to: str | None = None
    geometry: dict[str, Any] | None = None
    crs: CrsMember = None
    override_reason: str | None = Field(default=None, max_length=2000)


OverrideReason = Annotated[str | None, Field(
    default=None, max_length=2000,
    description="Admin only: record the decision although a rule refuses it (e.g. a decision made on paper at "
                "the time), with the reason; stored, audited and listed in the validity report")]


class RevokeIn(Strict):
    reason: str = Field(min_length=3, max_length=4000)
    at: str | None = Field(default=None, description="When the revocation takes effect, inside the designation; "
                           "default now. A designation that has not begun by then is withdrawn.")
    decision_ref: str | None = Field(default=None, max_length=200)
    override_reason: OverrideReason = None


class PublishIn(Strict):
    effective_from: str | None = Field(
        default=None, description="The moment the designation takes effect; default the draft's valid_from"
    )
    decision_ref: str | None = Field(default=None, max_length=200)
    allow_overlap: StrictBool = Field(default=False, description="An extension may start before the current end")
    override_reason: str | None = Field(default=None, max_length=2000)


class ExtendIn(Strict):
    """A new decision continuing the designation from where it ends."""

    valid_to: str | None = Field(default=None, description="End of the extension; a date alone means til og med")
    valid_from: str | None = Field(default=None, description="Default: the end of the current designation")
    decision_ref: str = Field(min_length=1, max_length=200)
    decided_by: str | None = Field(default=None, max_length=200)
    legal_basis: str | None = Field(default=None, max_length=500)
    reason: DecisionReason = None
    geometry: dict[str, Any] | None = Field(default=None, description="A new boundary; default the current one")
    boundary_text: BoundaryText = None
    crs: CrsMember = None
    allow_overlap: StrictBool = Field(default=False, description="Let the extension start before the current end")
    publish: StrictBool = Field(default=True, description="Publish the decision at once (else keep it as a draft)")
    override_reason: str | None = Field(default=None, max_length=2000)


class AmendIn(Strict):
    """A new boundary from a moment; the version before keeps the time before (zones are narrowed mid-term)."""

    effective_from: str
    geometry: dict[str, Any]
    boundary_text: BoundaryText = None
    crs: CrsMember = None
    decision_ref: str = Field(min_length=1, max_length=200)
    decided_by: str | None = Field(default=None, max_length=200)
    legal_basis: str | None = Field(default=None, max_length=500)
    reason: DecisionReason = None
    override_reason: OverrideReason = None


class ArchiveIn(Strict):
    reason: str | None = Field(default=None, max_length=4000)


class TrackPoint(Strict):
    lat: Latitude
    lon: Longitude
    at: str = Field(description="When the person was there, ISO 8601")
    label: str | None = Field(default=None, max_length=200)


class TrackIn(Strict):
    points: list[TrackPoint] = Field(min_length=1, max_length=20_000)
    kinds: list[str] | None = Field(default=None, description="Only zones of these kinds")
