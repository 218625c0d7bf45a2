"""High availability on pg_auto_failover: a monitor, a primary and a synchronous standby (geoservice/ha.py), the
service pointed at them by a multi-host connection string (writes: target_session_attrs=read-write; public reads:
prefer-standby). Writes (lifecycle actions with decision references, through the API) and lookups run
continuously while the primary's postgres is killed with SIGKILL. Every write that was acknowledged is on the new
primary, the audit chain verifies, lookups fail for at most a few seconds, and writes resume by themselves within
30 s without restarting the service. The figures are written to test-artifacts/failover.json."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest

from geoservice import backup, ha
from geoservice.settings import Settings
from tests.conftest import bearer, free_port, serving
from tests.helpers import GOTHERSGADE, offset, square

pytestmark = pytest.mark.slow

WRITERS = 3
LOOKUP_CLIENTS = 4
MAX_LOOKUP_OUTAGE_S = 5.0
MAX_WRITE_OUTAGE_S = 30.0


@pytest.fixture(scope="module")
def formation(settings: Settings, demo_backup: Path) -> Iterator[tuple[ha.Formation, Settings]]:
    if not ha.installed():
        pytest.fail("pg_autoctl is missing: install postgresql-15-auto-failover (./dev test does)")
    ports = [free_port() for _ in range(3)]
    root = Path(tempfile.gettempdir()) / f"geoservice-ha-{uuid.uuid4().hex[:8]}"
    f = ha.Formation(root, ports[0], (ports[1], ports[2]))
    try:
        ha.start(settings, f)
        own = settings.model_copy(update={
            "database_url": f.database_url("read-write"), "read_database_url": f.database_url("prefer-standby"),
            "db_timeout": 2.0, "db_retry_after": 2})
        backup.restore(own, demo_backup)
        yield f, own
    finally:
        ha.wipe(settings, f)


@dataclass
class Log:
    writes: list[tuple[float, str, str, int | None]] = field(default_factory=list)  # (t, action, ref, status)
    lookups: list[tuple[float, int | None]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def acknowledged(self) -> list[str]:
        return [ref for _, _, ref, status in self.writes if status is not None and 200 <= status < 300]


def writer(base: str, token: str, n: int, log: Log) -> None:
    """Draft a visitation zone, publish it with a decision reference, extend it with another: again and again."""
    headers = bearer(token)
    centre = offset(*GOTHERSGADE, 3000 + 400 * n, -14000)
    with httpx.Client(base_url=base, timeout=20, headers=headers) as client:
        i = 0
        while not log.stop.is_set():
            i += 1
            ref = f"FO-{n}-{i}"

            def post(action: str, path: str, body: dict, ref: str = ref) -> httpx.Response | None:
                start = time.monotonic()
                try:
                    response = client.post(path, json=body)
                except httpx.HTTPError:
                    log.writes.append((start, action, f"{ref}-{action}", None))
                    return None
                log.writes.append((start, action, f"{ref}-{action}", response.status_code))
                return response

            created = post("create", "/api/v1/zones", {"type": "Feature", "geometry": square(*centre, 150),
                           "properties": {"kind": "visitationszone", "name": f"Failover {ref}",
                                          "valid_from": "2027-03-01T16:00", "valid_to": "2027-03-15T16:00",
                                          "decision_ref": f"{ref}-create", "decided_by": "Test",
                                          "publish": False}})
            if created is None or created.status_code != 201:
                time.sleep(0.2)
                continue
            zone_id = created.json()["id"]
            published = post("publish", f"/api/v1/zones/{zone_id}/publish", {"decision_ref": f"{ref}-publish"})
            if published is None or published.status_code != 200:
                time.sleep(0.2)
                continue
            post("extend", f"/api/v1/zones/{zone_id}/extend",
                 {"valid_to": "2027-03-29T16:00", "decision_ref": f"{ref}-extend"})


def looker(base: str, log: Log) -> None:
    with httpx.Client(base_url=base, timeout=20) as client:
        while not log.stop.is_set():
            start = time.monotonic()
            try:
                status = client.get("/api/v1/lookup", params={"lat": GOTHERSGADE[1], "lon": GOTHERSGADE[0]}
                                    ).status_code
            except httpx.HTTPError:
                status = None
            log.lookups.append((start, status))
            time.sleep(0.02)


def outage(events: list[tuple[float, int | None]], since: float) -> float:
    """Seconds from the first failure after `since` to the last one (0 when none failed)."""
    failed = [t for t, status in events if t >= since and status != 200]
    return max(failed) - min(failed) if failed else 0.0


def test_failover_loses_no_acknowledged_write(formation: tuple[ha.Formation, Settings], tokens: dict,
                                              artifacts: Path) -> None:
    f, own = formation
    log = Log()
    with serving(own, None) as base:  # type: ignore[arg-type]
        assert httpx.get(base + "/readyz", timeout=10).status_code == 200
        threads = [threading.Thread(target=writer, args=(base, tokens["admin"], i, log), daemon=True)
                   for i in range(WRITERS)]
        threads += [threading.Thread(target=looker, args=(base, log), daemon=True) for _ in range(LOOKUP_CLIENTS)]
        for thread in threads:
            thread.start()
        time.sleep(6)
        assert log.acknowledged(), f"no write succeeded before the failover: {log.writes[-5:]}"
        old_primary = ha.primary_port(f, own)
        assert old_primary is not None
        killed_at = time.monotonic()
        os.kill(ha.postgres_pid(f, old_primary), signal.SIGKILL)
        deadline = killed_at + 90
        while time.monotonic() < deadline and not any(
                t > killed_at + 0.5 and s is not None and 200 <= s < 300 for t, _, _, s in list(log.writes)):
            time.sleep(0.2)
        time.sleep(4)  # keep going a little on the new primary
        log.stop.set()
        for thread in threads:
            thread.join(timeout=30)
        verify = httpx.get(base + "/api/v1/audit/verify", headers=bearer(tokens["legal"]), timeout=30)
    new_primary = ha.wait_for_primary(f, own, 60)  # settled: the old node may be rejoining as its standby
    first_ok_after = min((t for t, _, _, s in log.writes if t > killed_at + 0.5 and s and 200 <= s < 300),
                         default=None)
    assert first_ok_after is not None, "writes never resumed"
    write_outage = first_ok_after - killed_at
    lookup_outage = outage(log.lookups, killed_at)
    failed_writes = [w for w in log.writes if w[0] >= killed_at and not (w[3] and 200 <= w[3] < 300)]
    with psycopg.connect(f"host=127.0.0.1 port={new_primary} user=postgres dbname={f.dbname}") as conn:
        # publish and extend leave their decision reference on a version; a created draft is known by its name
        # (publishing replaces the draft's reference)
        stored = {r[0] for r in conn.execute("SELECT decision_ref FROM zone_version WHERE decision_ref LIKE 'FO-%'")}
        stored |= {r[0].removeprefix("Failover ") + "-create"
                   for r in conn.execute("SELECT name FROM zone WHERE name LIKE 'Failover FO-%'")}
        audit = conn.execute("SELECT ok, rows_checked FROM audit_log_verify()").fetchone()
        in_recovery = conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]
    acknowledged = log.acknowledged()
    missing = [ref for ref in acknowledged if ref not in stored]
    figures = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "killed_primary_port": old_primary, "new_primary_port": new_primary,
        "write_unavailability_s": round(write_outage, 2),
        "writes_acknowledged": len(acknowledged), "acknowledged_lost": len(missing),
        "writes_failed_after_kill": len(failed_writes),
        "write_statuses_after_kill": sorted({str(w[3]) for w in failed_writes}),
        "lookups": len(log.lookups), "lookups_failed": sum(1 for _, s in log.lookups if s != 200),
        "lookup_outage_s": round(lookup_outage, 2),
        "audit_rows": audit[1],
    }
    (artifacts / "failover.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))
    assert new_primary != old_primary and not in_recovery
    assert not missing, f"acknowledged writes lost in the failover: {missing[:10]}"
    assert audit[0] is True
    assert verify.status_code == 200 and verify.json()["ok"] is True
    assert write_outage < MAX_WRITE_OUTAGE_S
    assert lookup_outage <= MAX_LOOKUP_OUTAGE_S, figures
    assert all(s in (None, 503) or 200 <= s < 500 for _, _, _, s in log.writes)
    assert all(s in (200, 503, None) for _, s in log.lookups)
