"""The street map and the street search through our own server: tiles and addresses come from a configured
upstream (here a local fake), are cached on disk, and the browser never talks to anyone but us."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from geoservice.settings import Settings
from tests.conftest import serving
from tests.fake_upstream import FakeUpstream, fake_upstream

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with fake_upstream() as fake:
        yield fake


@pytest.fixture(scope="module")
def street_server(settings: Settings, db_name: str, upstream: FakeUpstream, tmp_path_factory) -> Iterator[str]:
    cache = tmp_path_factory.mktemp("upstream-cache")
    configured = settings.model_copy(update={
        "tile_upstream": f"{upstream.base}/tiles/{{z}}/{{x}}/{{y}}.png",
        "tile_attribution": "© Testkortet (falsk leverandør)",
        "tile_cache_dir": cache / "tiles",
        "geocoder_url": f"{upstream.base}/gsearch",
        "geocoder_token": "hemmelig",
        "geocoder_cache_dir": cache / "geocoder",
    })
    with serving(configured, db_name) as base:
        yield base


def test_tiles_come_through_the_proxy_and_are_cached(street_server: str, upstream: FakeUpstream) -> None:
    before = upstream.tile_hits()
    first = httpx.get(f"{street_server}/basemap/tiles/16/35064/20506")
    assert first.status_code == 200 and first.headers["content-type"] == "image/png"
    assert first.content.startswith(b"\x89PNG") and first.headers["x-cache"] == "MISS"
    assert upstream.tile_hits() == before + 1
    second = httpx.get(f"{street_server}/basemap/tiles/16/35064/20506")
    assert second.content == first.content and second.headers["x-cache"] == "HIT"
    assert upstream.tile_hits() == before + 1, "the second request reached the upstream"
    # a tile that cannot exist is refused without asking the upstream
    bad = httpx.get(f"{street_server}/basemap/tiles/3/9/1")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "x"
    assert upstream.tile_hits() == before + 1
    # the page learns our own path, never the upstream (nor its token)
    config = httpx.get(f"{street_server}/api/v1/config").json()
    assert config["tile_url"] == "/basemap/tiles/{z}/{x}/{y}" and upstream.base not in str(config)
    assert config["tile_attribution"] == "© Testkortet (falsk leverandør)"


def test_a_cached_tile_is_served_while_the_upstream_is_down(street_server: str, upstream: FakeUpstream) -> None:
    assert httpx.get(f"{street_server}/basemap/tiles/15/17532/10253").status_code == 200
    upstream.failing = True
    try:
        missing = httpx.get(f"{street_server}/basemap/tiles/15/17533/10253")
        assert missing.status_code == 502 and missing.headers["content-type"] == "application/problem+json"
        assert httpx.get(f"{street_server}/basemap/tiles/15/17532/10253").status_code == 200
    finally:
        upstream.failing = False


def test_no_upstream_no_street_map(live_server: str) -> None:
    assert httpx.get(f"{live_server}/api/v1/config").json()["tile_url"] is None
    assert httpx.get(f"{live_server}/basemap/tiles/10/548/320").status_code == 404


def test_street_search_asks_the_register_once_and_ranks_the_street_first(street_server: str,
                                                                         upstream: FakeUpstream) -> None:
    body = httpx.get(f"{street_server}/api/v1/search", params={"q": "Nørrebrogade"}).json()
    assert body["geocoder"] == "ok"
    first = body["results"][0]
    # the Copenhagen street, not the kiosk in Horsens that has the street in its name
    assert (first["type"], first["name"]) == ("street", "Nørrebrogade, 2200 København N")
    assert 55.69 < first["lat"] < 55.71 and first["bbox"]
    kiosk = [r for r in body["results"] if r["name"] == "Nørrebrogades kiosk"]
    assert kiosk and kiosk[0]["detail"] == "Nærbutik, Horsens"
    hits = upstream.hits["/gsearch/navngivenvej"]
    httpx.get(f"{street_server}/api/v1/search", params={"q": "nørrebrogade"})
    assert upstream.hits["/gsearch/navngivenvej"] == hits, "the same search asked the register again"
    istedgade = httpx.get(f"{street_server}/api/v1/search", params={"q": "Istedgade"}).json()["results"]
    assert [r["type"] for r in istedgade[:2]] == ["street", "address"]


def test_without_a_register_the_offline_index_says_where_a_place_is(live_server: str) -> None:
    body = httpx.get(f"{live_server}/api/v1/search", params={"q": "Nørrebrogade",
                                                             "near": "12.57,55.68"}).json()
    assert body["geocoder"] == "off"
    assert body["results"][0]["detail"].endswith(", Horsens")  # not to be taken for the street in Copenhagen


def test_the_register_down_the_offline_index_answers(street_server: str, upstream: FakeUpstream) -> None:
    upstream.failing = True
    try:
        body = httpx.get(f"{street_server}/api/v1/search", params={"q": "Kødbyen"}).json()
    finally:
        upstream.failing = False
    assert body["geocoder"] == "unavailable" and body["results"][0]["name"] == "Kødbyen"


def only_our_host(page, base: str) -> None:
    ours = urlparse(base).netloc
    others = [u for u in page.watch.requests if not u.startswith("data:") and urlparse(u).netloc != ours]
    assert others == [], "the browser talked to someone else than our server"
    assert page.watch.blocked == [] and page.watch.console_errors == []


def wait_for_tiles(page) -> None:
    page.wait_for_function("""() => {
        const tiles = [...document.querySelectorAll('img.leaflet-tile')];
        return tiles.length > 0 && tiles.every((t) => t.complete && t.naturalWidth === 256);
    }""")


def test_the_public_map_draws_streets_with_the_upstreams_attribution(page, street_server: str,
                                                                     upstream: FakeUpstream, artifacts: Path) -> None:
    before = upstream.tile_hits()
    page.goto(f"{street_server}/#z=16&c=55.68150,12.57950&t=2026-05-02T01:30")
    page.wait_for_selector("body[data-ready=true]")
    wait_for_tiles(page)
    assert upstream.tile_hits() > before  # the tiles came from the upstream, through us
    tiles = page.locator("img.leaflet-tile").evaluate_all("(tiles) => tiles.map((t) => t.src)")
    assert all(src.startswith(f"{street_server}/basemap/tiles/16/") for src in tiles)
    assert "© Testkortet (falsk leverandør)" in page.locator(".leaflet-control-attribution").inner_text()
    # at street zoom the zones carry their names
    page.wait_for_selector(".gs-zone-label")
    assert "Nattelivszone Gothersgade" in page.locator(".gs-zone-label").all_inner_texts()
    page.screenshot(path=str(artifacts / "street-zoom-public.png"))
    only_our_host(page, street_server)


def test_a_keyboard_user_finds_a_street_and_asks_am_i_in_a_zone(page, street_server: str) -> None:
    page.goto(f"{street_server}/#z=13&c=55.67900,12.57000&t=2026-05-02T01:30")
    page.wait_for_selector("body[data-ready=true]")
    page.locator("#search").focus()
    page.keyboard.type("Kongens Nytorv")
    page.wait_for_selector("#search-results li[data-type=street]")
    assert page.locator("#search-results li").first.inner_text().startswith("Kongens Nytorv, 1050 København K")
    page.keyboard.press("Enter")
    answer = page.locator("#here .answer-for")
    answer.wait_for()
    assert answer.inner_text() == "Svar for Kongens Nytorv, 1050 København K, på tidspunktet 2. maj 2026 kl. 01.30"
    assert page.locator("#tab-here").get_attribute("aria-selected") == "true"
    only_our_host(page, street_server)


def test_staff_pages_draw_streets_too(page, street_server: str, tokens: dict, artifacts: Path) -> None:
    page.goto(f"{street_server}/officer#sector=KBH-CITY-01")
    page.fill("input[name=token]", tokens["admin"])  # admin: both staff pages
    page.click("form.login button")
    page.wait_for_selector("body[data-ready=true]")
    wait_for_tiles(page)
    page.screenshot(path=str(artifacts / "street-zoom-officer.png"))
    page.goto(f"{street_server}/legal")
    page.wait_for_selector("body[data-ready=true]")  # the token is kept for the tab
    page.fill("#asof-time", "2026-05-02T01:30")
    page.fill("#asof-place", "55.6815, 12.5795")
    page.wait_for_selector("#asof-results li[data-index]")
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('asof-result').textContent.includes('Gothersgade')")
    wait_for_tiles(page)
    page.locator(".legal-side").screenshot(path=str(artifacts / "street-zoom-legal.png"))
    page.screenshot(path=str(artifacts / "street-zoom-legal-page.png"), full_page=True)
    only_our_host(page, street_server)
