"""The webhook delivery worker: in the service process (app lifespan) and as `geoservice webhooks deliver`.

Each delivery is claimed in a transaction of its own with FOR UPDATE SKIP LOCKED and kept locked while it is
POSTed, then its attempt is recorded and committed: two workers (tasks, processes, machines) never send one
delivery at the same time, and a worker that dies mid-attempt leaves the delivery pending for the next one.
Delivery is at least once: a worker that dies after the receiver answered but before the commit (a few
milliseconds) leaves it to be sent again, with the same `webhook-id`, which receivers dedupe on. A 2xx answer is
delivered; anything else (another status, a refused connection, a timeout, a redirect) is retried after backoff,
2x backoff, 4x ... (at most backoff_max) until max_attempts, then failed (the admin may retry it).

The worker wakes on the outbox's NOTIFY (sent when a transaction that fanned out an event commits), when the
next retry is due, and at least every poll interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

import httpx
import psycopg

from geoservice import timeutil
from geoservice.db import Database
from geoservice.feeds.webhooks import event_body, signed_headers
from geoservice.settings import Settings
from geoservice.store import webhooks as store

log = logging.getLogger("geoservice.webhooks")
CHANNEL = "geoservice_webhooks"


@dataclass(frozen=True)
class Policy:
    timeout_s: float
    backoff_s: float
    backoff_max_s: float
    max_attempts: int
    poll_s: float
    concurrency: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(settings.webhook_timeout_seconds, settings.webhook_backoff_seconds,
                   settings.webhook_backoff_max_seconds, settings.webhook_max_attempts,
                   settings.webhook_poll_seconds, settings.webhook_concurrency)

    def retry_in(self, attempts: int) -> float:
        """Seconds before the next attempt after `attempts` failed ones: backoff, 2x, 4x ... capped."""
        return min(self.backoff_s * 2 ** (attempts - 1), self.backoff_max_s)


def worker_base_url(settings: Settings) -> str:
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


class DeliveryWorker:
    def __init__(self, db: Database, policy: Policy, base_url: str) -> None:
        self.db = db
        self.policy = policy
        self.base_url = base_url
        self.wake = asyncio.Event()
        self.client = httpx.AsyncClient(timeout=policy.timeout_s, follow_redirects=False, trust_env=False)

    async def close(self) -> None:
        await self.client.aclose()

    async def deliver_one(self) -> bool:
        """Claim one due delivery, POST it and record the attempt; False when nothing is due."""
        async with self.db.connection() as conn, conn.transaction():
            row = await store.claim_due_delivery(conn)
            if row is None:
                return False
            body = event_body(row, self.base_url)
            started = timeutil.now()
            clock = time.monotonic()
            status_code, error = await self._post(row["url"], str(row["event_id"]), row["secret"], body)
            attempt = row["attempts"] + 1
            ok = status_code is not None and 200 <= status_code < 300
            if ok:
                outcome, retry = "delivered", None
            elif attempt >= self.policy.max_attempts:
                outcome, retry = "failed", None
            else:
                outcome, retry = "pending", self.policy.retry_in(attempt)
            await store.record_attempt(
                conn, row["id"], attempt_no=attempt, started_at=started,
                duration_ms=round((time.monotonic() - clock) * 1000), status_code=status_code, error=error,
                outcome=outcome, retry_in_seconds=retry)
        if not ok:
            log.info("webhook delivery %s to %s: attempt %s %s", row["id"], row["url"], attempt,
                     error or status_code)
        return True

    async def _post(self, url: str, msg_id: str, secret: str, body: bytes) -> tuple[int | None, str | None]:
        headers = signed_headers(secret, msg_id, int(time.time()), body)
        try:
            # the answer's body is not read: a receiver cannot make the worker download anything
            async with self.client.stream("POST", url, content=body, headers=headers) as response:
                code = response.status_code
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500]
        return code, None if 200 <= code < 300 else f"HTTP {code}"

    async def drain(self) -> int:
        """Deliver until nothing is due now; the number of attempts made."""
        count = 0
        while await self.deliver_one():
            count += 1
        return count

    async def _seconds_to_next_due(self) -> float:
        async with self.db.connection() as conn:
            due = await store.next_due(conn)
        if due is None:
            return self.policy.poll_s
        return max(0.0, min(self.policy.poll_s, (due - timeutil.now()).total_seconds()))

    async def _deliver_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                if await self.deliver_one():
                    continue
                wait = await self._seconds_to_next_due()
            except Exception:  # the database is away, or a bug: log it, try again later, never stop delivering
                log.exception("webhook worker")
                wait = self.policy.poll_s
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wait_any(stop), timeout=wait)

    async def _wait_any(self, stop: asyncio.Event) -> None:
        waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(self.wake.wait())]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _listen(self, stop: asyncio.Event) -> None:
        """Wake the delivery loops on the outbox's notification; polling covers the time it is not connected."""
        while not stop.is_set():
            try:
                conn = await psycopg.AsyncConnection.connect(self.db.conninfo, autocommit=True)
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.wake.set()  # anything that arrived while not listening
                    async for _ in conn.notifies():
                        self.wake.set()
            except (psycopg.Error, OSError) as exc:
                log.warning("webhook worker: not listening (%s); polling", exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.policy.poll_s)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set, with `concurrency` deliveries at a time."""
        listener = asyncio.create_task(self._listen(stop))
        try:
            await asyncio.gather(*(self._deliver_loop(stop) for _ in range(self.policy.concurrency)))
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener


class BackgroundWorker:
    """The worker as a task of the service process, stopped with the app."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.worker = DeliveryWorker(db, Policy.from_settings(settings), worker_base_url(settings))
        self.stop_event = asyncio.Event()
        self.task = asyncio.create_task(self.worker.run(self.stop_event), name="webhook-delivery")

    async def stop(self) -> None:
        self.stop_event.set()
        try:
            await asyncio.wait_for(self.task, timeout=self.worker.policy.timeout_s + 5)
        except TimeoutError:
            self.task.cancel()
        finally:
            await self.worker.close()
