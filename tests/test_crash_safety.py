"""What holds when a process dies with SIGKILL: PostgreSQL in the middle of a 200,000-row import leaves nothing
half-written and the rerun is idempotent; the service in the middle of concurrent zone writes loses no write it
acknowledged and leaves the audit chain whole."""

from __future__ import annotations

import contextlib
import csv
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg
import pytest

from geoservice import backup, cluster
from geoservice.db import connect
from geoservice.settings import Settings
from tests.conftest import bearer, free_port, private_cluster
from tests.helpers import GOTHERSGADE, offset, square

pytestmark = pytest.mark.slow

ROWS = 200_000
SOURCE = "kill-test"
# Points around central places of a few kommuner (all well inside Denmark).
CENTRES = [(12.5683, 55.6761), (10.2039, 56.1629), (10.3883, 55.3959), (9.9217, 57.0488), (12.0803, 55.6415)]


def incidents_csv(path: Path, rows: int) -> None:
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["id", "category", "occurred_at", "lat", "lon"])
        for i in range(rows):
            lon, lat = CENTRES[i % len(CENTRES)]
            out.writerow([f"K-{i}", ("vold", "tyveri", "hærværk", "indbrud")[i % 4],
                          f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00+01:00",
                          round(lat + ((i * 7919) % 2001 - 1000) * 1e-5, 6),
                          round(lon + ((i * 104729) % 2001 - 1000) * 2e-5, 6)])


