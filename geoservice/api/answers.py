"""What each route answers, as pydantic models for the OpenAPI document only.

The handlers build their JSON in SQL or with orjson and return it as it is (no validation on the way out: the
lookup and the layers must stay fast), so these models document the answers rather than produce them. They
name every field a client relies on, with its type and nullability, and allow more (a new field is not a
breaking change). `tests/test_openapi.py` and the schemathesis run check every answer against them.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

GEOJSON = "application/geo+json"
JSON = "application/json"

Instant = str  # ISO 8601 with offset, Copenhagen time (documented as date-time where it is always one)


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Geometry(Open):
    """A GeoJSON geometry (RFC 7946), EPSG:4326."""

    type: Literal["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon",
                  "GeometryCollection"]
    coordinates: list[Any] | None = None


P = TypeVar("P")


class Feature(Open, Generic[P]):
    type: Literal["Feature"]
    id: int | str | None = None
    geometry: Geometry | None
    properties: P


class FeatureCollection(Open, Generic[P]):
    type: Literal["FeatureCollection"]
    features: list[Feature[P]]


class Link(Open):
    rel: str
    type: str
    href: str


class Names(Open):
    da: str
    en: str | None = None


class DailyWindow(Open):
    start: str
    end: str


# --- zones -----------------------------------------------------------------------------------------------------


class ZoneReadProperties(Open):
    id: int
    kind: str
    kind_name: str | None
    kind_name_en: str | None
    name: str
    status: str = Field(description="Status at the requested moment: draft, scheduled, in_force, expiring, "
                                    "expired, revoked, superseded")
    version: int
    version_status: str | None
    change: str | None
    valid_from: Instant
    valid_to: Instant | None
    ended_at: Instant | None
    ended_reason: str | None
    designation_end: Instant | None
    decision_ref: str | None
    decided_by: str | None
    legal_basis: str | None
    reason: str | None
    daily_window: DailyWindow | None
    visibility: Literal["public", "internal", "restricted"]
    illustrative: bool
    description: str | None
    politikreds: str | None
    list_edition: str | None
    published_at: Instant | None
    revoked_at: Instant | None
    revoke_reason: str | None
    override: dict[str, Any] | None
    area_m2: float | None


class Repair(Open):
    reason: str
    area_before_m2: float | None = None
    area_after_m2: float | None = None


class ZoneFeature(Feature[ZoneReadProperties]):
    repair: Repair | None = Field(default=None, description="Only after a write with repair=true that repaired")


class ZoneCollection(FeatureCollection[ZoneReadProperties]):
    at: Instant
    numberMatched: int
    numberReturned: int
    timeStamp: Instant
    links: list[Link]


class ZoneVersion(Open):
    version: int
    change: str | None
    continues_version: int | None
    state: str
    status: str | None
    valid_from: Instant
    valid_to: Instant | None
    decision_ref: str | None
    geometry: Geometry | None


class ZoneHistory(Open):
    at: Instant
    zone: dict[str, Any]
    versions: list[ZoneVersion]
    events: list[dict[str, Any]] | None = Field(default=None, description="The audit trail (legal, admin)")


# --- lookup, search, sectors, catalogue ------------------------------------------------------------------------


class Area(Open):
    code: str
    name: str


class LookupZone(Open):
    id: int
    kind: str
    kind_name: str | None
    name: str
    valid_from: Instant
    valid_to: Instant | None
    designation_end: Instant | None
    legal_basis: str | None
    decision_ref: str | None
    version: int
    in_force: bool
    status: str
    daily_window: DailyWindow | None
    daily_window_applies: bool | None
    visibility: str
    illustrative: bool


class Lookup(Open):
    at: Instant
    point: dict[str, float]
    zones: list[LookupZone]
    sector: dict[str, Any] | None
    police_district: Area | None
    municipality: Area | None


class SearchResult(Open):
    type: str
    ref: str
    name: str
    detail: str | None = None
    lon: float | None = None
    lat: float | None = None
    bbox: list[float] | None = None


class Search(Open):
    query: str
    results: list[SearchResult]


class Me(Open):
    role: Literal["public", "officer", "analyst", "legal", "admin"]
    username: str | None
    politikreds: str | None
    sector: str | None


class SectorProperties(Open):
    code: str
    name: str
    politikreds: str | None = None
    illustrative: bool | None = None


class SectorCollection(FeatureCollection[SectorProperties]):
    pass


class SectorDetail(Open):
    at: Instant
    days: int
    sector: Feature[SectorProperties]
    station: dict[str, Any] | None
    officers: list[dict[str, Any]]
    neighbours: FeatureCollection[dict[str, Any]]
    upcoming: list[dict[str, Any]]
    zones_in_force: FeatureCollection[ZoneReadProperties]


class Kind(Open):
    code: str
    name: Names
    meaning: Names
    legal_basis: str | None
    max_period: dict[str, int] | None
    end_required: bool
    warning_days: list[int]
    daily_window: DailyWindow | None
    public: bool
    style: dict[str, Any]


class Kinds(Open):
    kinds: list[Kind]


class ReferenceProperties(Open):
    type: str
    code: str
    name: str
    parent_code: str | None = None


class ReferenceCollection(FeatureCollection[ReferenceProperties]):
    pass


class Config(Open):
    tile_url: str | None = Field(description="Our own caching tile proxy's path, when a street map is configured")
    tile_attribution: str | None
    tile_max_zoom: int | None = None
    address_search: bool = Field(default=False, description="Street and address search through the configured "
                                                            "geocoder")
    credits: list[str]


# --- validity ----------------------------------------------------------------------------------------------------


class ValidityReport(Open):
    at: Instant
    status_counts: dict[str, int]
    expiring: list[dict[str, Any]]
    expired_still_published: list[dict[str, Any]]
    chain_gaps: list[dict[str, Any]]
    chain_overlaps: list[dict[str, Any]]
    missing_decision_ref: list[dict[str, Any]]
    overrides: list[dict[str, Any]]
    overdue: int


class TrackAnswer(Open):
    points: list[dict[str, Any]]
    events: list[dict[str, Any]]


class AuditCheck(Open):
    ok: bool
    rows_checked: int
    broken_id: int | None
    broken_seq: int | None
    problem: str | None
    head_hash: str | None
    checked_at: Instant


# --- overlays ----------------------------------------------------------------------------------------------------


class OverlayCatalogue(Open):
    incident_groups: list[dict[str, Any]]
    insecurity_report_categories: list[dict[str, Any]]
    survey: dict[str, Any]
    choropleth: dict[str, Any]
    incidents: dict[str, Any] | None
    survey_years: list[int]
    geographies: list[str]
    survey_geographies: list[str]
    role: str
    privacy: dict[str, Any]


class CountArea(Open):
    key: str
    name: str | None
    count: int | str | None = Field(description="A number, or \"<k\" where a small count is withheld")
    counts: dict[str, int | str | None] | None = None


class CountsHead(Open):
    source: str
    by: str
    split: str
    columns: list[str]
    role: str
    exact: bool
    total: dict[str, Any] | None = None


class Counts(CountsHead):
    areas: list[CountArea]


class CountsGeoJSON(CountsHead, FeatureCollection[dict[str, Any]]):
    pass


class PointProperties(Open):
    type: Literal["incident", "insecurity_report"]
    id: int


class ReportProperties(PointProperties):
    category: str
    text: str
    reported_on: str
    status: Literal["open", "handled"]
    status_note: str | None
    walk: str | None


class ReportFeature(Feature[ReportProperties]):
    pass


class Points(FeatureCollection[PointProperties]):
    numberMatched: int
    numberReturned: int
    restricted_to_politikreds: str | None


class Reports(FeatureCollection[ReportProperties]):
    numberMatched: int
    numberReturned: int
    restricted_to_politikreds: str | None


class SectorRecent(FeatureCollection[PointProperties]):
    sector: dict[str, Any]
    days: int
    incidents: dict[str, Any]
    open_reports: dict[str, Any]


class SurveyHead(Open):
    by: str
    year: int | None
    years: list[int]
    role: str
    exact: bool


class Survey(SurveyHead):
    areas: list[dict[str, Any]]


class SurveyGeoJSON(SurveyHead, FeatureCollection[dict[str, Any]]):
    pass


class SurveyChange(Open):
    by: str
    metric: Literal["unsafe", "trust"]
    from_year: int
    to_year: int
    areas: list[dict[str, Any]]


class SurveyResponses(Open):
    responses: list[dict[str, Any]]
    limit: int
    offset: int


class ZoneEffect(Open):
    zone: dict[str, Any]
    designation: dict[str, Any]
    counts: dict[str, int]
    ratio_of_changes: dict[str, Any]
    pieces: list[dict[str, Any]]


class Straf11(Open):
    """A quarter's layer (`areas`), or with `kommune` one kommune's `series`."""

    source: str
    areas: list[dict[str, Any]] | None = None
    series: list[dict[str, Any]] | None = None


class Straf11GeoJSON(FeatureCollection[dict[str, Any]]):
    layer: str
    period: str


class ImportReport(Open):
    import_id: int | None
    kind: str
    source: str
    file: str
    rows_read: int
    inserted: int
    updated: int
    unchanged: int
    rejected_count: int
    skip_invalid: bool
    rejected: list[dict[str, Any]]


class Imports(Open):
    imports: list[dict[str, Any]]


# --- how a route declares them -----------------------------------------------------------------------------------

# Models referred to by the routes' `responses`; geoservice.api.openapi adds their schemas to the components.
REGISTRY: dict[str, type[BaseModel]] = {}


def ok(*content: tuple[str, type[BaseModel] | dict[str, Any]], status: int = 200,
       description: str = "Success") -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: the success answer in each media type it comes in, e.g.
    `ok((GEOJSON, ZoneCollection))` or `ok((JSON, Counts), (GEOJSON, CountsGeoJSON))`."""
    media: dict[str, Any] = {}
    for media_type, schema in content:
        if isinstance(schema, dict):
            media[media_type] = {"schema": schema}
        else:
            REGISTRY[schema.__name__] = schema
            media[media_type] = {"schema": {"$ref": f"#/components/schemas/{schema.__name__}"}}
    return {status: {"description": description, "content": media}}


