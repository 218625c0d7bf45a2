"""Real clients read the register as OGC API – Features: GDAL's OAPIF driver (through pyogrio) and OWSLib,
against the service in its own process (pyogrio holds the GIL while GDAL fetches, so a server thread in the
test process could never answer)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pyogrio
import pytest

from geoservice import safe_files
from geoservice.settings import Settings

START_AALBORG = "2025-09-01T16:00:00+02:00"
AALBORG_NAMES = {"Visitationszone Aalborg Midtby", "Visitationszone Aalborg Øst", "Visitationszone Vejgaard"}
# in force at the same moment: the real visitation zone of Vollsmose (Fyns Politi, 19 August - 3 September 2025)
# from the demo's visitation-zone history
IN_FORCE_AT_START = AALBORG_NAMES | {"Vollsmose"}


@pytest.fixture(scope="module")
def gdal_may_connect() -> Iterator[None]:
    """This process is GDAL's client here. Loading the demo imported files through geoservice.safe_files, which
    turns GDAL's network off for the whole process (as the server needs); the client needs it on, for this module
    only."""
    pyogrio.set_gdal_config_options({name: None for name in safe_files.GDAL_OPTIONS})
    try:
        yield
    finally:
        safe_files.disable_network()


@pytest.fixture(scope="module")
def ogc(settings: Settings, db_name: str, gdal_may_connect: None) -> Iterator[str]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "GEOSERVICE_DB_NAME": db_name, "GEOSERVICE_PG_PORT": str(settings.pg_port)}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "geoservice.api.app:create_app", "--factory",
                             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"], env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(base + "/ogc", timeout=2).read()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("the service did not start")
            time.sleep(0.2)
    try:
        yield base + "/ogc"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_gdal_lists_layers_and_reads_25832_and_a_datetime_filter(ogc: str) -> None:
    layers = {name for name, _ in pyogrio.list_layers("OAPIF:" + ogc)}
    assert {"zones", "nattelivszone", "visitationszone", "kommuner", "sectors"} <= layers
    assert "opholdsforbud" not in layers  # the public never sees § 6 g, not even as an empty layer
    zones = pyogrio.read_dataframe("OAPIF:" + ogc, layer="zones")
    assert zones.crs.to_epsg() == 25832  # GDAL asks for the storage CRS, and gets metres
    assert zones.total_bounds[0] > 400_000 and zones.total_bounds[1] > 6_000_000
    assert {"virkningFra", "virkningTil", "registreringFra", "kind", "name"} <= set(zones.columns)
    # GDAL turns a filter on the validity start and end into datetime parameters
    then = pyogrio.read_dataframe(
        "OAPIF:" + ogc, layer="zones",
        where="virkningFra <= '2025/09/01 14:00:00' AND virkningTil > '2025/09/01 14:00:00'")
    assert set(then["name"]) >= AALBORG_NAMES
    assert not {"Aldersrogade", "Blågården"} & set(then["name"])  # SUB/watch editions of 2026 were not yet in force
    kommuner = pyogrio.read_dataframe("OAPIF:" + ogc, layer="kommuner", CRS="EPSG:4326")
    assert len(kommuner) >= 98 and "Aalborg" in set(kommuner["name"])


def test_owslib_features(ogc: str) -> None:
    from owslib.ogcapi.features import Features

    api = Features(ogc)
    assert any(c.endswith("/conf/core") for c in api.conformance()["conformsTo"])
    assert "visitationszone" in {c["id"] for c in api.collections()["collections"]}
    items = api.collection_items("visitationszone", datetime_=START_AALBORG, limit=50)
    assert {f["properties"]["name"] for f in items["features"]} == IN_FORCE_AT_START
    now = api.collection_items("zones", limit=1)["features"][0]
    one = api.collection_item("zones", str(now["id"]))
    assert one["type"] == "Feature" and one["id"] == now["id"]
    assert "virkningFra" in api.collection_queryables("zones")["properties"]
