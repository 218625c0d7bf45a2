"""Lookup latency and throughput over HTTP against the floor: the same PostGIS query sent straight from Python.

Latency: sequential requests on one keep-alive connection (HTTP) versus sequential executions on one psycopg
connection (floor), over the same random points in Copenhagen at the same moment.
Throughput: wrk with 16 connections against one server process, versus the same query from 16 concurrent
psycopg connections (floor).
"""

from __future__ import annotations

import asyncio
import http.client
import re
import subprocess
import tempfile
import time
from urllib.parse import urlencode, urlparse

import numpy as np
import psycopg

from bench.common import have_wrk, percentiles, server
from geoservice.db import SESSION_OPTIONS, connect
from geoservice.settings import get_settings
from geoservice.store.reference import LOOKUP

AT = "2026-05-02T01:30:00+02:00"
BOX = (12.50, 55.64, 12.62, 55.72)  # Copenhagen
N_LATENCY = 3000
CONCURRENCY = 16
DURATION_S = 15

WRK_SCRIPT = """
math.randomseed(42)
request = function()
  local lat = %(y0)f + math.random() * %(dy)f
  local lon = %(x0)f + math.random() * %(dx)f
  return wrk.format("GET", string.format("/api/v1/lookup?lat=%%.6f&lon=%%.6f&at=%(at)s", lat, lon))
end
"""


def points(n: int, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = BOX
    return np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)])


def params(lon: float, lat: float) -> dict:
    return {"lon": lon, "lat": lat, "t": AT, "visibilities": ["public"], "restricted_kreds": None}


def floor_latency(pts: np.ndarray) -> list[float]:
    sql = LOOKUP
    samples = []
    with connect(get_settings(), autocommit=True) as conn:
        for lon, lat in pts[:200]:  # warm-up, and let psycopg prepare the statement
            conn.execute(sql, params(lon, lat)).fetchone()
        for lon, lat in pts:
            start = time.perf_counter()
            conn.execute(sql, params(float(lon), float(lat))).fetchone()
            samples.append(time.perf_counter() - start)
    return samples


def http_latency(base: str, pts: np.ndarray) -> list[float]:
    url = urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port)
    samples = []

    def get(lon: float, lat: float) -> None:
        conn.request("GET", "/api/v1/lookup?" + urlencode({"lat": lat, "lon": lon, "at": AT}))
        response = conn.getresponse()
        body = response.read()
        assert response.status == 200, body

    for lon, lat in pts[:200]:
        get(lon, lat)
    for lon, lat in pts:
        start = time.perf_counter()
        get(float(lon), float(lat))
        samples.append(time.perf_counter() - start)
    conn.close()
    return samples


async def floor_throughput(duration: float) -> float:
    sql = LOOKUP
    settings = get_settings()
    pts = points(100_000, seed=11)
    done = 0
    stop_at = time.perf_counter() + duration

    async def worker(offset: int) -> None:
        nonlocal done
        conn = await psycopg.AsyncConnection.connect(settings.conninfo(), autocommit=True, options=SESSION_OPTIONS)
        i = offset
        async with conn:
            while time.perf_counter() < stop_at:
                lon, lat = pts[i % len(pts)]
                await (await conn.execute(sql, params(float(lon), float(lat)))).fetchone()
                done += 1
                i += CONCURRENCY
    start = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(CONCURRENCY)))
    return done / (time.perf_counter() - start)


def http_latency_wrk(base: str, duration: int) -> dict:
    """Sequential latency (one connection) measured by wrk, a C client that adds almost nothing itself."""
    return _wrk(base, duration, connections=1)


def http_throughput(base: str, duration: int) -> dict:
    return _wrk(base, duration, connections=CONCURRENCY)


def _wrk(base: str, duration: int, connections: int) -> dict:
    x0, y0, x1, y1 = BOX
    script = WRK_SCRIPT % {"x0": x0, "y0": y0, "dx": x1 - x0, "dy": y1 - y0, "at": AT.replace("+", "%%2B")}
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as fh:
        fh.write(script)
        fh.flush()
        threads = "-t1" if connections == 1 else "-t2"
        out = subprocess.run(["wrk", threads, f"-c{connections}", f"-d{duration}s", "-s", fh.name, "--latency", base],
                             capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    unit = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {"requests_per_s": rps, "non_2xx": int(errors.group(1)) if errors else 0, "connections": connections,
            "p50_ms": round(float(p50.group(1)) * unit[p50.group(2)], 3),
            "p99_ms": round(float(p99.group(1)) * unit[p99.group(2)], 3)}


def run() -> dict:
    pts = points(N_LATENCY)
    floor = percentiles(floor_latency(pts))
    with server() as base:
        python_client = percentiles(http_latency(base, pts))
        wrk_latency = http_latency_wrk(base, DURATION_S) if have_wrk() else None
        throughput = http_throughput(base, DURATION_S) if have_wrk() else None
    # The endpoint's latency: from wrk when installed (a C client), else from Python's http.client.
    endpoint = ({"n": None, "p50_ms": wrk_latency["p50_ms"], "p99_ms": wrk_latency["p99_ms"], "client": "wrk -c1"}
                if wrk_latency else {**python_client, "client": "http.client"})
    floor_rps = asyncio.run(floor_throughput(DURATION_S))
    result = {
        "benchmark": "lookup",
        "at": AT,
        "latency_floor_psycopg": floor,
        "latency_http_endpoint": endpoint,
        "latency_http_python_client": python_client,
        "latency_ratio_p50": round(endpoint["p50_ms"] / floor["p50_ms"], 2),
        "latency_ratio_p99": round(endpoint["p99_ms"] / floor["p99_ms"], 2),
        "throughput_floor_psycopg_per_s": round(floor_rps, 1),
        "throughput_http_wrk": throughput,
        "targets": {"ratio_p50_max": 2.0, "http_rps_min": 500},
    }
    if throughput:
        result["throughput_ratio"] = round(floor_rps / throughput["requests_per_s"], 2)
    return result


def report(result: dict) -> str:
    f, e = result["latency_floor_psycopg"], result["latency_http_endpoint"]
    lines = [
        "lookup: GET /api/v1/lookup vs the same SQL straight from psycopg",
        f"  latency  floor  p50 {f['p50_ms']:.2f} ms  p99 {f['p99_ms']:.2f} ms   (n={f['n']})",
        f"  latency  HTTP   p50 {e['p50_ms']:.2f} ms  p99 {e['p99_ms']:.2f} ms   ({e['client']}) "
        f"ratio p50 {result['latency_ratio_p50']}x, p99 {result['latency_ratio_p99']}x (target <= 2x)",
        f"  latency  HTTP   p50 {result['latency_http_python_client']['p50_ms']:.2f} ms with Python's http.client",
        f"  throughput floor {result['throughput_floor_psycopg_per_s']:.0f} queries/s ({CONCURRENCY} connections)",
    ]
    t = result["throughput_http_wrk"]
    if t:
        lines.append(f"  throughput HTTP  {t['requests_per_s']:.0f} requests/s, one server process, wrk "
                     f"{CONCURRENCY} connections, p50 {t['p50_ms']:.1f} ms p99 {t['p99_ms']:.1f} ms, "
                     f"non-2xx {t['non_2xx']} (target >= 500/s)")
    else:
        lines.append("  throughput HTTP  skipped: wrk is not installed (apt-get install wrk)")
    return "\n".join(lines)
