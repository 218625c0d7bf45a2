"""The one settings object: environment variables with the GEOSERVICE_ prefix."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GEOSERVICE_", extra="ignore")

    # An external PostGIS (e.g. docker-compose). When unset, the project-local cluster is used. A multi-host URL
    # with target_session_attrs=read-write follows a pg_auto_failover formation (docs/operations.md).
    database_url: str | None = None
    # Optional second pool for the read-only public endpoints (e.g. the same hosts with
    # target_session_attrs=prefer-standby): lookups keep answering from the standby while the primary fails over.
    read_database_url: str | None = None

    # The project-local cluster (created by `geoservice cluster start`).
    pg_data_dir: Path = REPO_ROOT / ".pgdata"
    pg_port: int = 55432
    pg_bin_dir: Path | None = None
    db_name: str = "geoservice"

    # `./dev ha`: a local pg_auto_failover formation (geoservice/ha.py): monitor on ha_port (default pg_port + 100),
    # the two nodes on the next two ports, data in ha_dir.
    ha_port: int | None = None
    ha_dir: Path = REPO_ROOT / ".ha"

    host: str = "127.0.0.1"
    port: int = 8000

    # Where the public reaches the service, e.g. https://zoner.politi.dk: absolute links (paging) are built from
    # it, never from the request's Host header. Its host is trusted.
    public_url: str | None = None
    # Host header values accepted (comma-separated in the environment; a port is ignored). Any other Host is
    # refused (400). "*" accepts any Host and is allowed only with public_url, so no link reflects a Host.
    trusted_hosts: Annotated[list[str], NoDecode] = ["localhost", "127.0.0.1", "::1"]

    # Failed authentication per client address: after this many failures within the window, further token
    # attempts from that address get 429 (without touching the database) until the window has passed.
    auth_failures_max: int = Field(default=20, ge=1)
    auth_failure_window_s: int = Field(default=60, ge=1)

    layers_dir: Path = REPO_ROOT / "layers"
    web_dir: Path = REPO_ROOT / "web"
    shared_data_dir: Path = REPO_ROOT.parent / "shared" / "data"

    pool_min_size: int = 2
    pool_max_size: int = 10
    # When the database is down or failing over: a request waits at most db_timeout seconds for a connection
    # (then 503 with Retry-After: db_retry_after), and one connection attempt at most db_connect_timeout.
    db_timeout: float = Field(default=3.0, gt=0)
    db_connect_timeout: int = Field(default=3, ge=1)
    db_retry_after: int = Field(default=5, ge=1)

    # Public answers (no Authorization): how long a browser or CDN may keep them without asking again, never
    # beyond the next moment a zone starts or ends (geoservice/api/public_cache.py). Pages revalidate after
    # page_max_age; versioned assets (?v=<hash>) are immutable for a year.
    public_max_age: int = Field(default=10, ge=0)
    page_max_age: int = Field(default=60, ge=0)
    # Compressed copies of the web assets (gzip, brotli), made once per file content and reused.
    asset_cache_dir: Path = REPO_ROOT / ".cache" / "assets"

    # Writes to a zone without If-Match are refused (428) when set; by default If-Match is honoured when sent.
    require_if_match: bool = False

    # Largest JSON body accepted (zones, tracks); file uploads have their own limit.
    max_body_bytes: int = 2_000_000
    max_upload_bytes: int = 200_000_000

    # The street map, off unless configured (the service works with no internet): an upstream tile URL template
    # in Web Mercator with {z}, {x} and {y} (a token may be part of it; it never reaches a browser), served by our
    # own caching proxy at /basemap/tiles/{z}/{x}/{y}. TILE_URL is the former name (then the browser fetched it
    # directly) and is read as the upstream when TILE_UPSTREAM is unset.
    tile_upstream: str | None = None
    tile_url: str | None = None
    tile_attribution: str = "© OpenStreetMap contributors"
    tile_max_zoom: int = Field(default=19, ge=0, le=22)
    tile_cache_dir: Path = REPO_ROOT / ".cache" / "tiles"
    tile_cache_days: float = Field(default=30, gt=0)
    # Street and address search: the base URL of a Dataforsyningen-style search API (gsearch: {url}/{resource}?q=
    # answering a JSON list with `visningstekst` and `geometri`), its token, and how long answers are kept.
    geocoder_url: str | None = None
    geocoder_token: str | None = None
    geocoder_cache_dir: Path = REPO_ROOT / ".cache" / "geocoder"
    geocoder_cache_days: float = Field(default=7, gt=0)
    # Both upstreams: how long to wait, and who is asking (tile servers' usage policies want a contact).
    upstream_timeout_s: float = Field(default=8, gt=0)
    upstream_user_agent: str | None = None

    # The day the demo's rolling "last 30 days" slice ends before (default: today in Copenhagen); fixed in the
    # tests so that a run across midnight loads the same demo twice.
    demo_today: dt.date | None = None

    # Public aggregates: counts below k are shown as "<k"; survey shares need at least n respondents.
    suppression_k: int = Field(default=5, ge=1)
    survey_min_respondents: int = Field(default=30, ge=1)

    # Feeds (geoservice/feeds/): links start with public_url (above; default: the address the request came to, the
    # webhook worker then uses http://HOST:PORT), and the tagging authority of the feed's tag: URIs (RFC 4151): a
    # domain or e-mail address you own and a date when you did. Entry ids are built from it: set it once, never change.
    feed_tag_authority: str = "geoservice.local,2025"

    # Webhooks: the delivery worker runs in the service process (and `geoservice webhooks deliver`); a failed
    # delivery is retried after backoff, 2x backoff, 4x ... (at most backoff_max) until max_attempts.
    webhook_worker: bool = True
    webhook_concurrency: int = Field(default=2, ge=1, le=32)
    webhook_poll_seconds: float = Field(default=5.0, gt=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_backoff_seconds: float = Field(default=30.0, ge=0)
    webhook_backoff_max_seconds: float = Field(default=6 * 3600.0, ge=0)
    webhook_max_attempts: int = Field(default=10, ge=1)

    @property
    def basemap_upstream(self) -> str | None:
        return self.tile_upstream or self.tile_url

    @field_validator("public_url")
    @classmethod
    def _absolute_http_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError("public_url must be an absolute http(s) URL without query, e.g. https://zoner.politi.dk")
        return value.rstrip("/")

    @field_validator("trusted_hosts", mode="before")
    @classmethod
    def _host_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [h.strip() for h in value.split(",") if h.strip()]
        return value

    @model_validator(mode="after")
    def _no_wildcard_without_public_url(self) -> Settings:
        if "*" in self.trusted_hosts and not self.public_url:
            raise ValueError("GEOSERVICE_TRUSTED_HOSTS=* needs GEOSERVICE_PUBLIC_URL: links must not be built from "
                             "an arbitrary Host header")
        return self

    def allowed_hosts(self) -> frozenset[str] | None:
        """Lower-case host names (no port) a request may name; None when any is accepted."""
        if "*" in self.trusted_hosts:
            return None
        hosts = {h.lower().strip("[]") for h in self.trusted_hosts}
        if self.public_url:
            hosts.add((urlsplit(self.public_url).hostname or "").lower())
        return frozenset(hosts)

    def conninfo(self, dbname: str | None = None) -> str:
        """Connection string for the configured database (or another database on the same server)."""
        if self.database_url:
            if dbname is None:
                return self.database_url
            from psycopg.conninfo import conninfo_to_dict, make_conninfo

            params = conninfo_to_dict(self.database_url)
            params["dbname"] = dbname
            return make_conninfo(**params)
        return (
            f"host=127.0.0.1 port={self.pg_port} user=geoservice dbname={dbname or self.db_name}"
        )


@lru_cache
def get_settings() -> Settings:
    return Settings()
