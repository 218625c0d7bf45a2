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
zones_app = typer.Typer(help="Zones and their lifecycle.", no_args_is_help=True)
validity_app = typer.Typer(help="Legal validity: the report and as-of checks.", no_args_is_help=True)
map_app = typer.Typer(help="Static HTML maps (folium) that open with no internet.", no_args_is_help=True)
app.add_typer(cluster_app, name="cluster")
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(users_app, name="users")
app.add_typer(zones_app, name="zones")
app.add_typer(validity_app, name="validity")
app.add_typer(map_app, name="map")
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


# --- lifecycle (the CLI acts as a local admin; the audit log names the OS user) --------------------------------


def _operator() -> Principal:
    import getpass

    return Principal(role=Role.admin, username=f"cli:{getpass.getuser()}")


async def _with_db(settings: Settings, action: Callable[[Database], Coroutine[Any, Any, Any]]) -> Any:
    db = Database(settings)
    await db.open()
    try:
        return await action(db)
    finally:
        await db.close()


def _geometry_file(path: Path | None) -> dict[str, Any] | None:
    """A boundary from a GeoJSON file: a geometry, a Feature, or a FeatureCollection with one feature."""
    if path is None:
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("type") == "FeatureCollection":
        if len(data.get("features", [])) != 1:
            raise GeoserviceError(f"{path}: expected exactly one feature, found {len(data.get('features', []))}")
        data = data["features"][0]
    return data.get("geometry") if data.get("type") == "Feature" else data


@zones_app.command("publish")
@reports_errors
def zones_publish(
    zone_id: int,
    effective_from: Annotated[str | None, typer.Option(help="When it takes effect (default: draft's start)")] = None,
    decision_ref: Annotated[str | None, typer.Option()] = None,
    override_reason: Annotated[str | None, typer.Option(help="Override a kind rule, with this reason")] = None,
) -> None:
    """Publish the zone's draft decision."""
    from geoservice import lifecycle
    from geoservice.schemas import PublishIn

    body = PublishIn(effective_from=effective_from, decision_ref=decision_ref, override_reason=override_reason)
    run(_with_db(_settings(), lambda db: lifecycle.publish(db, _operator(), zone_id, body)))
    typer.echo(f"zone {zone_id} published")


