"""Backups proven by restoring them: pg_dump's custom format, with the audit chain's head beside it.

`backup` exports a snapshot, reads the audit chain's head hash in that snapshot (audit_log_verify(), migration
0011) and runs pg_dump on the same snapshot, so the hash written to `FILE.json` is exactly the head of the rows in
the dump. `restore` loads a dump into an empty database in one transaction, walks the restored chain again and
compares its head with the one stored at backup time: a dump that was truncated, edited or mixed up with another
one does not pass.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from geoservice import cluster, timeutil
from geoservice.db import connect
from geoservice.errors import Conflict, GeoserviceError, NotFound
from geoservice.settings import Settings

AUDIT_HEAD = "SELECT ok, rows_checked, head_hash, problem FROM audit_log_verify()"
# Tables, views and sequences of our own (an extension's, such as pg_auto_failover's pg_stat_statements, do not
# make a database "not empty").
USER_RELATIONS = """
    SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%%'
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                                  AND d.deptype = 'e')
"""


@dataclass(frozen=True)
class AuditHead:
    ok: bool
    rows: int
    head_hash: str | None
    problem: str | None = None


@dataclass(frozen=True)
class BackupInfo:
    file: str
    database: str
    created_at: str
    audit: AuditHead
    migrations: list[str]

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2) + "\n"


def sidecar(file: Path) -> Path:
    return file.with_name(file.name + ".json")


def _binary(settings: Settings, name: str) -> str:
    return str(cluster.bin_dir(settings) / name)


def _dbname(settings: Settings, dbname: str | None) -> str:
    from psycopg.conninfo import conninfo_to_dict

    return str(conninfo_to_dict(settings.conninfo(dbname)).get("dbname"))


def audit_head(conn: Any) -> AuditHead:
    row = conn.execute(AUDIT_HEAD).fetchone()
    return AuditHead(ok=bool(row[0]), rows=int(row[1]), head_hash=row[2], problem=row[3])


def backup(settings: Settings, file: Path, dbname: str | None = None) -> BackupInfo:
    """Dump the database to `file` (custom format) and write `file.json` with the audit head of the same
    snapshot."""
    file = file.resolve()
    with connect(settings, dbname) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        head = audit_head(conn)
        migrations = [r[0] for r in conn.execute(
            "SELECT migration_id FROM _yoyo_migration ORDER BY migration_id").fetchall()]
        # The exporting transaction stays open while pg_dump reads the snapshot.
        result = subprocess.run(
            [_binary(settings, "pg_dump"), "--format=custom", f"--snapshot={snapshot}", "--no-owner",
             f"--file={file}", f"--dbname={settings.conninfo(dbname)}"],
            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        file.unlink(missing_ok=True)
        raise GeoserviceError(f"pg_dump failed: {result.stderr.strip()}")
    info = BackupInfo(file=file.name, database=_dbname(settings, dbname),
                      created_at=timeutil.isoformat_local(timeutil.now()), audit=head, migrations=migrations)
    sidecar(file).write_text(info.to_json(), encoding="utf-8")
    return info


def read_info(file: Path) -> BackupInfo:
    path = sidecar(file)
    if not path.exists():
        raise NotFound(f"{path} is missing: it holds the audit head the restore is checked against")
    raw = json.loads(path.read_text(encoding="utf-8"))
    return BackupInfo(**{**raw, "audit": AuditHead(**raw["audit"])})


@dataclass(frozen=True)
class RestoreResult:
    database: str
    expected: AuditHead
    restored: AuditHead

    @property
    def verified(self) -> bool:
        return self.restored.ok and self.restored.head_hash == self.expected.head_hash \
            and self.restored.rows == self.expected.rows


def restore(settings: Settings, file: Path, dbname: str | None = None) -> RestoreResult:
    """Restore `file` into an empty database (created when missing), then verify the audit chain and compare
    its head with the one recorded at backup time."""
    if not file.exists():
        raise NotFound(f"no backup at {file}")
    expected = read_info(file).audit
    name = _dbname(settings, dbname)
    cluster.ensure_database(settings, name)
    with connect(settings, name, autocommit=True) as conn:
        if conn.execute(USER_RELATIONS).fetchone()[0]:
            raise Conflict(f"database {name!r} is not empty; restore into a new or empty database")
    result = subprocess.run(
        [_binary(settings, "pg_restore"), "--single-transaction", "--exit-on-error", "--no-owner",
         f"--dbname={settings.conninfo(name)}", str(file)],
        capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise GeoserviceError(f"pg_restore failed (nothing was restored): {result.stderr.strip()}")
    with connect(settings, name, autocommit=True) as conn:
        restored = audit_head(conn)
    return RestoreResult(database=name, expected=expected, restored=restored)
