"""Fixtures that build real data: a throwaway PostGIS database with the demo data, an app on it, and users
of every role. Nothing is mocked."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from geoservice import backup, cluster
from geoservice.access import new_token
from geoservice.api.app import create_app
from geoservice.cli import migrate_and_sync
from geoservice.db import connect
from geoservice.demo.load import load_demo
from geoservice.settings import REPO_ROOT, Settings, get_settings
from geoservice.store import users
from geoservice.timeutil import now, to_local

# One demo day for the whole run (the demo's rolling recent slice moves with the date).
os.environ.setdefault("GEOSERVICE_DEMO_TODAY", to_local(now()).date().isoformat())
# Starlette's TestClient sends Host: testserver; the real servers of the tests are on 127.0.0.1.
os.environ.setdefault("GEOSERVICE_TRUSTED_HOSTS", "localhost,127.0.0.1,::1,testserver")

ARTIFACTS = REPO_ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def settings() -> Settings:
    settings = get_settings()
    if not settings.database_url:
        cluster.start(settings)
    return settings


_TOKENS: dict[str, str] = {}


@pytest.fixture(scope="session")
def template_db(settings: Settings) -> Iterator[str]:
    """Migrated, with demo data and a user per role, and never connected to after building, so it can be
    cloned quickly (every clone has the same users and tokens)."""
    name = f"gs_test_{uuid.uuid4().hex[:10]}_tpl"
    migrate_and_sync(settings, name)
    asyncio.run(load_demo(settings, name))
    with connect(settings, name, autocommit=True) as conn:
        _TOKENS.update({
            "officer": _add_user(conn, "test-officer", "officer", "11", "KBH-CITY-01"),
            "officer_nj": _add_user(conn, "test-officer-nj", "officer", "1"),
            "analyst": _add_user(conn, "test-analyst", "analyst"),
            "legal": _add_user(conn, "test-legal", "legal"),
            "admin": _add_user(conn, "test-admin", "admin"),
        })
    yield name
    if not os.environ.get("GEOSERVICE_KEEP_TEST_DB"):
        cluster.drop_database(settings, name)


@pytest.fixture(scope="session")
def make_db(settings: Settings, template_db: str) -> Iterator[Callable[[], str]]:
    """Clone the template into a new database; every clone is dropped at the end of the session."""
    made: list[str] = []

    def make() -> str:
        name = template_db.replace("_tpl", f"_{len(made) + 1}")
        with psycopg.connect(settings.conninfo("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template_db)))
        made.append(name)
        return name

    yield make
    if not os.environ.get("GEOSERVICE_KEEP_TEST_DB"):
        for name in made:
            cluster.drop_database(settings, name)


@pytest.fixture(scope="session")
def db_name(make_db: Callable[[], str]) -> str:
    """The shared test database: demo data plus whatever tests add (tests assert on their own objects)."""
    return make_db()


@pytest.fixture(scope="session")
def demo_client(settings: Settings, make_db: Callable[[], str]) -> Iterator[TestClient]:
    """A client on a clone that only ever holds the demo data (no test writes to it): for tests that assert
    exact demo contents."""
    with TestClient(create_app(settings, dbname=make_db()), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def own_db(make_db: Callable[[], str]) -> str:
    """A clone for one test module that writes rows other modules' figures would see."""
    return make_db()


@pytest.fixture(scope="module")
def own_client(settings: Settings, own_db: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings, dbname=own_db), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def own_conn(settings: Settings, own_db: str) -> Iterator[psycopg.Connection]:
    with connect(settings, own_db, autocommit=True) as connection:
        yield connection


@pytest.fixture(scope="session")
def conn(settings: Settings, db_name: str) -> Iterator[psycopg.Connection]:
    with connect(settings, db_name, autocommit=True) as connection:
        yield connection


@pytest.fixture(scope="session")
def app(settings: Settings, db_name: str):
    return create_app(settings, dbname=db_name)


@pytest.fixture(scope="session")
def client(app) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _add_user(conn: psycopg.Connection, username: str, role: str, kreds: str | None = None,
              sector: str | None = None) -> str:
    with conn.transaction():
        user_id = users.add_user(conn, username=username, role=role, full_name=None,
                                 politikreds_code=kreds, sector_code=sector)
        token, digest, prefix = new_token()
        users.add_token(conn, user_id=user_id, token_hash=digest, prefix=prefix, label="test")
    return token


