"""HTTP-level hardening: the Host header is never reflected, every error is an answer on a connection that stays
usable, HEAD is answered on every GET route, and failed authentication is throttled per client address."""

from __future__ import annotations

import http.client
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from fastapi.testclient import TestClient

from geoservice.api.app import create_app
from geoservice.settings import Settings
from tests.conftest import bearer

PROBLEM = "application/problem+json"


# --- Host (finding 6) ------------------------------------------------------------------------------------------


def test_an_unknown_host_is_refused_and_never_reflected(client: TestClient) -> None:
    response = client.get("/api/v1/zones", headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["errors"][0]["field"] == "Host"
    assert "evil.example" not in response.text
    for path in ("/", "/api/v1/lookup?lat=55.68&lon=12.58", "/static/css/site.css", "/nowhere"):
        assert client.get(path, headers={"Host": "evil.example:8000"}).status_code == 400


def test_paging_links_use_the_trusted_host(client: TestClient) -> None:
    body = client.get("/api/v1/zones", params={"limit": 1}, headers={"Host": "localhost:8123"}).json()
    hrefs = [link["href"] for link in body["links"]]
    assert {link["rel"] for link in body["links"]} >= {"self", "next"}
    assert all(h.startswith("http://localhost:8123/api/v1/zones?") for h in hrefs), hrefs


def test_paging_links_use_the_public_url_whatever_the_host(settings: Settings, db_name: str) -> None:
    configured = settings.model_copy(update={"public_url": "https://zoner.example.dk",
                                             "trusted_hosts": ["*"]})
    with TestClient(create_app(configured, dbname=db_name), raise_server_exceptions=False) as client:
        body = client.get("/api/v1/zones", params={"limit": 1, "offset": 1},
                          headers={"Host": "evil.example"}).json()
    hrefs = {link["rel"]: link["href"] for link in body["links"]}
    assert hrefs["self"] == "https://zoner.example.dk/api/v1/zones?limit=1&offset=1"
    assert hrefs["prev"].startswith("https://zoner.example.dk/api/v1/zones?")
    assert all("evil" not in h for h in hrefs.values())


def test_any_host_needs_a_public_url() -> None:
    with pytest.raises(ValueError, match="PUBLIC_URL"):
        Settings(trusted_hosts="*", public_url=None)
    assert Settings(trusted_hosts="a.example, b.example").allowed_hosts() == {"a.example", "b.example"}
    assert "zoner.example.dk" in Settings(public_url="https://zoner.example.dk/").allowed_hosts()


# --- every error is an answer, and the connection survives it (finding 7) ----------------------------------------


class Connection:
    """One kept-alive HTTP/1.1 connection to the real server; fails if the server closes or resets it."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self.conn.connect()
        self.sock = self.conn.sock

    def send(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
             ) -> tuple[int, dict[str, str], bytes]:
        self.conn.request(method, path, body=body, headers=headers or {})
        response = self.conn.getresponse()
        data = response.read()
        assert self.conn.sock is self.sock, f"{method} {path}: the connection was not kept"
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data

    def send_chunked(self, path: str, chunks: Iterator[bytes], headers: dict[str, str]) -> tuple[int, bytes]:
        self.conn.putrequest("POST", path)
        for name, value in {**headers, "Transfer-Encoding": "chunked"}.items():
            self.conn.putheader(name, value)
        self.conn.endheaders()
        for chunk in chunks:
            self.conn.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        self.conn.send(b"0\r\n\r\n")
        response = self.conn.getresponse()
        return response.status, response.read()


def bad_inputs(admin: dict[str, str]) -> list[tuple[str, str, bytes | None, dict[str, str], int]]:
    json_admin = {**admin, "Content-Type": "application/json"}
    return [
        ("GET", "/api/v1/reference-areas?type=kommune&simplify=nan", None, {}, 422),
        ("GET", "/api/v1/reference-areas?type=kommune&simplify=inf", None, {}, 422),
        ("GET", "/api/v1/zones?offset=99999999999999999999", None, {}, 422),
        ("GET", "/api/v1/zones?q=a%00b", None, {}, 422),
        ("GET", "/api/v1/search?q=%00", None, {}, 422),
        ("GET", "/api/v1/overlays/sectors/A%00B/recent", None, admin, 422),
        ("GET", "/static/a%00b.js", None, {}, 422),
        ("GET", "/api/v1/lookup?lat=nan&lon=12", None, {}, 422),
        ("GET", "/api/v1/lookup?lat=0&lon=0", None, {}, 422),
        ("GET", "/api/v1/zones", None, {"Host": "evil.example"}, 400),
        ("GET", "/api/v1/me", None, {"Authorization": "Bearer not-a-token"}, 401),
        ("POST", "/api/v1/zones", b'{"type": ', json_admin, 400),
        ("POST", "/api/v1/zones", b"[NaN]", json_admin, 422),
        ("POST", "/api/v1/check/track", b'{"points": [{"lat": NaN, "lon": 12.5, "at": "2025-09-01T12:00"}]}',
         {"Content-Type": "application/json"}, 422),
        ("POST", "/api/v1/overlays/insecurity-reports",
         b'{"lat": 55.68, "lon": 12.58, "category": "belysning", "text": "a\\u0000b"}', json_admin, 422),
        ("POST", "/api/v1/zones", b"x" * 2_100_000, json_admin, 413),  # declared too large: refused unread
        ("POST", "/api/v1/zones/1/revoke", b'{"reason": "abc"}',  # refused before its body is read
         {"Authorization": "Bearer not-a-token", "Content-Type": "application/json"}, 401),
        ("DELETE", "/api/v1/zones/1", None, admin, 405),
        ("OPTIONS", "/api/v1/zones", None, {}, 405),
    ]


@pytest.mark.slow
def test_each_bad_input_is_answered_and_the_connection_serves_the_next_request(live_server: str,
                                                                               tokens: dict) -> None:
    admin = bearer(tokens["admin"])
    conn = Connection(live_server)
    for method, path, body, headers, status in bad_inputs(admin):
        got, answer_headers, data = conn.send(method, path, body, headers)
        assert got == status, f"{method} {path}: {got} {data[:300]!r}"
        assert answer_headers["content-type"] == PROBLEM, f"{method} {path}"
        assert "connection" not in answer_headers, f"{method} {path} closes the connection"
        good, _, data = conn.send("GET", "/api/v1/kinds")
        assert good == 200 and b"nattelivszone" in data, f"after {method} {path}"
    # a body streamed without Content-Length is cut off at the limit, and the connection survives that too
    status, data = conn.send_chunked("/api/v1/zones", iter([b"x" * 500_000] * 5), {**admin, "Content-Type":
                                                                                   "application/json"})
    assert status == 413, data[:300]
    assert conn.send("GET", "/api/v1/kinds")[0] == 200


def test_an_unexpected_error_is_a_problem_not_a_dropped_connection(settings: Settings, db_name: str) -> None:
    """The 500 handler answers inside the application: nothing reaches the server to make it close."""
    app = create_app(settings, dbname=db_name)

    @app.get("/explode", include_in_schema=False)
    async def explode() -> None:
        raise RuntimeError("a secret detail")

    with TestClient(app, raise_server_exceptions=True) as client:  # an exception would surface here
        response = client.get("/explode")
    assert response.status_code == 500 and response.headers["content-type"] == PROBLEM
    assert "secret" not in response.text and "Traceback" not in response.text


# --- HEAD ----------------------------------------------------------------------------------------------------


def sample(schema: dict[str, Any]) -> Any:
    """A valid value for a required parameter, from its schema."""
    if "enum" in schema:
        return schema["enum"][0]
    if schema.get("type") in ("integer", "number"):
        return schema.get("example", schema.get("minimum", 1))
    return schema.get("example", "x")


PATH_VALUES = {"zone_id": 1, "code": "KBH-CITY-01", "report_id": 1, "secret": "not-a-calendar-secret",
               "subscription_id": 1, "delivery_id": 1, "secret_id": 1, "import_id": 1, "collection_id": "zones",
               "feature_id": 1, "version": 1, "z": 8, "x": 136, "y": 79}
REQUIRED = {"lat": 55.68, "lon": 12.58, "q": "Goth", "by": "kommune", "from_year": 2022, "to_year": 2023,
            "type": "kommune"}


def test_head_is_answered_on_every_get_route(client: TestClient, tokens: dict) -> None:
    document = client.get("/openapi.json").json()
    paths = [p for p, item in document["paths"].items() if "get" in item] + ["/", "/officer", "/analyst", "/legal",
                                                                             "/docs", "/openapi.json"]
    assert len(paths) > 25
    for path in paths:
        operation = document["paths"].get(path, {}).get("get", {})
        params = {p["name"]: REQUIRED.get(p["name"], sample(p["schema"]))
                  for p in operation.get("parameters", []) if p["required"] and p["in"] == "query"}
        url = path.format(**PATH_VALUES) + (f"?{urlencode(params)}" if params else "")
        get = client.get(url, headers=bearer(tokens["admin"]))
        head = client.head(url, headers=bearer(tokens["admin"]))
        assert head.status_code == get.status_code, f"HEAD {url}: {head.status_code}, GET {get.status_code}"
        assert head.content == b"", url
        assert head.headers["content-type"] == get.headers["content-type"], url
        if "content-length" in get.headers:
            assert "content-length" in head.headers, url  # the answer's length, without the answer


def test_a_method_not_allowed_names_every_allowed_method(client: TestClient) -> None:
    response = client.request("OPTIONS", "/api/v1/zones/1")
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "PATCH", "PUT"}


# --- failed authentication is throttled (finding 9) ---------------------------------------------------------------


@pytest.fixture
def throttled(settings: Settings, db_name: str) -> Iterator[tuple[Settings, str]]:
    yield settings.model_copy(update={"auth_failures_max": 20, "auth_failure_window_s": 8}), db_name


def test_token_guesses_are_throttled_per_address_without_slowing_valid_tokens(throttled, tokens: dict) -> None:
    configured, db_name = throttled
    app = create_app(configured, dbname=db_name)
    with TestClient(app, client=("198.51.100.7", 40000)) as guesser, \
            TestClient(app, client=("198.51.100.8", 40000)) as colleague:
        staff = bearer(tokens["analyst"])
        assert guesser.get("/api/v1/me", headers=staff).status_code == 200  # this token is known to be good
        started = time.monotonic()
        answers = [guesser.get("/api/v1/me", headers=bearer("gs_guess0000")).status_code]
        window_opened_by = time.monotonic()  # the window starts at the first failure, within that request
        answers += [guesser.get("/api/v1/me", headers=bearer(f"gs_guess{i:04d}")).status_code for i in range(1, 40)]
        assert answers[:20] == [401] * 20 and set(answers[20:]) == {429}
        refused = guesser.get("/api/v1/me", headers=bearer("gs_guess-again"))
        assert refused.status_code == 429 and refused.headers["content-type"] == PROBLEM
        assert 1 <= int(refused.headers["retry-after"]) <= 8  # the window (8 s: room for a busy machine)
        assert refused.json()["type"] == "urn:geoservice:problem:too-many-requests"
        assert guesser.get("/api/v1/me", headers={"Authorization": "Basic eA=="}).status_code == 429
        # valid tokens are not slowed: the staff member at the same address, and everyone elsewhere
        assert guesser.get("/api/v1/me", headers=staff).status_code == 200
        assert colleague.get("/api/v1/me", headers=bearer(tokens["legal"])).status_code == 200
        assert colleague.get("/api/v1/me", headers=bearer("gs_wrong")).status_code == 401
        assert time.monotonic() - started < 10  # no artificial delay on any answer
        assert guesser.get("/api/v1/kinds").status_code == 200  # the public is not throttled
        time.sleep(max(0.0, window_opened_by + 8.2 - time.monotonic()))
        assert guesser.get("/api/v1/me", headers=bearer("gs_guess-later")).status_code == 401  # window passed


def test_the_throttle_keeps_a_bounded_memory() -> None:
    from geoservice.api import throttle

    t = throttle.AuthThrottle(limit=3, window_s=0.01)
    for i in range(throttle.PRUNE_ABOVE + 50):
        if i == throttle.PRUNE_ABOVE:
            time.sleep(0.02)  # every window so far has ended
        t.failed(f"10.0.{i // 256}.{i % 256}")
    assert len(t._windows) <= 60

