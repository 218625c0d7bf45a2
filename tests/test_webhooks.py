"""Signed webhooks from the transactional outbox, against a real local HTTP receiver: one delivery per lifecycle
step whichever route wrote it (API, CLI), a signature that the Standard Webhooks library verifies, visibility
levels, retries with exponential backoff, a delivery log, and workers that neither lose nor double-send events
when they run side by side or are killed."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import psycopg
import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook, WebhookVerificationError

from geoservice import timeutil
from geoservice.api.app import create_app
from geoservice.db import Database
from geoservice.feeds.worker import CHANNEL, DeliveryWorker, Policy
from geoservice.settings import Settings
from tests.conftest import bearer
from tests.helpers import AMAGER_FAELLED, offset, square, zone_feature

SUBSCRIPTIONS = "/api/v1/webhooks/subscriptions"
POLICY = Policy(timeout_s=5, backoff_s=0.4, backoff_max_s=10, max_attempts=4, poll_s=0.2, concurrency=1)


class Receiver:
    """A real HTTP server on 127.0.0.1 that records every POST and answers as told."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.failures: dict[str, int] = {}  # webhook-id -> how many more times to answer 500
        self.delay = 0.0
        self.hold_at: int | None = None  # the n-th request (1-based) waits for `release` before answering
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                msg_id = self.headers["webhook-id"]
                with receiver.lock:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                              "at": time.monotonic()})
                    number = len(receiver.requests)
                    failing = receiver.failures.get(msg_id, 0)
                    if failing:
                        receiver.failures[msg_id] = failing - 1
                if number == receiver.hold_at:
                    receiver.release.wait(30)
                time.sleep(receiver.delay)
                try:
                    self.send_response(500 if failing else 200)
                    self.send_header("content-length", "0")
                    self.end_headers()
                except OSError:  # the worker was killed while we held the answer
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def ids(self, path: str | None = None) -> list[str]:
        return [r["headers"]["webhook-id"] for r in self.requests if path is None or r["path"] == path]

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture(scope="module")
def client(settings: Settings, own_db: str) -> Iterator[TestClient]:
    """The API without its own delivery worker: each test runs the workers it examines."""
    app = create_app(settings.model_copy(update={"webhook_worker": False}), dbname=own_db)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def subscribe(client: TestClient, tokens: dict[str, str]) -> Iterator[Callable[..., dict]]:
    """Subscribe for one test; every subscription is deactivated afterwards, so tests do not share deliveries."""
    made: list[int] = []

    def make(url: str, **body: object) -> dict:
        response = client.post(SUBSCRIPTIONS, headers=bearer(tokens["admin"]), json={"url": url, **body})
        assert response.status_code == 201, response.text
        made.append(response.json()["id"])
        return response.json()

    yield make
    for subscription_id in made:
        client.patch(f"{SUBSCRIPTIONS}/{subscription_id}", headers=bearer(tokens["admin"]), json={"active": False})


def run_workers(settings: Settings, dbname: str, *, claimers: int = 1, pools: int = 1,
                until: Callable[[], bool] | None = None, timeout: float = 30) -> list[int]:
    """Workers in this process: `claimers` delivery loops over `pools` connection pools, each draining what is
    due (or, with `until`, running until it holds). Returns the attempts each claimer made."""

    async def go() -> list[int]:
        dbs = [Database(settings, dbname) for _ in range(pools)]
        for db in dbs:
            await db.open()
        workers = [DeliveryWorker(db, POLICY, "http://geoservice.test") for db in dbs]
        try:
            if until is None:
                return list(await asyncio.gather(*(workers[i % pools].drain() for i in range(claimers))))
            stop = asyncio.Event()
            task = asyncio.create_task(workers[0].run(stop))
            deadline = time.monotonic() + timeout
            while not until() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            stop.set()
            await task
            return []
        finally:
            for worker in workers:
                await worker.close()
            for db in dbs:
                await db.close()

    return asyncio.run(go())


