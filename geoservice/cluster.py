"""The project-local PostgreSQL cluster: a data directory inside the checkout, started on demand.

When run as root, PostgreSQL refuses to start, so the server runs as the `postgres` OS user and the data
directory is owned by it. Connections are TCP on 127.0.0.1 with trust authentication for the single
`geoservice` superuser; nothing listens beyond loopback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import psycopg
from psycopg import sql

from geoservice.errors import ClusterError
from geoservice.settings import Settings

SERVER_CONF = """
# geoservice project-local cluster (written by `geoservice cluster start`)
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = ''
max_connections = 100
shared_buffers = 256MB
work_mem = 16MB
maintenance_work_mem = 256MB
jit = off
fsync = on
synchronous_commit = off
# bulk imports (a million incidents) should not checkpoint every few seconds
max_wal_size = 4GB
checkpoint_timeout = 15min
timezone = 'UTC'
log_min_messages = warning
logging_collector = off
"""

HBA_CONF = """
# loopback only, trust: the cluster is private to this checkout
host all all 127.0.0.1/32 trust
host all all ::1/128 trust
"""


def bin_dir(settings: Settings) -> Path:
    if settings.pg_bin_dir:
        return settings.pg_bin_dir
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if candidates:
        return candidates[-1].parent
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise ClusterError("PostgreSQL server binaries not found; install postgresql-15 (the README's setup does)")


def as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(as_server_user(cmd), check=False, capture_output=True, text=True, **kw)


def _log_file(settings: Settings) -> Path:
    return settings.pg_data_dir.parent / (settings.pg_data_dir.name + ".log")


def is_running(settings: Settings) -> bool:
    data = settings.pg_data_dir
    if not (data / "PG_VERSION").exists():
        return False
    result = _run([str(bin_dir(settings) / "pg_ctl"), "status", "-D", str(data)])
    return result.returncode == 0


def init(settings: Settings) -> bool:
    """Create the data directory if it does not exist. Returns True when it was created."""
    data = settings.pg_data_dir
    if (data / "PG_VERSION").exists():
        return False
    data.mkdir(parents=True, exist_ok=True)
    log = _log_file(settings)
    log.touch()
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
        shutil.chown(log, "postgres", "postgres")
        data.chmod(0o700)
    result = _run(
        [
            str(bin_dir(settings) / "initdb"),
            "-D", str(data),
            "-U", "geoservice",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        ]
    )
    if result.returncode != 0:
        raise ClusterError(f"initdb failed:\n{result.stdout}\n{result.stderr}")
    conf = SERVER_CONF.format(port=settings.pg_port)
    # Appended as the server user so file ownership stays right.
    for name, text in (("postgresql.auto.conf", conf), ("pg_hba.conf", HBA_CONF)):
        mode = "a" if name.endswith("auto.conf") else "w"
        with open(data / name, mode) as fh:
            fh.write(text)
    if os.geteuid() == 0:
        for name in ("postgresql.auto.conf", "pg_hba.conf"):
            shutil.chown(data / name, "postgres", "postgres")
    return True


def start(settings: Settings) -> None:
    """Start the cluster (creating it first if needed) and wait until it accepts connections."""
    init(settings)
    if not is_running(settings):
        result = _run(
            [
                str(bin_dir(settings) / "pg_ctl"),
                "start", "-D", str(settings.pg_data_dir),
                "-l", str(_log_file(settings)),
                "-w", "-t", "60",
            ]
        )
        if result.returncode != 0:
            tail = _log_file(settings).read_text(errors="replace")[-2000:] if _log_file(settings).exists() else ""
            raise ClusterError(f"could not start PostgreSQL:\n{result.stdout}\n{result.stderr}\n{tail}")
    _wait_ready(settings)


def _wait_ready(settings: Settings, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(settings.conninfo("postgres"), connect_timeout=2):
                return
        except psycopg.OperationalError as exc:
            last = exc
            time.sleep(0.2)
    raise ClusterError(f"PostgreSQL on port {settings.pg_port} did not become ready: {last}")


def stop(settings: Settings) -> bool:
    if not is_running(settings):
        return False
    result = _run([str(bin_dir(settings) / "pg_ctl"), "stop", "-D", str(settings.pg_data_dir), "-m", "fast", "-w"])
    if result.returncode != 0:
        raise ClusterError(f"could not stop PostgreSQL:\n{result.stderr}")
    return True


def wipe(settings: Settings) -> None:
    stop(settings)
    shutil.rmtree(settings.pg_data_dir, ignore_errors=True)
    _log_file(settings).unlink(missing_ok=True)


def ensure_database(settings: Settings, dbname: str | None = None) -> bool:
    """Create the database if missing (on the local cluster or the external server). True when created."""
    name = dbname or _dbname(settings)
    with psycopg.connect(settings.conninfo("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


def drop_database(settings: Settings, dbname: str) -> None:
    with psycopg.connect(settings.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )


def _dbname(settings: Settings) -> str:
    if settings.database_url:
        from psycopg.conninfo import conninfo_to_dict

        return str(conninfo_to_dict(settings.database_url).get("dbname") or settings.db_name)
    return settings.db_name
