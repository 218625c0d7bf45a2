"""The `geoservice` command line: cluster, database, demo data, users, zones and the server."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
from collections.abc import Callable, Coroutine
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from geoservice import cluster, timeutil
from geoservice.access import Principal, Role, new_token, zone_filter
from geoservice.db import Database, applied_migrations, connect, connect_async, migrate
from geoservice.errors import GeoserviceError
from geoservice.layers import get_layers
from geoservice.overlays.cli import load_overlay_demo, overlays_app
from geoservice.settings import Settings, get_settings

app = typer.Typer(help="geoservice: Danish police zones with legal validity periods, on PostGIS.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
cluster_app = typer.Typer(help="The project-local PostgreSQL cluster (unused when GEOSERVICE_DATABASE_URL is set).",
                          no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
demo_app = typer.Typer(help="Demo data built from ../shared/data.", no_args_is_help=True)
users_app = typer.Typer(help="Users, roles and API tokens.", no_args_is_help=True)
zones_app = typer.Typer(help="Zones.", no_args_is_help=True)
app.add_typer(cluster_app, name="cluster")
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(users_app, name="users")
app.add_typer(zones_app, name="zones")
app.add_typer(overlays_app, name="overlays")

F = TypeVar("F", bound=Callable[..., Any])


def reports_errors(func: F) -> F:
    """Print service errors as messages (not tracebacks) and exit non-zero."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except GeoserviceError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


def _settings() -> Settings:
    return get_settings()


# --- cluster -------------------------------------------------------------------------------------------------


@cluster_app.command("start")
@reports_errors
def cluster_start() -> None:
    """Create (first time) and start the project-local cluster; a no-op for an external database."""
    settings = _settings()
    if settings.database_url:
        typer.echo("GEOSERVICE_DATABASE_URL is set: using the external database, no local cluster")
        return
    created = cluster.init(settings)
    cluster.start(settings)
    typer.echo(f"{'created and ' if created else ''}started PostgreSQL in {settings.pg_data_dir} "
               f"on 127.0.0.1:{settings.pg_port}")


@cluster_app.command("stop")
@reports_errors
def cluster_stop() -> None:
    """Stop the project-local cluster."""
    stopped = cluster.stop(_settings())
    typer.echo("stopped" if stopped else "was not running")


@cluster_app.command("status")
@reports_errors
def cluster_status() -> None:
    settings = _settings()
    running = cluster.is_running(settings)
    typer.echo(f"{'running' if running else 'stopped'}: {settings.pg_data_dir} port {settings.pg_port}")
    raise typer.Exit(0 if running else 1)


@cluster_app.command("wipe")
@reports_errors
def cluster_wipe(yes: Annotated[bool, typer.Option("--yes", help="Do not ask")] = False) -> None:
    """Stop the cluster and delete its data directory (all local data)."""
    settings = _settings()
    if not yes:
        typer.confirm(f"Delete {settings.pg_data_dir} and everything in it?", abort=True)
    cluster.wipe(settings)
    typer.echo(f"wiped {settings.pg_data_dir}")


# --- database ------------------------------------------------------------------------------------------------


def migrate_and_sync(settings: Settings, dbname: str | None = None) -> list[str]:
    from geoservice.store.kinds import sync_kinds, unknown_kinds

    cluster.ensure_database(settings, dbname)
    applied = migrate(settings, dbname)
    with connect(settings, dbname) as conn:
        sync_kinds(conn, get_layers())
        stale = unknown_kinds(conn, get_layers())
    if stale:
        typer.echo(f"warning: kinds in the database but not in layers/kinds.yaml: {', '.join(stale)}", err=True)
    return applied


@db_app.command("migrate")
@reports_errors
def db_migrate() -> None:
    """Create the database if needed, apply pending migrations and sync zone kinds from layers/."""
    applied = migrate_and_sync(_settings())
    typer.echo(f"applied {len(applied)} migration(s){': ' + ', '.join(applied) if applied else ''}; kinds synced")


@db_app.command("status")
@reports_errors
def db_status() -> None:
    """List applied migrations."""
    for mid in applied_migrations(_settings()):
        typer.echo(mid)


# --- demo ----------------------------------------------------------------------------------------------------


async def load_demo(settings: Settings, dbname: str | None = None) -> Any:
    from geoservice.demo.build import build
    from geoservice.demo.load import load

    data = build(settings.shared_data_dir, settings.layers_dir)
    conn = await connect_async(settings, dbname)
    try:
        report = await load(conn, data, get_layers())
        report.overlays = await load_overlay_demo(conn, data, settings)
        return report
    finally:
        await conn.close()