def verify(secret: str, request: dict) -> dict:
    """The receiver's side: the Standard Webhooks library checks the signature and the timestamp."""
    headers = {k.lower(): v for k, v in request["headers"].items()}
    return Webhook(secret).verify(request["body"], headers)


def local(moment: dt.datetime) -> str:
    return timeutil.isoformat_local(moment) or ""


def publish_zones(client: TestClient, tokens: dict[str, str], count: int, prefix: str, dy: float) -> list[int]:
    ids = []
    for i in range(count):
        response = client.post("/api/v1/zones", headers=bearer(tokens["admin"]), json=zone_feature(
            square(*offset(*AMAGER_FAELLED, -1500 + 150 * i, dy), 100), name=f"{prefix} {i}"))
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def test_subscriptions_are_admin_only_and_urls_are_checked(client: TestClient, tokens: dict[str, str]) -> None:
    body = {"url": "https://example.invalid/hook"}
    assert client.post(SUBSCRIPTIONS, json=body).status_code == 401
    assert client.get("/api/v1/webhooks/deliveries").status_code == 401
    for role in ("officer", "analyst", "legal"):
        assert client.post(SUBSCRIPTIONS, headers=bearer(tokens[role]), json=body).status_code == 403
        assert client.get(SUBSCRIPTIONS, headers=bearer(tokens[role])).status_code == 403
        assert client.get("/api/v1/webhooks/deliveries", headers=bearer(tokens[role])).status_code == 403
    admin = bearer(tokens["admin"])
    for url, reason in (("ftp://example.invalid/x", "only http and https"), ("javascript:alert(1)", "only http"),
                        ("file:///etc/passwd", "only http"), ("https://user:pw@example.invalid/", "password"),
                        ("https:///nohost", "no host"), ("https://example.invalid:99999/", "")):
        refused = client.post(SUBSCRIPTIONS, headers=admin, json={"url": url})
        assert refused.status_code == 422, url
        assert refused.json()["errors"][0]["field"] == "url" and reason in refused.json()["errors"][0]["reason"]
    unknown = client.post(SUBSCRIPTIONS, headers=admin, json={**body, "event_types": ["zone.deleted"]})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"].startswith("event_types")
    made = client.post(SUBSCRIPTIONS, headers=admin, json={**body, "event_types": ["zone.revoked"]})
    assert made.status_code == 201 and made.json()["secret"].startswith("whsec_")
    listed = client.get(SUBSCRIPTIONS, headers=admin)
    assert made.json()["secret"] not in listed.text and any(s["id"] == made.json()["id"]
                                                            for s in listed.json()["subscriptions"])
    rotated = client.patch(f"{SUBSCRIPTIONS}/{made.json()['id']}", headers=admin,
                           json={"rotate_secret": True, "active": False})
    assert rotated.status_code == 200 and rotated.json()["secret"] not in (None, made.json()["secret"])
    assert rotated.json()["active"] is False


