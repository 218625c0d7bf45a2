"""The service survives its database: it starts while PostgreSQL is down and answers 503 problems with
Retry-After (quickly, never a 30 s hang or a 500), becomes ready by itself when the database comes up, and
recovers after a restart or a crash without serving errors from stale pooled connections. Each test runs a
PostgreSQL cluster of its own (restored from `geoservice db backup` of the demo), so stopping it leaves the shared
test cluster alone."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from geoservice import backup, cluster
from geoservice.settings import Settings
from tests.conftest import private_cluster, serving
from tests.helpers import AALBORG_MIDTBY, GOTHERSGADE

pytestmark = pytest.mark.slow

DB_TIMEOUT = 2.0
LOOKUP = {"lat": GOTHERSGADE[1], "lon": GOTHERSGADE[0]}


@pytest.fixture(scope="module")
def own_cluster(settings: Settings, demo_backup: Path) -> Iterator[Settings]:
    with private_cluster(settings, db_timeout=DB_TIMEOUT, db_retry_after=3) as own:
        backup.restore(own, demo_backup, own.db_name)
        yield own


def postmaster_pid(own: Settings) -> int:
    return int((own.pg_data_dir / "postmaster.pid").read_text().split()[0])


@dataclass
class Outcome:
    at: float
    status: int | None  # None: no answer at all (connection dropped, or our client timeout)
    seconds: float
    retry_after: str | None = None
    problem: bool = False


@dataclass
class Load:
    """Clients asking continuously while the database goes away and comes back."""

    base: str
    paths: list[tuple[str, dict]]
    outcomes: list[Outcome] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self, clients: int) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._client, args=(i,), daemon=True) for i in range(clients)]
        for thread in threads:
            thread.start()
        return threads

    def _client(self, i: int) -> None:
        with httpx.Client(base_url=self.base, timeout=20) as client:
            n = 0
            while not self.stop.is_set():
                path, params = self.paths[(i + n) % len(self.paths)]
                n += 1
                start = time.monotonic()
                try:
                    response = client.get(path, params=params)
                    self.outcomes.append(Outcome(start, response.status_code, time.monotonic() - start,
                                                 response.headers.get("retry-after"),
                                                 response.headers.get("content-type", "").startswith(
                                                     "application/problem+json")))
                except httpx.HTTPError:
                    self.outcomes.append(Outcome(start, None, time.monotonic() - start))
                time.sleep(0.01)

    def since(self, moment: float) -> list[Outcome]:
        return [o for o in list(self.outcomes) if o.at >= moment]


def wait_until(predicate, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s")


def test_starts_while_the_database_is_down_and_recovers_by_itself(own_cluster: Settings) -> None:
    cluster.stop(own_cluster)
    try:
        with serving(own_cluster, own_cluster.db_name) as base, httpx.Client(base_url=base, timeout=30) as client:
            assert client.get("/healthz").status_code == 200  # alive without a database
            ready = client.get("/readyz")
            assert ready.status_code == 503
            assert ready.headers["content-type"] == "application/problem+json"
            assert ready.json()["checks"]["database"]["ok"] is False
            for path, params in (("/api/v1/lookup", LOOKUP), ("/api/v1/search", {"q": "Gothersgade"}),
                                 ("/api/v1/zones", {})):
                started = time.monotonic()
                answer = client.get(path, params=params)
                assert time.monotonic() - started < DB_TIMEOUT + 2, path
                assert answer.status_code == 503, (path, answer.text)
                assert answer.headers["retry-after"] == "3"
                assert answer.json()["type"].endswith("database-unavailable")
            cluster.start(own_cluster)
            took = wait_until(lambda: client.get("/readyz").status_code == 200, 20)
            body = client.get("/readyz").json()
            assert body["checks"]["database"]["server"] == "primary"
            assert body["checks"]["migrations"] == {**body["checks"]["migrations"], "ok": True, "pending": []}
            lookups = [client.get("/api/v1/lookup", params=LOOKUP).status_code for _ in range(15)]
            assert lookups == [200] * 15
            print(f"ready {took:.1f} s after the database started")
    finally:
        cluster.start(own_cluster)


@pytest.mark.parametrize("how", ["restart", "crash"])
def test_restart_and_crash_under_load(own_cluster: Settings, how: str) -> None:
    """Lookups, searches and public zones from 8 clients; the database is stopped for ~5 s (or killed with
    SIGKILL and started again). While it is away every answer is a 503 problem with Retry-After within the
    configured timeout; afterwards every answer is right again within seconds, with no stale connection errors."""
    cluster.start(own_cluster)
    paths = [("/api/v1/lookup", LOOKUP), ("/api/v1/lookup", {"lat": AALBORG_MIDTBY[1], "lon": AALBORG_MIDTBY[0]}),
             ("/api/v1/search", {"q": "Nørrebro"}), ("/api/v1/zones", {"kind": "nattelivszone"})]
    with serving(own_cluster, own_cluster.db_name) as base:
        wait_until(lambda: httpx.get(base + "/readyz", timeout=5).status_code == 200, 30)
        load = Load(base, paths)
        threads = load.run(8)
        wait_until(lambda: len(load.outcomes) >= 20, 30)
        assert {o.status for o in load.outcomes} == {200}
        down_at = time.monotonic()
        if how == "restart":
            cluster.stop(own_cluster)
        else:
            os.kill(postmaster_pid(own_cluster), signal.SIGKILL)
        time.sleep(5)
        cluster.start(own_cluster)  # crash recovery included
        up_at = time.monotonic()
        recovered = wait_until(lambda: any(o.status == 200 for o in load.since(time.monotonic() - 0.5)), 30)
        time.sleep(3)
        load.stop.set()
        for thread in threads:
            thread.join(timeout=30)
    during = load.since(down_at)
    statuses = {o.status for o in during}
    assert statuses <= {200, 503}, f"only 200 or 503 while the database was away: {statuses}"
    unavailable = [o for o in during if o.status == 503]
    assert unavailable, "the outage was not seen"
    assert all(o.retry_after == "3" and o.problem for o in unavailable)
    assert max(o.seconds for o in during) < DB_TIMEOUT + 3, "a request hung"
    # Once a request succeeded after the restart, the stale pooled connections are gone: no more errors.
    first_ok = min(o.at for o in during if o.status == 200 and o.at >= up_at)
    after = [o for o in load.since(first_ok + 1.0)]
    assert after and all(o.status == 200 for o in after), [o.status for o in after][:20]
    print(f"{how}: {len(unavailable)} answers 503 while down; answering again {recovered:.1f} s after the "
          f"database was up ({up_at - down_at:.1f} s away)")