def imported(own: Settings) -> int:
    with connect(own, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM incident WHERE source = %s", (SOURCE,)).fetchone()[0]


def import_cli(own: Settings, file: Path) -> subprocess.Popen:
    env = {**os.environ, "GEOSERVICE_PG_PORT": str(own.pg_port), "GEOSERVICE_PG_DATA_DIR": str(own.pg_data_dir)}
    return subprocess.Popen([sys.executable, "-m", "geoservice.cli", "overlays", "import-incidents", str(file),
                             "--source", SOURCE], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def copying(own: Settings) -> bool:
    """The import is writing: its COPY into the staging table (or the upsert after it) is running. (Not this
    query itself, whose text names them too.)"""
    try:
        with psycopg.connect(own.conninfo("postgres"), autocommit=True, connect_timeout=2) as conn:
            return bool(conn.execute(
                "SELECT 1 FROM pg_stat_activity WHERE (query ILIKE 'COPY overlay_stage%%' OR query ILIKE "
                "'%%INSERT INTO incident%%') AND state = 'active' AND pid <> pg_backend_pid()").fetchone())
    except psycopg.OperationalError:
        return False


def crash(postmaster: int) -> None:
    """PostgreSQL dies at once, as in a power cut: SIGKILL to the postmaster and every process of it (a backend
    left alone would go on with its COPY, and would keep the cluster from starting again)."""
    def children() -> list[int]:
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == postmaster:
                    found.append(int(stat.parent.name))
        return found

    os.kill(postmaster, signal.SIGSTOP)  # it forks no new process while its children are listed
    backends = children()
    assert backends, "the postmaster has no processes: not a running cluster"
    for pid in (postmaster, *backends):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    # gone, not only dead: pg_ctl takes a postmaster that is not yet reaped for a running one
    while any(Path(f"/proc/{pid}").exists() for pid in (postmaster, *backends)):
        assert time.monotonic() < deadline, "PostgreSQL's processes did not die"
        time.sleep(0.05)


def test_postgres_killed_mid_import_leaves_nothing_half_written(settings: Settings, demo_backup: Path,
                                                                tmp_path: Path) -> None:
    file = tmp_path / "incidents.csv"
    incidents_csv(file, ROWS)
    with private_cluster(settings) as own:
        backup.restore(own, demo_backup, own.db_name)
        run = import_cli(own, file)
        deadline = time.monotonic() + 300
        while not copying(own):
            assert run.poll() is None, f"the import ended before it wrote: {run.stderr.read()[-2000:]}"
            assert time.monotonic() < deadline, "the import never started writing"
            time.sleep(0.05)
        time.sleep(0.2)  # inside the COPY of 200,000 rows (or the upsert after it)
        crash(int((own.pg_data_dir / "postmaster.pid").read_text().split()[0]))
        _, stderr = run.communicate(timeout=120)
        assert run.returncode != 0, "the import cannot have succeeded with its database killed"
        assert "Traceback" not in stderr[-300:] or "OperationalError" in stderr
        cluster.start(own)  # crash recovery
        assert imported(own) == 0, "a killed import left rows behind"
        with connect(own, autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM overlay_import WHERE source = %s", (SOURCE,)).fetchone()[0] == 0
            assert conn.execute("SELECT ok FROM audit_log_verify()").fetchone()[0] is True
        for attempt in (1, 2):  # the rerun imports everything; a second one changes nothing
            again = import_cli(own, file)
            _, err = again.communicate(timeout=600)
            assert again.returncode == 0, err[-2000:]
            assert imported(own) == ROWS, f"after run {attempt}"
        with connect(own, autocommit=True) as conn:
            duplicates = conn.execute("SELECT count(*) - count(DISTINCT external_id) FROM incident WHERE source = %s",
                                      (SOURCE,)).fetchone()[0]
        assert duplicates == 0


def serve_process(settings: Settings, dbname: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "GEOSERVICE_DB_NAME": dbname, "GEOSERVICE_PG_PORT": str(settings.pg_port)}
    return subprocess.Popen([sys.executable, "-m", "uvicorn", "geoservice.api.app:create_app", "--factory",
                             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_ready(base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("the service did not become ready")


def test_service_killed_during_concurrent_zone_writes_loses_no_acknowledged_write(
        settings: Settings, make_db: Callable[[], str], tokens: dict) -> None:
    dbname = make_db()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    service = serve_process(settings, dbname, port)
    acknowledged: list[str] = []
    attempted: list[str] = []
    stop = threading.Event()

    def writer(n: int) -> None:
        with httpx.Client(base_url=base, headers=bearer(tokens["admin"]), timeout=10) as client:
            i = 0
            while not stop.is_set():
                i += 1
                name = f"Kill {n}-{i}"
                centre = offset(*GOTHERSGADE, -2000 + 300 * (i % 20), 8000 + 300 * n)
                attempted.append(name)
                try:
                    response = client.post("/api/v1/zones", json={
                        "type": "Feature", "geometry": square(*centre, 120),
                        "properties": {"kind": "visitationszone", "name": name, "valid_from": "2027-05-01T16:00",
                                       "valid_to": "2027-05-15T16:00", "decision_ref": f"KILL-{n}-{i}",
                                       "decided_by": "Test", "publish": True}})
                except httpx.HTTPError:
                    continue
                if response.status_code == 201:
                    acknowledged.append(name)

    try:
        wait_ready(base)
        threads = [threading.Thread(target=writer, args=(n,), daemon=True) for n in range(16)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < 150 and time.monotonic() < deadline:
            time.sleep(0.05)
        service.send_signal(signal.SIGKILL)
        service.wait(timeout=10)
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
    finally:
        if service.poll() is None:
            service.kill()
    assert len(acknowledged) >= 150
    with connect(settings, dbname, autocommit=True) as conn:
        stored = {r[0] for r in conn.execute("SELECT name FROM zone WHERE name LIKE 'Kill %'")}
        published = conn.execute("SELECT count(*) FROM zone z JOIN zone_version v ON v.zone_id = z.id "
                                 "WHERE z.name LIKE 'Kill %' AND v.state = 'published'").fetchone()[0]
        chain = conn.execute("SELECT ok FROM audit_log_verify()").fetchone()[0]
    missing = sorted(set(acknowledged) - stored)
    assert not missing, f"acknowledged zones lost: {missing[:10]}"
    assert stored <= set(attempted) and published == len(stored)  # nothing half-made: each has its version
    assert chain is True
    # The service starts again on the same database and takes writes.
    service = serve_process(settings, dbname, port)
    try:
        wait_ready(base)
        again = httpx.post(base + "/api/v1/zones", headers=bearer(tokens["admin"]), timeout=30, json={
            "type": "Feature", "geometry": square(*offset(*GOTHERSGADE, -2500, 7000), 120),
            "properties": {"kind": "visitationszone", "name": "Kill after", "valid_from": "2027-05-01T16:00",
                           "valid_to": "2027-05-15T16:00", "decision_ref": "KILL-AFTER", "publish": True}})
        assert again.status_code == 201, again.text
    finally:
        service.kill()
        service.wait(timeout=10)
