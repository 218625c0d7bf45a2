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

    # An external PostGIS (e.g. docker-compose). When unset, the project-local cluster is used.
    database_url: str | None = None

    # The project-local cluster (created by `geoservice cluster start`).
    pg_data_dir: Path = REPO_ROOT / ".pgdata"
    pg_port: int = 55432
    pg_bin_dir: Path | None = None
    db_name: str = "geoservice"

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

    # Largest JSON body accepted (zones, tracks); file uploads have their own limit.
    max_body_bytes: int = 2_000_000
    max_upload_bytes: int = 200_000_000

    # Online base layer, off unless configured (the service works with no internet).
    tile_url: str | None = None
    tile_attribution: str = "© OpenStreetMap contributors"

    # The day the demo's rolling "last 30 days" slice ends before (default: today in Copenhagen); fixed in the
    # tests so that a run across midnight loads the same demo twice.
    demo_today: dt.date | None = None

    # Public aggregates: counts below k are shown as "<k"; survey shares need at least n respondents.
    suppression_k: int = Field(default=5, ge=1)
    survey_min_respondents: int = Field(default=30, ge=1)

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
