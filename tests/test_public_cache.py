"""Public answers that a browser or CDN may keep: strong ETags from the data's change counter and the moment,
304 on revalidation, a max-age that never reaches past the next time a zone starts or ends, nothing of the kind
for token answers; pages and assets with content hashes, versioned URLs and precompressed copies."""

from __future__ import annotations

import datetime as dt
import gzip
import itertools
import re
import time
from concurrent.futures import ThreadPoolExecutor

import brotli
import psycopg
import pytest
from fastapi.testclient import TestClient

from geoservice import timeutil
from tests.conftest import bearer
from tests.helpers import GOTHERSGADE, offset, square, zone_feature

ZONES = "/api/v1/zones"
MAX_AGE = re.compile(r"max-age=(\d+)")
ORIGIN = offset(*GOTHERSGADE, -7000, -12000)  # Valby/Hvidovre side, away from the demo zones and other tests
_slot = iter(range(50))


def spot() -> dict:
    n = next(_slot)
    return square(*offset(*ORIGIN, 700 * (n % 5), -700 * (n // 5)), 300)


def max_age(response) -> int:
    match = MAX_AGE.search(response.headers["cache-control"])
    assert match, response.headers["cache-control"]
    return int(match[1])


def names(response) -> set[str]:
    return {f["properties"]["name"] for f in response.json()["features"]}


def local(moment: dt.datetime) -> str:
    return timeutil.isoformat_local(moment)


def test_public_zones_carry_a_strong_etag_and_revalidate(own_client: TestClient) -> None:
    first = own_client.get(ZONES)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert first.headers["cache-control"].startswith("public")
    assert 0 <= max_age(first) <= 10
    assert "Authorization" in first.headers["vary"] and "Accept-Encoding" in first.headers["vary"]
    again = own_client.get(ZONES, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag and again.headers["cache-control"].startswith("public")
    # Another coding of the same answer has its own strong tag, and revalidates against either.
    plain = own_client.get(ZONES, headers={"Accept-Encoding": "identity"})
    assert plain.headers["etag"] != etag and "content-encoding" not in plain.headers
    assert plain.json() == first.json()
    assert own_client.get(ZONES, headers={"If-None-Match": plain.headers["etag"]}).status_code == 304
    assert own_client.get(ZONES, headers={"If-None-Match": '"something-else"'}).status_code == 200


def test_brotli_and_gzip_are_the_same_answer(own_client: TestClient) -> None:
    br = own_client.get(ZONES, headers={"Accept-Encoding": "br"})
    gz = own_client.get(ZONES, headers={"Accept-Encoding": "gzip"})
    assert br.headers["content-encoding"] == "br" and gz.headers["content-encoding"] == "gzip"
    # httpx decodes both; the tags differ by coding, as strong tags must.
    assert br.json() == gz.json() and br.headers["etag"] != gz.headers["etag"]


def test_token_answers_are_never_public(own_client: TestClient, tokens: dict) -> None:
    public = own_client.get(ZONES)
    staff = own_client.get(ZONES, headers={**bearer(tokens["legal"]), "If-None-Match": public.headers["etag"]})
    assert staff.status_code == 200  # never a 304 against the public version
    assert "public" not in staff.headers.get("cache-control", "")
    assert staff.headers.get("etag") != public.headers["etag"]
    assert len(staff.json()["features"]) > len(public.json()["features"])  # staff see internal zones too


def test_a_write_changes_the_answer_at_once(own_client: TestClient, own_conn: psycopg.Connection,
                                            tokens: dict) -> None:
    before = own_client.get(ZONES, params={"limit": 1000})
    now = timeutil.now()
    created = own_client.post(ZONES, headers=bearer(tokens["admin"]), json=zone_feature(
        spot(), name="Cachezone skrevet", valid_from=local(now - dt.timedelta(hours=1)),
        valid_to=local(now + dt.timedelta(days=30))))
    assert created.status_code == 201, created.text
    after = own_client.get(ZONES, params={"limit": 1000}, headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and "Cachezone skrevet" in names(after)
    # A change made past the API (another worker, psql) is seen by the next request too.
    own_conn.execute("UPDATE zone SET name = 'Cachezone omdøbt' WHERE id = %s", (created.json()["id"],))
    renamed = own_client.get(ZONES, params={"limit": 1000}, headers={"If-None-Match": after.headers["etag"]})
    assert renamed.status_code == 200 and "Cachezone omdøbt" in names(renamed)


def test_an_expiring_zone_leaves_the_cached_layer_on_time(own_client: TestClient, tokens: dict) -> None:
    """The public layer at the current moment changes without any write when a zone expires: the ETag and the
    max-age are keyed on time as well, so neither our cache nor a CDN's serves it a moment too long."""
    now = timeutil.now()
    ends = starts = now + dt.timedelta(seconds=12)  # room for two writes and a read on a busy machine
    admin = bearer(tokens["admin"])
    for name, start, end in (("Udløber snart", now - dt.timedelta(hours=2), ends),
                             ("Begynder snart", starts, now + dt.timedelta(days=20))):
        response = own_client.post(ZONES, headers=admin, json=zone_feature(
            spot(), kind="visitationszone", name=name, valid_from=local(start), valid_to=local(end)))
        assert response.status_code == 201, response.text
    params = {"limit": 1000}
    asked = timeutil.now()  # the server's max-age is counted from a moment no earlier than this
    during = own_client.get(ZONES, params=params)
    assert timeutil.now() < ends, "the machine was too slow to see the zone before its end"
    assert "Udløber snart" in names(during) and "Begynder snart" not in names(during)
    # A cache may keep it no longer than until the moment it ends (and the other one starts).
    assert max_age(during) <= (ends - asked).total_seconds()
    etag = during.headers["etag"]
    assert own_client.get(ZONES, params=params, headers={"If-None-Match": etag}).status_code == 304
    time.sleep(max(0.0, (ends - timeutil.now()).total_seconds()) + 0.2)
    after = own_client.get(ZONES, params=params, headers={"If-None-Match": etag})
    assert after.status_code == 200, "a revalidation after the end must not keep the expired zone"
    assert "Udløber snart" not in names(after) and "Begynder snart" in names(after)
    assert after.headers["etag"] != etag


def test_one_rendering_serves_a_burst(own_client: TestClient, own_conn: psycopg.Connection) -> None:
    """After a change, many clients at once get the answer rendered once (the same generation time stamp)."""
    own_conn.execute("UPDATE zone_kind SET name_en = name_en WHERE code = 'nattelivszone'")  # bumps the counter
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda _: own_client.get(ZONES, params={"limit": 1000}), range(32)))
    assert all(a.status_code == 200 for a in answers)
    assert len({a.json()["timeStamp"] for a in answers}) == 1
    assert len({a.headers["etag"] for a in answers}) == 1


def test_other_public_answers_are_cached_too(own_client: TestClient, tokens: dict) -> None:
    for path, params in (("/api/v1/kinds", {}), ("/api/v1/reference-areas", {"type": "politikreds"}),
                         ("/api/v1/sectors", {}), ("/api/v1/sectors/KBH-CITY-01", {}),
                         ("/ogc/collections", {}), ("/ogc/collections/zones", {}),
                         ("/ogc/collections/zones/queryables", {})):
        first = own_client.get(path, params=params)
        assert first.status_code == 200, path
        assert first.headers["cache-control"].startswith("public"), path
        assert own_client.get(path, params=params, headers={"If-None-Match": first.headers["etag"]}
                              ).status_code == 304, path
    # Errors are not kept.
    missing = own_client.get("/api/v1/zones/999999")
    assert missing.status_code == 404 and "etag" not in missing.headers
    # A token's OGC answer is its own (restricted zones), never the public one.
    officer = own_client.get("/ogc/collections", headers=bearer(tokens["officer"]))
    assert officer.status_code == 200 and "public" not in officer.headers.get("cache-control", "")
    # OGC features, asked by view and moment, are made for each request (not kept).
    features = own_client.get("/ogc/collections/zones/items", params={"bbox": "12.5,55.6,12.7,55.7"})
    assert features.status_code == 200 and "etag" not in features.headers


def test_page_and_assets_versioned_and_precompressed(client: TestClient, settings) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["cache-control"] == f"public, max-age={settings.page_max_age}"
    assert client.get("/", headers={"If-None-Match": page.headers["etag"]}).status_code == 304
    refs = re.findall(r'(?:src|href)="(/(?:static|vendor)/[^"]+)"', page.text)
    assert refs and all("?v=" in ref for ref in refs), refs
    for ref in refs:
        versioned = client.get(ref, headers={"Accept-Encoding": "br"})
        assert versioned.status_code == 200, ref
        assert versioned.headers["cache-control"] == "public, max-age=31536000, immutable", ref
        assert ref.endswith(versioned.headers["etag"].strip('"').removesuffix("-br")), ref
    script = next(ref for ref in refs if ref.endswith(".js") or ".js?" in ref).split("?")[0]
    original = (settings.web_dir / "public" / script.removeprefix("/static/")).read_bytes() \
        if script.startswith("/static/") else None
    plain = client.get(script, headers={"Accept-Encoding": "identity"})
    assert plain.headers["cache-control"] == f"public, max-age={settings.page_max_age}"  # unversioned: revalidate
    for coding, decode in (("br", brotli.decompress), ("gzip", gzip.decompress)):
        raw = client.get(script, headers={"Accept-Encoding": coding}, extensions={})
        assert raw.headers["content-encoding"] == coding
        assert raw.content == plain.content  # httpx decoded it
        stored = settings.asset_cache_dir / f"{_digest(plain.content)}.{'br' if coding == 'br' else 'gz'}"
        assert stored.exists() and decode(stored.read_bytes()) == plain.content
    if original is not None:
        assert plain.content == original


def _digest(body: bytes) -> str:
    import hashlib

    return hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_answers_are_never_cached(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"


def test_assets_build_writes_precompressed_copies_for_nginx(settings, tmp_path) -> None:
    from geoservice.api.assets import build
    from geoservice.api.web import asset_store

    written = build(asset_store(settings), tmp_path)
    assert written["files"] > 10 and written["compressed"] > 5
    script = tmp_path / "static" / "js" / "common.js"
    assert script.read_bytes() == (settings.web_dir / "public" / "js" / "common.js").read_bytes()
    assert brotli.decompress((tmp_path / "static" / "js" / "common.js.br").read_bytes()) == script.read_bytes()
    assert gzip.decompress((tmp_path / "static" / "js" / "common.js.gz").read_bytes()) == script.read_bytes()
    leaflet = tmp_path / "vendor" / "leaflet" / "leaflet.js"
    assert leaflet.exists() and (tmp_path / "vendor" / "leaflet" / "leaflet.js.br").exists()
    # the pages in the tree refer to their assets by version, as the service serves them
    assert "?v=" in (tmp_path / "static" / "index.html").read_text()


def test_every_status_change_is_a_listed_transition(own_client: TestClient, own_conn: psycopg.Connection,
                                                    tokens: dict) -> None:
    """The cache keys "now" answers on the latest transition: between two listed transitions no zone's status may
    change. Checked on the demo zones plus a visitation zone (3 warning days) ending the day after the switch to
    summer time, where 'expiring' starts three calendar days before the end (the same local time), 71 hours."""
    response = own_client.post(ZONES, headers=bearer(tokens["admin"]), json=zone_feature(
        spot(), kind="visitationszone", name="Sommertid", valid_from="2027-03-20T12:00",
        valid_to="2027-03-29T12:00"))
    assert response.status_code == 201, response.text
    zone_id = response.json()["id"]
    transitions = own_conn.execute("SELECT public_transitions()").fetchone()[0]
    # 29 March 12:00+02 (10:00 UTC) minus three calendar days: 26 March 12:00+01 (11:00 UTC), not 72 h (10:00 UTC)
    threshold = dt.datetime(2027, 3, 26, 11, 0, tzinfo=dt.UTC)
    assert threshold.timestamp() in transitions
    status = "SELECT zone_status_at(%s, to_timestamp(%s))"
    assert own_conn.execute(status, (zone_id, threshold.timestamp() - 1)).fetchone()[0] == "in_force"
    assert own_conn.execute(status, (zone_id, threshold.timestamp())).fetchone()[0] == "expiring"
    # every window of the last two years and the next: the statuses at its start and just before its end agree
    now = time.time()
    windows = [(a, b) for a, b in itertools.pairwise(transitions)
               if now - 2 * 365 * 86400 < a < now + 365 * 86400 and b - a > 0.002]
    assert len(windows) > 20
    ids = [r[0] for r in own_conn.execute("SELECT id FROM zone").fetchall()]
    states = ("SELECT array_agg(zone_status_at(id, to_timestamp(%(t)s)) || ':' || coalesce(("
              "SELECT string_agg(version_status_at(v, to_timestamp(%(t)s)), ',' ORDER BY v.id) "
              "FROM zone_version v WHERE v.zone_id = z.id), '') ORDER BY id) FROM zone z WHERE id = ANY(%(ids)s)")
    for start, end in windows:
        at_start = own_conn.execute(states, {"t": start, "ids": ids}).fetchone()
        before_end = own_conn.execute(states, {"t": end - 0.001, "ids": ids}).fetchone()
        assert at_start == before_end, [dt.datetime.fromtimestamp(t, dt.UTC) for t in (start, end)]
