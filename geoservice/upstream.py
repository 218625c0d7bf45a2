"""What the tile proxy and the geocoder share: an HTTP client for one configured upstream and a disk cache.

The browser only ever talks to this service; the service asks the upstream (a tile server, an address search)
and keeps each answer on disk for a configured time, so a second asker costs the upstream nothing and no third
party learns who looks where. A stale copy is served when the upstream is down.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from geoservice import __version__


@dataclass(frozen=True)
class Cached:
    content: bytes
    media_type: str
    fresh: bool


class DiskCache:
    """Files under `root`, one per key (a hash, in two levels of folders), each with its media type beside it.
    Written atomically (a temporary file renamed into place), so a reader never sees half a tile."""

    def __init__(self, root: Path, max_age_s: float) -> None:
        self.root = root
        self.max_age_s = max_age_s

    def _path(self, key: str) -> Path:
        digest = hashlib.sha256(key.encode()).hexdigest()
        return self.root / digest[:2] / digest[2:]

    def get(self, key: str) -> Cached | None:
        path = self._path(key)
        try:
            meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
            content = path.read_bytes()
            age = time.time() - path.stat().st_mtime
        except (OSError, ValueError):
            return None
        return Cached(content, meta["media_type"], fresh=age <= self.max_age_s)

    def put(self, key: str, content: bytes, media_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(path.with_suffix(".json"), json.dumps({"media_type": media_type, "key": key}).encode())
        _atomic_write(path, content)


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def client(timeout_s: float, user_agent: str | None) -> httpx.AsyncClient:
    """An HTTP client for an upstream: a clear User-Agent (tile servers' usage policies ask for one), a timeout,
    no redirects followed (an upstream cannot send the service elsewhere), no proxy or netrc from the environment."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_s),
        headers={"User-Agent": user_agent or f"geoservice/{__version__}"},
        follow_redirects=False,
        trust_env=False,
    )