@demo_app.command("load")
@reports_errors
def demo_load() -> None:
    """Build the demo data from ../shared/data and load what is missing (safe to run again)."""
    report = run(load_demo(_settings()))
    typer.echo(report.summary())
    typer.echo(report.overlays.summary())


@app.command("up")
@reports_errors
def up() -> None:
    """Start the cluster, migrate and load the demo data: everything `serve` needs."""
    cluster_start()
    db_migrate()
    demo_load()


@app.command("serve")
@reports_errors
def serve(
    host: Annotated[str | None, typer.Option(help="Default GEOSERVICE_HOST or 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="Default GEOSERVICE_PORT or 8000")] = None,
    workers: Annotated[int, typer.Option(help="Server processes")] = 1,
) -> None:
    """Serve the API and the web map."""
    import uvicorn

    settings = _settings()
    from geoservice.store.kinds import sync_kinds

    with connect(settings) as conn:
        sync_kinds(conn, get_layers())
    typer.echo(f"geoservice on http://{host or settings.host}:{port or settings.port}/ (API docs at /docs)")
    uvicorn.run("geoservice.api.app:create_app", factory=True, host=host or settings.host,
                port=port or settings.port, workers=workers, log_level="warning", access_log=False)


# --- users ---------------------------------------------------------------------------------------------------


@users_app.command("add")
@reports_errors
def users_add(
    username: str,
    role: Annotated[Role, typer.Option(help="officer, analyst, legal or admin")],
    politikreds: Annotated[str | None, typer.Option(help="Politikreds number (officers: required)")] = None,
    sector: Annotated[str | None, typer.Option(help="Din Betjent sector code")] = None,
    full_name: Annotated[str | None, typer.Option()] = None,
    label: Annotated[str | None, typer.Option(help="Label for the token")] = None,
) -> None:
    """Add a user and print their API token (shown once; only its hash is stored)."""
    from geoservice.store import users

    if role == Role.public:
        raise GeoserviceError("the public role needs no user or token")
    settings = _settings()
    with connect(settings) as conn, conn.transaction():
        _audit(conn, "user.add")
        if users.find_user(conn, username):
            raise GeoserviceError(f"user {username!r} exists; use `geoservice users token {username}`")
        if sector:
            found = users.sector_exists(conn, sector)
            if not found:
                raise GeoserviceError(f"unknown sector {sector!r}")
            politikreds = politikreds or found[1]
        if politikreds and not users.politikreds_exists(conn, politikreds):
            raise GeoserviceError(f"unknown politikreds {politikreds!r} (expected a number 1-12)")
        if role == Role.officer and not politikreds:
            raise GeoserviceError("an officer needs --politikreds (or --sector)")
        user_id = users.add_user(conn, username=username, role=role.value, full_name=full_name,
                                 politikreds_code=politikreds, sector_code=sector)
        token, digest, prefix = new_token()
        users.add_token(conn, user_id=user_id, token_hash=digest, prefix=prefix, label=label)
    typer.echo(token)
    typer.echo(f"user {username} ({role.value}) added; the token above is shown only once", err=True)


@users_app.command("token")
@reports_errors
def users_token(username: str, label: Annotated[str | None, typer.Option()] = None) -> None:
    """Issue another token for an existing user."""
    from geoservice.store import users

    with connect(_settings()) as conn, conn.transaction():
        _audit(conn, "token.add")
        row = users.find_user(conn, username)
        if not row:
            raise GeoserviceError(f"no user {username!r}")
        token, digest, prefix = new_token()
        users.add_token(conn, user_id=row[0], token_hash=digest, prefix=prefix, label=label)
    typer.echo(token)


@users_app.command("revoke-tokens")
@reports_errors
def users_revoke(username: str) -> None:
    """Revoke every token of a user."""
    from geoservice.store import users

    with connect(_settings()) as conn, conn.transaction():
        _audit(conn, "token.revoke")
        row = users.find_user(conn, username)
        if not row:
            raise GeoserviceError(f"no user {username!r}")
        count = users.revoke_tokens(conn, row[0])
    typer.echo(f"revoked {count} token(s) of {username}")


@users_app.command("list")
@reports_errors
def users_list() -> None:
    from geoservice.store import users

    with connect(_settings()) as conn:
        for name, role, kreds, sector, active, tokens in users.list_users(conn):
            typer.echo(f"{name:20} {role:8} kreds={kreds or '-':3} sector={sector or '-':22} "
                       f"{'active' if active else 'inactive'} tokens={tokens}")


def _audit(conn: Any, action: str) -> None:
    import getpass

    conn.execute("SELECT set_config('geoservice.actor', %s, true), set_config('geoservice.action', %s, true)",
                 (f"cli:{getpass.getuser()} (admin)", action))


# --- zones ---------------------------------------------------------------------------------------------------


def _principal(role: Role) -> Principal:
    return Principal(role=role, username=f"cli-{role.value}")


async def _features(settings: Settings, *, role: Role, at: dt.datetime | None, kinds: list[str] | None,
                    statuses: list[str] | None, limit: int = 1000) -> list[dict[str, Any]]:
    from geoservice import zones as domain
    from geoservice.store.zones import ZoneQuery

    db = Database(settings)
    await db.open()
    try:
        access = zone_filter(_principal(role))
        features: list[dict[str, Any]] = []
        offset = 0
        while True:
            zq = ZoneQuery(t=at or timeutil.now(), access=access, in_force_only=access.only_in_force or at is not None,
                           kinds=kinds, statuses=statuses, limit=limit, offset=offset)
            text, matched, returned = await domain.list_zones(db, zq)
            features.extend(json.loads(text))
            offset += returned
            if returned == 0 or offset >= matched:
                return features
    finally:
        await db.close()


def _csv(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


@zones_app.command("list")
@reports_errors
def zones_list(
    kind: Annotated[str | None, typer.Option(help="Kind code(s), comma-separated")] = None,
    at: Annotated[str | None, typer.Option(help="Only zones in force then (ISO 8601)")] = None,
    status: Annotated[str | None, typer.Option(help="Status(es), comma-separated")] = None,
    as_role: Annotated[Role, typer.Option("--as", help="See the zones as this role")] = Role.admin,
    output: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """List zones with their status and period."""
    moment = timeutil.parse_instant(at, "--at") if at else None
    features = run(_features(_settings(), role=as_role, at=moment, kinds=_csv(kind), statuses=_csv(status)))
    if output == "json":
        typer.echo(json.dumps([f["properties"] for f in features], ensure_ascii=False, indent=2))
        return
    for f in features:
        p = f["properties"]
        period = f"{_short(p['valid_from'])} → {_short(p['valid_to'])}"
        typer.echo(f"{p['id']:>5}  {p['kind']:26} {p['status']:10} {period:35} {p['name']}")
    typer.echo(f"{len(features)} zone(s)", err=True)


def _short(value: str | None) -> str:
    return value[:16].replace("T", " ") if value else "∞"


@zones_app.command("export")
@reports_errors
def zones_export(
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write: .geojson or .gpkg")],
    kind: Annotated[str | None, typer.Option(help="Kind code(s), comma-separated")] = None,
    at: Annotated[str | None, typer.Option(help="Only zones in force then (ISO 8601)")] = None,
    status: Annotated[str | None, typer.Option(help="Status(es), comma-separated")] = None,
    as_role: Annotated[Role, typer.Option("--as", help="Export what this role sees")] = Role.public,
) -> None:
    """Export zones to GeoJSON or GeoPackage (EPSG:4326). By default exactly what the public sees now."""
    suffix = output.suffix.lower()
    if suffix not in (".geojson", ".json", ".gpkg"):
        raise GeoserviceError(f"unsupported output {output.name}: use .geojson or .gpkg")
    moment = timeutil.parse_instant(at, "--at") if at else None
    features = run(_features(_settings(), role=as_role, at=moment, kinds=_csv(kind), statuses=_csv(status)))
    if suffix in (".geojson", ".json"):
        output.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                          encoding="utf-8")
    else:
        write_geopackage(features, output)
    typer.echo(f"wrote {len(features)} zone(s) to {output}")


def write_geopackage(features: list[dict[str, Any]], path: Path, layer: str = "zones") -> None:
    import geopandas as gpd
    from shapely.geometry import shape

    rows = []
    for f in features:
        props = {k: (json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v)
                 for k, v in f["properties"].items()}
        rows.append({**props, "geometry": shape(f["geometry"])})
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326") if rows else gpd.GeoDataFrame(
        {"id": [], "geometry": []}, geometry="geometry", crs="EPSG:4326")
    if path.exists():
        path.unlink()
    frame.to_file(path, layer=layer, driver="GPKG")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