def test_every_lifecycle_step_is_one_signed_delivery(
    client: TestClient, tokens: dict[str, str], receiver: Receiver, subscribe, settings: Settings, own_db: str,
    own_conn: psycopg.Connection,
) -> None:
    everything = subscribe(receiver.url + "/all", visibility="restricted")
    public = subscribe(receiver.url + "/public", event_types=["zone.designated", "zone.extended", "zone.amended",
                                                              "zone.revoked"])
    admin, legal = bearer(tokens["admin"]), bearer(tokens["legal"])
    now = timeutil.now()
    draft = client.post("/api/v1/zones", headers=admin, json=zone_feature(
        square(*offset(*AMAGER_FAELLED, 0, -1500), 150), name="Hookzone", publish=False,
        valid_from=local(now + dt.timedelta(hours=1)), valid_to=local(now + dt.timedelta(days=100))))
    assert draft.status_code == 201
    zone_id = draft.json()["id"]
    steps = [
        ("publish", {}),
        ("extend", {"valid_to": local(now + dt.timedelta(days=200)), "decision_ref": "HOOK-F1"}),
        ("amend", {"effective_from": local(now + dt.timedelta(hours=2)), "decision_ref": "HOOK-A1",
                   "geometry": square(*offset(*AMAGER_FAELLED, 0, -1500), 120)}),
    ]
    for action, body in steps:
        response = client.post(f"/api/v1/zones/{zone_id}/{action}", headers=legal, json=body)
        assert response.status_code in (200, 201), response.text
    assert client.patch(f"/api/v1/zones/{zone_id}", headers=admin, json={"name": "Hookzone Øst"}).status_code == 200
    assert client.post(f"/api/v1/zones/{zone_id}/revoke", headers=legal, json={"reason": "Ikke længere nødvendig"}
                       ).status_code == 200
    assert client.post(f"/api/v1/zones/{zone_id}/archive", headers=legal, json={}).status_code == 200
    # a refused step writes nothing, so it sends nothing (the event is in the change's own transaction)
    assert client.post(f"/api/v1/zones/{zone_id}/extend", headers=legal,
                       json={"valid_to": "2030-01-01", "decision_ref": "X"}).status_code == 409
    # an internal zone, published through the API and revoked through the CLI: a route that knows nothing of
    # webhooks still produces its event (the database trigger writes it)
    internal = client.post("/api/v1/zones", headers=admin, json=zone_feature(
        square(*offset(*AMAGER_FAELLED, 300, -1500), 150), name="Hookzone intern", visibility="internal"))
    assert internal.status_code == 201
    cli = subprocess.run([sys.executable, "-m", "geoservice.cli", "zones", "revoke", str(internal.json()["id"]),
                          "--reason", "Afsluttet"], env={**os.environ, "GEOSERVICE_DB_NAME": own_db},
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr

    assert sum(run_workers(settings, own_db)) == 8 + 4
    assert run_workers(settings, own_db) == [0]  # nothing is due again: nothing is sent twice
    bodies = {path: [orjson.loads(r["body"]) for r in receiver.requests if r["path"] == path]
              for path in ("/all", "/public")}
    assert [(b["type"], b["data"]["zone"]["id"]) for b in bodies["/all"]] == [
        ("zone.designated", zone_id), ("zone.extended", zone_id), ("zone.amended", zone_id),
        ("zone.updated", zone_id), ("zone.revoked", zone_id), ("zone.archived", zone_id),
        ("zone.designated", internal.json()["id"]), ("zone.revoked", internal.json()["id"])]
    # the public-level subscription: only its types, only public zones; never a word of the internal zone
    assert [b["type"] for b in bodies["/public"]] == ["zone.designated", "zone.extended", "zone.amended",
                                                      "zone.revoked"]
    assert all(b"Hookzone intern" not in r["body"] for r in receiver.requests if r["path"] == "/public")
    # every request verifies with the library; an altered body does not
    for request in receiver.requests:
        secret = everything["secret"] if request["path"] == "/all" else public["secret"]
        assert verify(secret, request)["id"] == request["headers"]["webhook-id"]
    with pytest.raises(WebhookVerificationError):
        verify(everything["secret"], {**receiver.requests[0], "body": receiver.requests[0]["body"] + b" "})
    with pytest.raises(WebhookVerificationError):
        verify(public["secret"], receiver.requests[0])  # another subscription's secret
    # what each event says
    extended, amended, updated, revoked = (bodies["/all"][i] for i in (1, 2, 3, 4))
    assert extended["data"]["version"]["decision_ref"] == "HOOK-F1" and extended["data"]["version"]["version"] == 2
    assert amended["data"]["version"]["change"] == "amendment"
    assert updated["data"]["changes"]["name"] == {"before": "Hookzone", "after": "Hookzone Øst"}
    assert revoked["data"]["revocation"]["reason"] == "Ikke længere nødvendig"
    assert all(len(set(receiver.ids(path))) == len(receiver.ids(path)) for path in ("/all", "/public"))
    # the delivery log
    log = client.get("/api/v1/webhooks/deliveries", headers=admin,
                     params={"subscription": everything["id"]}).json()["deliveries"]
    assert len(log) == 8 and {d["status"] for d in log} == {"delivered"}
    assert all(d["attempts"] == 1 and d["log"][0]["status_code"] == 200 for d in log)
    outbox = own_conn.execute("SELECT count(*) FROM feed_event WHERE zone_id = %s", (zone_id,)).fetchone()
    assert outbox is not None and outbox[0] == 6


def test_a_failing_receiver_gets_retries_with_backoff(
    client: TestClient, tokens: dict[str, str], receiver: Receiver, subscribe, settings: Settings, own_db: str,
) -> None:
    subscription = subscribe(receiver.url + "/flaky")
    [zone_id] = publish_zones(client, tokens, 1, "Retryzone", -1800)
    event = client.get("/api/v1/webhooks/deliveries", headers=bearer(tokens["admin"]),
                       params={"subscription": subscription["id"]}).json()["deliveries"][0]
    receiver.failures[event["event_id"]] = 2  # 500, 500, then 200
    run_workers(settings, own_db, until=lambda: len(receiver.requests) >= 3, timeout=20)
    assert receiver.ids() == [event["event_id"]] * 3  # the same id each time: receivers dedupe on it
    gaps = [b["at"] - a["at"] for a, b in zip(receiver.requests, receiver.requests[1:], strict=False)]
    assert gaps[0] >= POLICY.backoff_s and gaps[1] >= 2 * POLICY.backoff_s  # backoff, then twice that
    assert all(verify(subscription["secret"], r) for r in receiver.requests)  # re-signed each attempt
    [delivery] = client.get("/api/v1/webhooks/deliveries", headers=bearer(tokens["admin"]),
                            params={"subscription": subscription["id"]}).json()["deliveries"]
    assert delivery["status"] == "delivered" and delivery["attempts"] == 3
    assert [a["status_code"] for a in delivery["log"]] == [500, 500, 200]
    assert delivery["log"][0]["error"] == "HTTP 500" and orjson.loads(receiver.requests[0]["body"])[
        "data"]["zone"]["id"] == zone_id


def test_a_receiver_that_never_answers_fails_then_is_retried_by_the_admin(
    client: TestClient, tokens: dict[str, str], receiver: Receiver, subscribe, settings: Settings, own_db: str,
) -> None:
    admin = bearer(tokens["admin"])
    subscription = subscribe("http://127.0.0.1:9/nobody-listens")  # the discard port: connection refused
    publish_zones(client, tokens, 1, "Deadzone", -2100)

    def status() -> dict:
        return client.get("/api/v1/webhooks/deliveries", headers=admin,
                          params={"subscription": subscription["id"]}).json()["deliveries"][0]

    run_workers(settings, own_db, until=lambda: status()["status"] == "failed", timeout=30)
    failed = status()
    assert failed["status"] == "failed" and failed["attempts"] == POLICY.max_attempts
    assert all(a["status_code"] is None and a["error"] for a in failed["log"])
    assert client.post(f"/api/v1/webhooks/deliveries/{failed['id']}/retry", headers=bearer(tokens["legal"])
                       ).status_code == 403
    # the receiver is fixed: point the subscription at it and send the failed delivery again
    client.patch(f"{SUBSCRIPTIONS}/{subscription['id']}", headers=admin, json={"url": receiver.url + "/fixed"})
    assert client.post(f"/api/v1/webhooks/deliveries/{failed['id']}/retry", headers=admin).status_code == 202
    assert client.post(f"/api/v1/webhooks/deliveries/{failed['id']}/retry", headers=admin).status_code == 409
    run_workers(settings, own_db)
    assert receiver.ids("/fixed") == [failed["event_id"]] and status()["status"] == "delivered"


def test_workers_side_by_side_send_each_event_once(
    client: TestClient, tokens: dict[str, str], receiver: Receiver, subscribe, settings: Settings, own_db: str,
) -> None:
    subscribe(receiver.url + "/many")
    publish_zones(client, tokens, 16, "Manyzone", -2400)
    receiver.delay = 0.05
    attempts = run_workers(settings, own_db, claimers=6, pools=2)
    assert sum(attempts) == 16 and sum(1 for a in attempts if a) > 1  # the work was shared
    ids = receiver.ids("/many")
    assert len(ids) == 16 and len(set(ids)) == 16


def _worker_process(own_db: str) -> subprocess.Popen:
    env = {**os.environ, "GEOSERVICE_DB_NAME": own_db, "GEOSERVICE_WEBHOOK_POLL_SECONDS": "0.2",
           "GEOSERVICE_WEBHOOK_BACKOFF_SECONDS": "0.2", "GEOSERVICE_WEBHOOK_CONCURRENCY": "1"}
    return subprocess.Popen([sys.executable, "-m", "geoservice.cli", "webhooks", "deliver"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.slow
def test_killing_and_restarting_the_worker_loses_nothing(
    client: TestClient, tokens: dict[str, str], receiver: Receiver, subscribe, own_db: str,
    own_conn: psycopg.Connection,
) -> None:
    subscription = subscribe(receiver.url + "/kill")
    publish_zones(client, tokens, 8, "Killzone", -2700)
    receiver.hold_at = 4  # the 4th POST is received, and its answer held until the worker is dead

    def delivered() -> int:
        row = own_conn.execute("SELECT count(*) FROM webhook_delivery WHERE subscription_id = %s AND status = "
                               "'delivered'", (subscription["id"],)).fetchone()
        return row[0] if row else 0

    first = _worker_process(own_db)
    try:
        _wait(lambda: len(receiver.requests) >= 4, 60)
        assert delivered() == 3
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        first.kill()
    receiver.release.set()
    second = _worker_process(own_db)  # the service restarted (or another worker took over)
    try:
        _wait(lambda: delivered() == 8, 60)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(20) == 0, second.stderr.read() if second.stderr else ""
    ids = receiver.ids("/kill")
    held = ids[3]
    # nothing lost; the one in flight when the worker died is sent again with the same id (receivers dedupe on
    # webhook-id); every other event exactly once
    assert len(set(ids)) == 8
    assert {i: ids.count(i) for i in set(ids) if ids.count(i) > 1} == {held: 2}
    rows = own_conn.execute("SELECT status, attempts FROM webhook_delivery WHERE subscription_id = %s",
                            (subscription["id"],)).fetchall()
    assert sorted(rows) == [("delivered", 1)] * 8


def test_the_service_delivers_by_itself_woken_by_the_outbox(
    settings: Settings, own_db: str, own_conn: psycopg.Connection, tokens: dict[str, str], receiver: Receiver,
    subscribe,
) -> None:
    """The worker in the service's lifespan, polling only every 60 s: the outbox's NOTIFY at commit wakes it."""
    subscribe(receiver.url + "/service")
    # the worker of an earlier test may still be shutting down, with its LISTEN: only a session from now counts
    since = own_conn.execute("SELECT clock_timestamp()").fetchone()[0]
    app = create_app(settings.model_copy(update={"webhook_worker": True, "webhook_poll_seconds": 60.0}),
                     dbname=own_db)
    with TestClient(app, raise_server_exceptions=False) as service:
        _wait(lambda: own_conn.execute(  # listening
            "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query = %s"
            " AND backend_start >= %s", (f"LISTEN {CHANNEL}", since)).fetchone() is not None, 20)
        started = time.monotonic()
        [zone_id] = publish_zones(service, tokens, 1, "Servicezone", -3000)
        _wait(lambda: len(receiver.ids("/service")) == 1, 20)
        assert time.monotonic() - started < 10
    body = orjson.loads(receiver.requests[0]["body"])
    assert body["type"] == "zone.designated" and body["data"]["zone"]["id"] == zone_id
