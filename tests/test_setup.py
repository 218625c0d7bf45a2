"""The two README commands, CI, docker-compose and the external-database switch."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import yaml

from geoservice.settings import REPO_ROOT, Settings


def test_readme_gives_the_run_and_test_commands_and_ci_runs_the_test_one() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert "./dev run" in readme and "./dev test" in readme
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert re.search(r"^exec \./dev test$", ci, re.M)


def test_local_cluster_data_is_git_ignored() -> None:
    ignored = (REPO_ROOT / ".gitignore").read_text().split()
    assert {"/.pgdata/", "/.venv/", "/web/node_modules/", "/test-artifacts/"} <= set(ignored)


def test_docker_compose_runs_postgis_and_the_api_on_an_external_database() -> None:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    db, api = compose["services"]["db"], compose["services"]["api"]
    assert db["image"].startswith("postgis/postgis:15")
    url = api["environment"]["GEOSERVICE_DATABASE_URL"]
    assert url.startswith("postgresql://") and "@db:5432/" in url
    assert api["depends_on"]["db"]["condition"] == "service_healthy"
    assert "geoservice db migrate" in " ".join(api["command"])
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    for src in re.findall(r"^COPY (?!--)(\S+)", dockerfile, re.M):
        assert (REPO_ROOT / src).exists(), f"Dockerfile copies missing {src}"


def test_database_url_switches_to_an_external_postgis(settings: Settings, db_name: str) -> None:
    """Run the CLI with GEOSERVICE_DATABASE_URL pointing at a database as a docker-compose deployment would;
    the local cluster is then not touched."""
    url = f"postgresql://geoservice@127.0.0.1:{settings.pg_port}/{db_name}"
    if settings.database_url:
        url = settings.conninfo(db_name)
    env = {**os.environ, "GEOSERVICE_DATABASE_URL": url, "GEOSERVICE_PG_DATA_DIR": "/nonexistent/never-used"}
    start = subprocess.run([sys.executable, "-m", "geoservice.cli", "cluster", "start"], env=env,
                           capture_output=True, text=True, timeout=60)
    assert start.returncode == 0 and "external database" in start.stdout
    listing = subprocess.run([sys.executable, "-m", "geoservice.cli", "zones", "list", "--kind", "sub_omraade"],
                             env=env, capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0, listing.stderr
    assert "Mjølnerparken" in listing.stdout
    assert "dbname=other" in Settings(database_url=url).conninfo("other")
