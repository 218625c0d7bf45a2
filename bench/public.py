"""The public side under a news spike: wrk with 200 connections against `--workers 2`.

- mixed public traffic (the page, its assets, zones, kinds, config, reference areas, lookups at random points,
  searches) from revalidating clients (If-None-Match with the ETags they already hold, as returning browsers and
  a CDN do), against the same mix from clients that hold nothing (every answer in full, compressed);
- `/api/v1/zones` for the public at the current moment (what the map loads), against the same request with a
  staff token in the same run (rendered per request: the path every public request took before caching).
Targets (issue 11): mixed >= 2,500 requests/s with p99 < 300 ms and no timeouts; public zones >= 1,500/s.
The load generator shares the two cores with the server and PostgreSQL.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import urllib.request

from bench.common import have_wrk, server
from geoservice.access import new_token
from geoservice.db import connect
from geoservice.settings import get_settings
from geoservice.store import users

CONNECTIONS = 200
DURATION_S = 20
WORKERS = 2
ZONES = "/api/v1/zones?limit=1000&simplify=1.2"
BOX = (12.50, 55.64, 12.62, 55.72)  # Copenhagen
SEARCHES = ["Gothersgade", "Nørrebro", "Vesterbro", "Christiania", "Aalborg", "Istedgade"]

# One visit's requests, by weight. LOOKUP and SEARCH are expanded by the script (random point, query).
MIX = [("/", 8), ("ASSETS", 22), (ZONES, 20), ("/api/v1/kinds", 5), ("/api/v1/config", 5),
       ("/api/v1/reference-areas?type=politikreds&simplify=500", 5), ("LOOKUP", 20), ("SEARCH", 15)]

WRK_SCRIPT = """
math.randomseed(%(seed)d)
local paths = {%(paths)s}
local etags = {%(etags)s}
local searches = {%(searches)s}
local revalidate = %(revalidate)s
request = function()
  local path = paths[math.random(#paths)]
  if path == "LOOKUP" then
    path = string.format("/api/v1/lookup?lat=%%.6f&lon=%%.6f", %(y0)f + math.random() * %(dy)f,
                         %(x0)f + math.random() * %(dx)f)
  elseif path == "SEARCH" then
    path = "/api/v1/search?q=" .. searches[math.random(#searches)]
  end
  local headers = {["Accept-Encoding"] = "br, gzip"}
  if revalidate and etags[path] then headers["If-None-Match"] = etags[path] end
  return wrk.format("GET", path, headers)
end
"""


def _lua_list(items: list[str]) -> str:
    return ", ".join(f'"{i}"' for i in items)


def _assets(base: str) -> list[str]:
    page = urllib.request.urlopen(base + "/").read().decode()
    return re.findall(r'(?:src|href)="(/(?:static|vendor)/[^"]+)"', page)


def _etag(base: str, path: str) -> str | None:
    request = urllib.request.Request(base + path, headers={"Accept-Encoding": "br, gzip"})
    with urllib.request.urlopen(request) as response:
        response.read()
        return response.headers.get("ETag")


def _search_path(q: str) -> str:
    return "/api/v1/search?q=" + urllib.request.quote(q)


def wrk(base: str, script: str, connections: int = CONNECTIONS, duration: int = DURATION_S, path: str = "/") -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as fh:
        fh.write(script)
        fh.flush()
        command = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{duration}s", "--timeout", "5s",
                   "--latency", "-s", fh.name, base + path]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    unit = {"us": 0.001, "ms": 1.0, "s": 1000.0}

    def latency(q: str) -> float:
        m = re.search(rf"{q}%\s+([\d.]+)(us|ms|s)\b", out)
        return round(float(m.group(1)) * unit[m.group(2)], 1) if m else float("nan")

    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"requests_per_s": round(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))),
            "p50_ms": latency("50"), "p99_ms": latency("99"),
            "timeouts": int(errors.group(4)) if errors else 0,
            "socket_errors": sum(int(errors.group(i)) for i in (1, 2, 3)) if errors else 0,
            "non_2xx_3xx": int(non2xx.group(1)) if non2xx else 0}


def mixed_script(base: str, revalidate: bool, seed: int = 42, lookups: bool = True) -> str:
    paths: list[str] = []
    assets = _assets(base)
    for path, weight in MIX:
        if path == "LOOKUP" and not lookups:
            continue
        if path == "ASSETS":
            paths += [assets[i % len(assets)] for i in range(weight)]
        else:
            paths += [path] * weight
    searches = [urllib.request.quote(q) for q in SEARCHES]
    cacheable = [p for p in set(paths) if p not in ("LOOKUP", "SEARCH")] + [_search_path(q) for q in SEARCHES]
    etags = {p: _etag(base, p) for p in cacheable}
    x0, y0, x1, y1 = BOX
    return WRK_SCRIPT % {
        "seed": seed, "paths": _lua_list(paths), "searches": _lua_list(searches),
        "etags": ", ".join(f'["{p}"] = {_lua_string(e)}' for p, e in etags.items() if e),
        "revalidate": "true" if revalidate else "false", "x0": x0, "y0": y0, "dx": x1 - x0, "dy": y1 - y0}


def _lua_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def plain_script(headers: dict[str, str] | None = None) -> str:
    """The same request again and again (wrk.format ignores -H headers once a table is given)."""
    table = ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}"
                      for k, v in {"Accept-Encoding": "br, gzip", **(headers or {})}.items())
    return f"request = function() return wrk.format('GET', nil, {{{table}}}) end\n"


def _staff_token() -> str:
    with connect(get_settings(), autocommit=True) as conn, conn.transaction():
        row = conn.execute("SELECT id FROM app_user WHERE username = 'bench-legal'").fetchone()
        user_id = row[0] if row else users.add_user(conn, username="bench-legal", role="legal", full_name=None,
                                                    politikreds_code=None, sector_code=None)
        token, digest, prefix = new_token()
        users.add_token(conn, user_id=user_id, token_hash=digest, prefix=prefix, label="bench")
    return token


def run() -> dict:
    if not have_wrk():
        raise SystemExit("wrk is missing: apt-get install wrk")
    token = _staff_token()
    plain = plain_script()
    with server(workers=WORKERS) as base:
        for _ in range(3):  # warm both workers' caches and compressed copies
            wrk(base, mixed_script(base, revalidate=False), connections=20, duration=3)
        revalidating = wrk(base, mixed_script(base, revalidate=True))
        full = wrk(base, mixed_script(base, revalidate=False, seed=43))
        # the same without its lookups (every one a PostGIS query at a random point, never cacheable): what the
        # cacheable part of the mix costs
        no_lookups = wrk(base, mixed_script(base, revalidate=True, seed=44, lookups=False))
        zones_public = wrk(base, plain, path=ZONES)
        # 16 connections: at 200 the uncached path only queues for the 2 x 10 pooled connections (and answers
        # 503 after db_timeout), which measures the queue rather than the work
        zones_staff = wrk(base, plain_script({"Authorization": f"Bearer {token}"}), connections=16, path=ZONES)
        # one connection: the latency of a single public zones request served from the cache
        zones_single = wrk(base, plain, connections=1, duration=5, path=ZONES)
    return {
        "benchmark": "public", "connections": CONNECTIONS, "workers": WORKERS, "duration_s": DURATION_S,
        "mixed_revalidating": revalidating, "mixed_full_answers": full, "mixed_revalidating_no_lookups": no_lookups,
        "zones_public_now": zones_public, "zones_staff_uncached": zones_staff, "zones_public_one_connection":
            zones_single,
        "targets": {"mixed_revalidating_rps": 2500, "mixed_p99_ms": 300, "zones_public_rps": 1500},
    }


def report(result: dict) -> str:
    r = result

    def line(name: str, m: dict) -> str:
        return (f"  {name:<34} {m['requests_per_s']:>6,}/s  p50 {m['p50_ms']:>6} ms  p99 {m['p99_ms']:>7} ms  "
                f"timeouts {m['timeouts']}  errors {m['socket_errors']}  non-2xx/3xx {m['non_2xx_3xx']}")

    return "\n".join([
        f"public: wrk, {r['connections']} connections, --workers {r['workers']}, {r['duration_s']} s each",
        line("mixed, revalidating clients", r["mixed_revalidating"]) + "  (target >= 2,500/s, p99 < 300 ms)",
        line("mixed, clients holding nothing", r["mixed_full_answers"]),
        line("mixed, revalidating, no lookups", r["mixed_revalidating_no_lookups"]),
        line("/api/v1/zones public, now", r["zones_public_now"]) + "  (target >= 1,500/s)",
        line("/api/v1/zones staff, 16 connections", r["zones_staff_uncached"]) + "  (rendered per request)",
        line("/api/v1/zones public, 1 connection", r["zones_public_one_connection"]),
    ])
