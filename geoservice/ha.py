"""A local pg_auto_failover formation: a monitor and two PostgreSQL nodes (a primary and a synchronous
standby), each in a project-local directory on its own loopback port, run by `pg_autoctl` as the `postgres` OS
user when we are root. The service follows the primary through a multi-host connection string
(`target_session_attrs=read-write`); public reads may use the standby (`prefer-standby`). Production use on three
machines: docs/operations.md.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from geoservice.cluster import as_server_user, bin_dir
from geoservice.errors import ClusterError
from geoservice.settings import Settings

NODES = ("node1", "node2")
# pg_autoctl sizes shared_buffers from the machine's memory (6 GB on a 24 GB machine); a development formation
# shares its machine, so it is kept small. postgresql.auto.conf wins over pg_autoctl's own include file.
NODE_CONF = """
# geoservice development formation (geoservice/ha.py)
shared_buffers = 128MB
effective_cache_size = 1GB
maintenance_work_mem = 128MB
work_mem = 16MB
wal_keep_size = '512MB'
jit = off
timezone = 'UTC'
"""


@dataclass(frozen=True)
class Formation:
    root: Path
    monitor_port: int
    node_ports: tuple[int, int]
    dbname: str = "geoservice"

    @classmethod
    def from_settings(cls, settings: Settings) -> Formation:
        base = settings.ha_port or settings.pg_port + 100
        return cls(settings.ha_dir, base, (base + 1, base + 2), settings.db_name)

    @property
    def monitor_uri(self) -> str:
        return f"postgres://autoctl_node@127.0.0.1:{self.monitor_port}/pg_auto_failover?sslmode=disable"

    def database_url(self, attrs: str = "read-write") -> str:
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.node_ports)
        return f"postgresql://postgres@{hosts}/{self.dbname}?target_session_attrs={attrs}&sslmode=disable"

    def pgdata(self, name: str) -> Path:
        return self.root / name

    def log(self, name: str) -> Path:
        return self.root / f"{name}.log"


def _env(formation: Formation, settings: Settings) -> dict[str, str]:
    # pg_autoctl keeps its configuration and state under the XDG directories: inside the formation's directory,
    # so that wiping it leaves nothing behind in the postgres user's home.
    xdg = formation.root / "xdg"
    return {**os.environ, "XDG_CONFIG_HOME": str(xdg / "config"), "XDG_DATA_HOME": str(xdg / "share"),
            "XDG_RUNTIME_DIR": str(xdg / "run"), "PG_CONFIG": str(bin_dir(settings) / "pg_config"),
            "PATH": f"{bin_dir(settings)}:{os.environ.get('PATH', '')}"}


def _command(formation: Formation, settings: Settings, *args: str) -> list[str]:
    """pg_autoctl with the formation's environment, as the server user."""
    names = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_RUNTIME_DIR", "PG_CONFIG", "PATH")
    env = _env(formation, settings)
    return as_server_user(["env", *[f"{k}={env[k]}" for k in names], "pg_autoctl", *args])


