"""Backups proven by restoring them: `geoservice db backup` of the demo database, `geoservice db restore` into
another one, then every public answer, the ETags and the audit chain compared; a restore refuses a database that
is not empty and a dump whose recorded audit head does not match."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from geoservice.api.app import create_app
from geoservice.settings import Settings
from tests.conftest import bearer
from tests.helpers import AALBORG_MIDTBY, AMAGER_FAELLED, EXCLUSION_CENTRE, GOTHERSGADE, SYDHAVNEN_INTERNAL

pytestmark = pytest.mark.slow

POINTS = [GOTHERSGADE, AALBORG_MIDTBY, SYDHAVNEN_INTERNAL, EXCLUSION_CENTRE, AMAGER_FAELLED,
          (10.2039, 56.1629), (10.3883, 55.3959), (14.9, 55.1)]
MOMENTS = [None, "2025-06-06T12:00", "2025-09-01T16:00", "2026-01-10T01:30"]


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "geoservice.cli", "db", *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=600)


def public_urls(client: TestClient) -> list[str]:
    urls = ["/api/v1/kinds", "/api/v1/config", "/api/v1/sectors"]
    urls += [f"/api/v1/reference-areas?type={t}" for t in ("politikreds", "kommune", "bydel")]
    for at in MOMENTS:
        suffix = f"&at={at}" if at else ""
        urls.append(f"/api/v1/zones?limit=1000{suffix}")
        urls += [f"/api/v1/lookup?lat={lat}&lon={lon}{suffix}" for lon, lat in POINTS]
    urls.append("/api/v1/zones?limit=1000&published_as_of=2025-07-01")
    zone_ids = [f["id"] for f in client.get("/api/v1/zones?limit=1000").json()["features"]]
    urls += [f"/api/v1/zones/{i}" for i in zone_ids]
    urls += [f"/api/v1/sectors/{f['id']}" for f in client.get("/api/v1/sectors").json()["features"]]
    urls += [f"/api/v1/search?q={q}" for q in ("Gothersgade", "Aalborg", "Nørrebro", "55.6815, 12.5795", "Odense")]
    return urls


def comparable(body: object, drop: frozenset[str]) -> object:
    """The answer without the moment it was generated (and, for "now", the moment it was asked)."""
    if isinstance(body, dict):
        return {k: comparable(v, drop) for k, v in body.items() if k not in drop}
    if isinstance(body, list):
        return [comparable(v, drop) for v in body]
    return body


def test_backup_restore_gives_the_same_service(settings: Settings, make_db: Callable[[], str], tmp_path: Path,
                                               tokens: dict) -> None:
    source = make_db()
    target = source + "_restored"
    dump = tmp_path / "demo.dump"
    made = cli({"GEOSERVICE_DB_NAME": source}, "backup", str(dump))
    assert made.returncode == 0, made.stderr
    info = json.loads((tmp_path / "demo.dump.json").read_text())
    assert info["audit"]["ok"] is True and info["audit"]["head_hash"] in made.stdout
    restored = cli({}, "restore", str(dump), "--dbname", target)
    assert restored.returncode == 0, restored.stderr
    assert "verified" in restored.stdout and info["audit"]["head_hash"] in restored.stdout
    try:
        with TestClient(create_app(settings, dbname=source)) as old, \
                TestClient(create_app(settings, dbname=target)) as new:
            urls = public_urls(old)
            assert len(urls) > 80
            for url in urls:
                a, b = old.get(url), new.get(url)
                assert (a.status_code, a.headers.get("content-type")) == (b.status_code,
                                                                         b.headers.get("content-type")), url
                drop = frozenset({"timeStamp"} | (set() if re.search(r"[?&]at=", url) else {"at"}))
                assert comparable(a.json(), drop) == comparable(b.json(), drop), url
                # Same data, same version: the public ETags survive a restore, so caches stay valid.
                assert a.headers.get("etag") == b.headers.get("etag"), url
            legal = bearer(tokens["legal"])
            chain_old = old.get("/api/v1/audit/verify", headers=legal).json()
            chain_new = new.get("/api/v1/audit/verify", headers=legal).json()
            # The moment of each check differs by the time between the two calls; the chain itself must not.
            chain_old.pop("checked_at"), chain_new.pop("checked_at")
            assert chain_new["ok"] is True and chain_new == chain_old
            assert chain_new["head_hash"] == info["audit"]["head_hash"]
        # A second restore into the now filled database is refused and changes nothing.
        again = cli({}, "restore", str(dump), "--dbname", target)
        assert again.returncode == 2 and "not empty" in again.stderr
        # A dump that does not end where its record says (mixed up, or the record edited) does not verify.
        info["audit"]["head_hash"] = "0" * 64
        (tmp_path / "demo.dump.json").write_text(json.dumps(info))
        mismatch = cli({}, "restore", str(dump), "--dbname", target + "_x")
        assert mismatch.returncode == 1 and "does not verify" in mismatch.stderr
    finally:
        from geoservice import cluster

        for name in (target, target + "_x"):
            cluster.drop_database(settings, name)
