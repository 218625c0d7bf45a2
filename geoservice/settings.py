"""The one settings object: environment variables with the GEOSERVICE_ prefix."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

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