def _autoctl(formation: Formation, settings: Settings, *args: str, check: bool = True,
             timeout: float = 180) -> subprocess.CompletedProcess:
    result = subprocess.run(_command(formation, settings, *args), capture_output=True, text=True,
                            timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise ClusterError(f"pg_autoctl {' '.join(args[:2])} failed:\n{result.stderr[-3000:]}")
    return result


def installed() -> bool:
    return shutil.which("pg_autoctl") is not None


def _prepare_root(formation: Formation) -> None:
    formation.root.mkdir(parents=True, exist_ok=True)
    for sub in ("xdg",):
        (formation.root / sub).mkdir(exist_ok=True)
    if os.geteuid() == 0:
        subprocess.run(["chown", "-R", "postgres:postgres", str(formation.root)], check=True)


def _run_in_background(formation: Formation, settings: Settings, name: str) -> None:
    """`pg_autoctl run` for one node, detached from us (it supervises its postgres and talks to the monitor)."""
    log = formation.log(name)
    log.touch()
    if os.geteuid() == 0:
        shutil.chown(log, "postgres", "postgres")
    with open(log, "a") as out:
        subprocess.Popen(_command(formation, settings, "run", "--pgdata", str(formation.pgdata(name))),
                         stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)


def _running(formation: Formation, name: str) -> bool:
    pid_file = formation.pgdata(name) / "postmaster.pid"
    if not pid_file.exists():
        return False
    try:
        os.kill(int(pid_file.read_text().split()[0]), 0)
    except (ValueError, ProcessLookupError, PermissionError):
        return False
    return _keeper_pids(formation, name) != []


def _keeper_pids(formation: Formation, name: str) -> list[int]:
    result = subprocess.run(["pgrep", "-f", f"pg_autoctl run --pgdata {formation.pgdata(name)}$"],
                            capture_output=True, text=True, check=False)
    return [int(p) for p in result.stdout.split()]


def _append_conf(formation: Formation, name: str, text: str) -> None:
    conf = formation.pgdata(name) / "postgresql.auto.conf"
    with open(conf, "a") as fh:
        fh.write(text)


def state(formation: Formation, settings: Settings) -> list[dict]:
    """The monitor's view: one row per node with its reported and assigned state."""
    result = _autoctl(formation, settings, "show", "state", "--pgdata", str(formation.pgdata("monitor")),
                      "--json", check=False, timeout=30)
    if result.returncode != 0:
        return []
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError:
        return []


def _states(formation: Formation, settings: Settings) -> dict[str, str]:
    return {row["nodename"]: row["current_group_state"] for row in state(formation, settings)}


def primary_port(formation: Formation, settings: Settings) -> int | None:
    for row in state(formation, settings):
        if row["current_group_state"] in ("primary", "wait_primary", "single") and row["assigned_group_state"] == \
                row["current_group_state"]:
            return int(row["nodeport"])
    return None


def wait_for_primary(formation: Formation, settings: Settings, timeout: float) -> int:
    """The primary's port once the monitor has one settled (after a failover the new primary passes through
    wait_primary while the old node rejoins, and primary_port says None meanwhile)."""
    deadline = time.monotonic() + timeout
    while (port := primary_port(formation, settings)) is None:
        if time.monotonic() >= deadline:
            raise ClusterError(f"the formation did not reach a primary within {timeout:.0f} s")
        time.sleep(1)
    return port


def _wait(what: str, predicate, timeout: float, nudge=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if nudge:
            nudge()
        time.sleep(1)
    raise ClusterError(f"the formation did not reach {what} within {timeout:.0f} s")


def _checkpoint(port: int) -> None:
    # pg_basebackup for a new standby waits for a spread checkpoint (minutes); an immediate one ends the wait.
    try:
        with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres connect_timeout=3",
                             autocommit=True) as conn:
            conn.execute("CHECKPOINT")
    except psycopg.Error:
        pass


def start(settings: Settings, formation: Formation | None = None, timeout: float = 240) -> Formation:
    """Create the formation the first time, start whatever part of it is not running, and wait until it has a
    primary and a synchronous secondary."""
    if not installed():
        raise ClusterError("pg_autoctl not found: install postgresql-15-auto-failover (./dev ha does)")
    formation = formation or Formation.from_settings(settings)
    _prepare_root(formation)
    pg_ctl = str(bin_dir(settings) / "pg_ctl")
    monitor = formation.pgdata("monitor")
    if not (monitor / "PG_VERSION").exists():
        _autoctl(formation, settings, "create", "monitor", "--pgdata", str(monitor), "--pgport",
                 str(formation.monitor_port), "--hostname", "127.0.0.1", "--auth", "trust", "--no-ssl",
                 "--pgctl", pg_ctl)
        _autoctl(formation, settings, "config", "set", "--pgdata", str(monitor), "postgresql.listen_addresses",
                 "127.0.0.1")
    if not _running(formation, "monitor"):
        _run_in_background(formation, settings, "monitor")
    _wait("a running monitor", lambda: _monitor_ready(formation), 60)
    for i, name in enumerate(NODES):
        pgdata = formation.pgdata(name)
        if not (pgdata / "PG_VERSION").exists():
            _autoctl(formation, settings, "create", "postgres", "--pgdata", str(pgdata), "--pgport",
                     str(formation.node_ports[i]), "--listen", "127.0.0.1", "--hostname", "127.0.0.1",
                     "--name", name, "--auth", "trust", "--no-ssl", "--dbname", formation.dbname,
                     "--monitor", formation.monitor_uri, "--pgctl", pg_ctl)
            if i == 0:
                _append_conf(formation, name, NODE_CONF)
        if not _running(formation, name):
            _run_in_background(formation, settings, name)
        if i == 0:
            wait_for_primary(formation, settings, timeout)

    def both_up() -> bool:
        states = _states(formation, settings)
        return sorted(states.values()) == ["primary", "secondary"]

    def nudge() -> None:
        port = primary_port(formation, settings)
        if port and "catchingup" in _states(formation, settings).values():
            _checkpoint(port)

    _wait("a primary and a secondary", both_up, timeout, nudge)
    return formation


def _monitor_ready(formation: Formation) -> bool:
    try:
        with psycopg.connect(formation.monitor_uri + "&connect_timeout=2"):
            return True
    except psycopg.Error:
        return False


def stop(settings: Settings, formation: Formation | None = None) -> None:
    """Stop the nodes, then the monitor (pg_autoctl stops the postgres it supervises)."""
    formation = formation or Formation.from_settings(settings)
    for name in (*reversed(NODES), "monitor"):
        if (formation.pgdata(name) / "PG_VERSION").exists():
            _autoctl(formation, settings, "stop", "--pgdata", str(formation.pgdata(name)), check=False)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(_keeper_pids(formation, n) for n in (*NODES, "monitor")):
        time.sleep(0.5)
    for name in (*NODES, "monitor"):  # what did not stop in a minute
        for pid in _keeper_pids(formation, name):
            os.kill(pid, 9)


def wipe(settings: Settings, formation: Formation | None = None) -> None:
    formation = formation or Formation.from_settings(settings)
    stop(settings, formation)
    shutil.rmtree(formation.root, ignore_errors=True)


def postgres_pid(formation: Formation, port: int) -> int:
    """The postmaster of the node listening on `port`."""
    index = formation.node_ports.index(port)
    return int((formation.pgdata(NODES[index]) / "postmaster.pid").read_text().split()[0])
