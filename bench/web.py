"""The public map in Chromium on localhost: time to the first drawn zone and bytes transferred, over cold page
loads, against the time of the zones request alone (the data the first zone needs) in the same run."""

from __future__ import annotations

import statistics
import time
import urllib.request

from bench.common import server

LOADS = 10
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def run() -> dict:
    from playwright.sync_api import sync_playwright

    first_zone, dom_ready, transferred = [], [], []
    with server() as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for _ in range(LOADS + 1):  # the first load warms the server; not counted
            context = browser.new_context(viewport={"width": 1280, "height": 860})  # a cold browser cache
            page = context.new_page()
            sizes: list[int] = []
            page.on("requestfinished", lambda r, sizes=sizes: sizes.append(r.sizes()["responseBodySize"]))
            page.goto(base + "/")
            page.wait_for_selector("body[data-ready=true]")
            page.wait_for_load_state("networkidle")
            first_zone.append(page.evaluate("performance.getEntriesByName('gs:first-zone')[0].startTime"))
            dom_ready.append(page.evaluate("performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd"))
            transferred.append(sum(sizes))
            context.close()
        browser.close()
        api_ms = []
        for _ in range(LOADS + 1):
            start = time.perf_counter()
            urllib.request.urlopen(base + "/api/v1/zones?limit=1000&simplify=1.2").read()
            api_ms.append((time.perf_counter() - start) * 1000)
    first_zone, dom_ready, transferred, api_ms = first_zone[1:], dom_ready[1:], transferred[1:], api_ms[1:]
    return {
        "benchmark": "web",
        "loads": LOADS,
        "first_zone_ms_median": round(statistics.median(first_zone), 1),
        "first_zone_ms_max": round(max(first_zone), 1),
        "dom_content_loaded_ms_median": round(statistics.median(dom_ready), 1),
        "zones_request_ms_median": round(statistics.median(api_ms), 1),
        "transferred_bytes_median": int(statistics.median(transferred)),
        "targets": {"transferred_bytes_max": 500_000},
    }


def report(result: dict) -> str:
    r = result
    return "\n".join([
        f"web: public map, {r['loads']} cold loads in Chromium on localhost",
        f"  first zone drawn  median {r['first_zone_ms_median']} ms (max {r['first_zone_ms_max']} ms); "
        f"DOMContentLoaded {r['dom_content_loaded_ms_median']} ms; "
        f"zones request alone {r['zones_request_ms_median']} ms",
        f"  transferred       {r['transferred_bytes_median'] / 1024:.0f} KB per load (target < 500 KB)",
    ])