@pytest.fixture(scope="session")
def tokens(template_db: str) -> dict[str, str]:
    """One token per role, valid in every clone; `officer` serves in Københavns Politi (11) in sector
    KBH-CITY-01, `officer_nj` in Nordjyllands Politi (1)."""
    return dict(_TOKENS)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- a cluster of its own, for tests that stop, crash or fail over PostgreSQL -------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def private_cluster(settings: Settings, **overrides: object) -> Iterator[Settings]:
    """A PostgreSQL cluster of the test's own on a free port (data in /tmp, wiped afterwards), so stopping or
    killing it leaves the shared test cluster alone."""
    import tempfile

    port = free_port()
    own = settings.model_copy(update={
        "pg_port": port, "pg_data_dir": Path(tempfile.gettempdir()) / f"geoservice-test-{uuid.uuid4().hex[:8]}",
        "database_url": None, "read_database_url": None, **overrides})
    cluster.start(own)
    try:
        yield own
    finally:
        cluster.wipe(own)


@pytest.fixture(scope="session")
def demo_backup(settings: Settings, make_db: Callable[[], str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`geoservice db backup` of a clone with the demo data and the test users (tokens work after a restore)."""
    file = tmp_path_factory.mktemp("backup") / "demo.dump"
    backup.backup(settings, file, make_db())
    return file


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# --- a real server and a real browser -----------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@contextlib.contextmanager
def serving(settings: Settings, dbname: str) -> Iterator[str]:
    """uvicorn serving the app on a database, on a free port of 127.0.0.1, in a background thread."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings, dbname=dbname), host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False, server_header=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(settings: Settings, db_name: str) -> Iterator[str]:
    with serving(settings, db_name) as base:
        yield base


@pytest.fixture(scope="module")
def browser(live_server: str) -> Iterator[object]:
    """Chromium for one test module. Playwright's sync API keeps an event loop running on this thread while it
    is open, so it is opened after the database fixtures (which use asyncio.run) and closed with the module."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (./dev test does)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


class PageWatch:
    """Everything a page did: console errors, requests (non-local ones are blocked) and response bodies."""

    def __init__(self) -> None:
        self.console_errors: list[str] = []
        self.requests: list[str] = []
        self.blocked: list[str] = []
        self.bodies: list[tuple[str, bytes]] = []


_FUNCTION = re.compile(r"\s*(?:async\s+)?(?:function\b|\([^()]*\)\s*=>|[\w$]+\s*=>)")


def _as_function(wait_for_function: Callable[..., object]) -> Callable[..., object]:
    """The pages run under a Content-Security-Policy without 'unsafe-eval', and Playwright polls a bare
    expression with eval inside the page (refused there); a function it compiles from outside, so a bare
    expression is passed as one."""

    def wait(expression: str, *args: object, **kwargs: object) -> object:
        if not _FUNCTION.match(expression):
            expression = f"() => ({expression})"
        return wait_for_function(expression, *args, **kwargs)

    return wait


@pytest.fixture
def page(browser, artifacts: Path, request: pytest.FixtureRequest):
    from urllib.parse import urlparse

    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="da-DK",
                                  timezone_id="Europe/Copenhagen")
    watch = PageWatch()

    def route(route_obj) -> None:
        url = route_obj.request.url
        host = urlparse(url).hostname
        watch.requests.append(url)
        if host in ("127.0.0.1", "localhost") or url.startswith("data:"):
            route_obj.continue_()
        else:
            watch.blocked.append(url)
            route_obj.abort()

    context.route("**/*", route)
    pg = context.new_page()
    pg.on("console", lambda msg: watch.console_errors.append(msg.text) if msg.type == "error" else None)
    pg.on("pageerror", lambda exc: watch.console_errors.append(str(exc)))

    def keep_body(response) -> None:
        with contextlib.suppress(Exception):  # redirects and aborted requests have no body
            watch.bodies.append((response.url, response.body()))

    pg.on("response", keep_body)
    pg.watch = watch
    pg.wait_for_function = _as_function(pg.wait_for_function)
    yield pg
    pg.screenshot(path=str(artifacts / f"{request.node.name}.png"), full_page=True)
    context.close()