@zones_app.command("extend")
@reports_errors
def zones_extend(
    zone_id: int,
    valid_to: Annotated[str, typer.Option("--to", help="End of the extension (a date alone: til og med)")],
    decision_ref: Annotated[str, typer.Option(help="The new decision")],
    valid_from: Annotated[str | None, typer.Option("--from", help="Default: the current end")] = None,
    geometry: Annotated[Path | None, typer.Option(help="GeoJSON file with a new boundary")] = None,
    reason: Annotated[str | None, typer.Option()] = None,
    allow_overlap: Annotated[bool, typer.Option()] = False,
    draft: Annotated[bool, typer.Option(help="Keep the extension as a draft")] = False,
    override_reason: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Extend a zone by a new decision continuing from its end."""
    from geoservice import lifecycle
    from geoservice.schemas import ExtendIn

    body = ExtendIn(valid_to=valid_to, valid_from=valid_from, decision_ref=decision_ref, reason=reason,
                    geometry=_geometry_file(geometry), allow_overlap=allow_overlap, publish=not draft,
                    override_reason=override_reason)
    run(_with_db(_settings(), lambda db: lifecycle.extend(db, _operator(), zone_id, body, content_crs=None,
                                                          repair=False)))
    typer.echo(f"zone {zone_id} extended to {valid_to}")


@zones_app.command("amend")
@reports_errors
def zones_amend(
    zone_id: int,
    effective_from: Annotated[str, typer.Option("--from", help="The moment the new boundary applies")],
    geometry: Annotated[Path, typer.Option(help="GeoJSON file with the new boundary")],
    decision_ref: Annotated[str, typer.Option()],
    reason: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Change a zone's boundary from a moment (the version before keeps the time before)."""
    from geoservice import lifecycle
    from geoservice.schemas import AmendIn

    body = AmendIn(effective_from=effective_from, geometry=_geometry_file(geometry) or {},
                   decision_ref=decision_ref, reason=reason)
    run(_with_db(_settings(), lambda db: lifecycle.amend(db, _operator(), zone_id, body, content_crs=None,
                                                         repair=False)))
    typer.echo(f"zone {zone_id} amended from {effective_from}")


@zones_app.command("revoke")
@reports_errors
def zones_revoke(
    zone_id: int,
    reason: Annotated[str, typer.Option()],
    at: Annotated[str | None, typer.Option(help="When the revocation takes effect (default now)")] = None,
    decision_ref: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Revoke a zone from a moment."""
    from geoservice import lifecycle
    from geoservice.schemas import RevokeIn

    body = RevokeIn(reason=reason, at=at, decision_ref=decision_ref)
    moment = run(_with_db(_settings(), lambda db: lifecycle.revoke(db, _operator(), zone_id, body)))
    typer.echo(f"zone {zone_id} revoked from {timeutil.isoformat_local(moment)}")


@zones_app.command("archive")
@reports_errors
def zones_archive(zone_id: int, reason: Annotated[str | None, typer.Option()] = None) -> None:
    """Withdraw the publication of an expired or revoked zone."""
    from geoservice import lifecycle
    from geoservice.schemas import ArchiveIn

    run(_with_db(_settings(), lambda db: lifecycle.archive(db, _operator(), zone_id, ArchiveIn(reason=reason))))
    typer.echo(f"zone {zone_id} archived")


@zones_app.command("history")
@reports_errors
def zones_history(zone_id: int) -> None:
    """Every version and recorded step of a zone, as JSON."""
    from geoservice import lifecycle

    body = run(_with_db(_settings(), lambda db: lifecycle.history(db, _operator(), zone_id)))
    typer.echo(json.dumps(json.loads(body), ensure_ascii=False, indent=2))


# --- validity ------------------------------------------------------------------------------------------------


@validity_app.command("report")
@reports_errors
def validity_report(
    at: Annotated[str | None, typer.Option(help="The moment to report at (default now)")] = None,
    output: Annotated[str, typer.Option("--format", help="text, csv or json")] = "text",
    fail_on: Annotated[str, typer.Option(help="Exit 1 on: overdue (default), any finding, or never")] = "overdue",
) -> None:
    """Zones expiring, expired but still published, chain gaps, missing decisions and overrides.
    Exits 1 when something is overdue (for cron)."""
    from geoservice import validity

    if output not in ("text", "csv", "json") or fail_on not in ("overdue", "any", "never"):
        raise GeoserviceError("--format is text, csv or json; --fail-on is overdue, any or never")
    moment = timeutil.parse_instant(at, "--at") if at else None
    body = run(_with_db(_settings(), lambda db: validity.report(db, _operator(), moment)))
    if output == "json":
        typer.echo(json.dumps(body, ensure_ascii=False, indent=2))
    elif output == "csv":
        typer.echo(validity.as_csv(body), nl=False)
    else:
        typer.echo(validity.as_text(body), nl=False)
    findings = sum(len(body[s]) for s in validity.SECTIONS)
    if (fail_on == "overdue" and body["overdue"]) or (fail_on == "any" and findings):
        raise typer.Exit(1)


@validity_app.command("track")
@reports_errors
def validity_track(
    path: Annotated[Path, typer.Argument(help="CSV with lat,lon,at[,label] or GeoJSON points with an 'at' property")],
    as_role: Annotated[Role, typer.Option("--as", help="Check as this role")] = Role.legal,
) -> None:
    """As-of check of timed points: the zones in force at each, and enter/exit events, as JSON."""
    from geoservice import validity
    from geoservice.schemas import TrackIn

    body = TrackIn(points=_read_track(path))
    principal = Principal(role=as_role, username=_operator().username)
    answer = run(_with_db(_settings(), lambda db: validity.check_track(db, principal, body)))
    typer.echo(json.dumps(answer, ensure_ascii=False, indent=2))


def _read_track(path: Path) -> list[dict[str, Any]]:
    import csv

    if path.suffix.lower() in (".geojson", ".json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        points = []
        for i, f in enumerate(data.get("features", [])):
            if (f.get("geometry") or {}).get("type") != "Point":
                raise GeoserviceError(f"{path}: feature {i} is not a Point")
            lon, lat = f["geometry"]["coordinates"][:2]
            props = f.get("properties") or {}
            points.append({"lat": lat, "lon": lon, "at": props.get("at") or props.get("time"),
                           "label": props.get("label")})
        return points
    with path.open(encoding="utf-8", newline="") as fh:
        return [{k: v for k, v in row.items() if k in ("lat", "lon", "at", "label")} for row in csv.DictReader(fh)]


@map_app.command("export")
@reports_errors
def map_export(
    output: Annotated[Path, typer.Option("-o", "--output", help="HTML file to write")],
    kind: Annotated[str | None, typer.Option(help="Kind code(s), comma-separated")] = None,
    at: Annotated[str | None, typer.Option(help="The moment the map shows (default now)")] = None,
    sector: Annotated[str | None, typer.Option(help="Only zones touching this Din Betjent sector")] = None,
    zone: Annotated[int | None, typer.Option(help="One zone: the map annex of its decision")] = None,
    title: Annotated[str | None, typer.Option()] = None,
    as_role: Annotated[Role, typer.Option("--as", help="Export what this role sees")] = Role.public,
) -> None:
    """Write a self-contained HTML map of the zones in force (Leaflet inlined, no CDN)."""
    from geoservice import maps

    moment = timeutil.parse_instant(at, "--at") if at else None
    principal = Principal(role=as_role, username=_operator().username)
    document = run(_with_db(_settings(), lambda db: maps.export_map(
        db, principal, kinds=_csv(kind), at=moment, sector=sector, zone_id=zone, title=title)))
    output.write_text(document, encoding="utf-8")
    typer.echo(f"wrote {output} ({len(document) // 1024} KB)")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