TEXT = {"type": "string"}


# --- operations, feeds, webhooks, zone imports (declared with the routes of those modules) ------------------------


class Liveness(Open):
    status: Literal["ok"]


class Check(Open):
    ok: bool
    ms: float


class Readiness(Open):
    status: Literal["ready"]
    checks: dict[str, Check]


class CalendarSecret(Open):
    id: int
    username: str
    prefix: str
    label: str | None = None
    created_at: Instant
    revoked_at: Instant | None = None


class NewCalendarSecret(CalendarSecret):
    secret: str = Field(description="Shown once: the address's secret part")
    url: str = Field(description="The calendar's address (subscribe to it in Outlook); shown once")
    webcal: str = Field(description="The same address for calendar apps (webcal://)")


class CalendarSecrets(Open):
    secrets: list[CalendarSecret]


class DeliveryCounts(Open):
    pending: int
    delivered: int
    failed: int


class Subscription(Open):
    id: int
    url: str
    event_types: list[str] | None = Field(description="The event types sent; null: every type")
    visibility: Literal["public", "internal", "restricted"]
    description: str | None = None
    active: bool
    created_at: Instant
    created_by: str | None = None
    secret_set_at: Instant
    deliveries: DeliveryCounts


class NewSubscription(Subscription):
    secret: str | None = Field(default=None, description="The signing secret: in this answer only")


class Subscriptions(Open):
    subscriptions: list[Subscription]


class Delivery(Open):
    id: int
    event_id: str
    status: Literal["pending", "delivered", "failed"]


class Deliveries(Open):
    deliveries: list[Delivery]


class DeliveryQueued(Open):
    id: int
    status: Literal["pending"]


class ZoneImportReport(Open):
    """The report of a zone file import: counts, each zone with its features and changes, every rejected feature,
    and notes (repairs, local times decided, authorities resolved, links)."""


class ZoneImports(Open):
    imports: list[dict[str, Any]]


PNG_OR_JPEG = {"type": "string", "format": "binary"}
