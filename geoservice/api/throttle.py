"""Failed authentication, throttled per client address.

Tokens carry 256 random bits, so guessing one is hopeless; the throttle is defence in depth, and it keeps a
flood of bad tokens from reaching the database. Per client address, at most `limit` failures are counted in a
fixed window of `window_s` seconds; once over, token attempts from that address are answered 429 with
`Retry-After` (the rest of the window) without a database lookup, except for tokens this process has accepted
before (by their hash), which are checked as usual: a staff member behind the same address as the guesser is
not locked out. A request with a valid token costs two dict lookups; valid tokens are never counted, and other
addresses are unaffected. The counts live in the server process (each worker counts for itself); behind a
reverse proxy, uvicorn's `--forwarded-allow-ips` must name the proxy so that the client address is the
caller's, not the proxy's.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from geoservice.errors import TooManyRequests

# Past this many addresses, windows that have ended are dropped (memory stays bounded under a spray of addresses).
PRUNE_ABOVE = 10_000


@dataclass
class _Window:
    start: float
    failures: int


class AuthThrottle:
    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._windows: dict[str, _Window] = {}
        self._accepted: set[bytes] = set()  # hashes of tokens accepted before (bounded by the tokens issued)

    def check(self, client: str, token_hash: bytes) -> None:
        """Raise TooManyRequests when the address has failed too often in its current window (unless the token
        was accepted before)."""
        window = self._windows.get(client)
        if window is None or window.failures < self.limit or token_hash in self._accepted:
            return
        left = window.start + self.window_s - time.monotonic()
        if left <= 0:
            del self._windows[client]
            return
        raise TooManyRequests(f"too many failed authentications from this address; try again in "
                              f"{math.ceil(left)} s", retry_after_s=math.ceil(left))

    def accepted(self, token_hash: bytes) -> None:
        if len(self._accepted) >= PRUNE_ABOVE:
            self._accepted.clear()  # forgetting only means such a token waits out a throttled window
        self._accepted.add(token_hash)

    def failed(self, client: str) -> None:
        now = time.monotonic()
        window = self._windows.get(client)
        if window is None or now - window.start >= self.window_s:
            if len(self._windows) >= PRUNE_ABOVE:
                self._prune(now)
            self._windows[client] = _Window(now, 1)
        else:
            window.failures += 1

    def _prune(self, now: float) -> None:
        for client in [c for c, w in self._windows.items() if now - w.start >= self.window_s]:
            del self._windows[client]
