"""A tiny local stand-in for the upstreams the service proxies (a tile server, a Dataforsyningen-style address
search), so the tests can count what reaches the upstream. It listens on 127.0.0.1 only."""

from __future__ import annotations

import contextlib
import json
import struct
import threading
import zlib
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

# Streets and addresses the fake register knows (EPSG:4326, as asked with srid=4326).
STREETS = {
    "istedgade": ("Istedgade, 1650 København V", [[12.5530, 55.6700], [12.5610, 55.6718], [12.5651, 55.6726]]),
    "kongens nytorv": ("Kongens Nytorv, 1050 København K", [[12.5843, 55.6794], [12.5867, 55.6806]]),
    "nørrebrogade": ("Nørrebrogade, 2200 København N", [[12.5540, 55.6930], [12.5480, 55.6990], [12.5420, 55.7040]]),
}
ADDRESSES = {"istedgade": ("Istedgade 12, 1650 København V", [12.5589, 55.6712])}


def street_tile() -> bytes:
    """A 256×256 PNG that looks like a street map: pale blocks between white streets with grey edges."""
    rows = []
    for y in range(256):
        row = bytearray([0])
        for x in range(256):
            on_street = (x % 64) < 8 or (y % 64) < 8
            edge = (x % 64) in (8, 63) or (y % 64) in (8, 63)
            row += bytes((255, 255, 255) if on_street else (190, 190, 190) if edge else (242, 239, 233))
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 256, 256, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


class FakeUpstream:
    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.failing = False
        self.tile = street_tile()
        self.base = ""

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlparse(handler.path)
        self.hits[url.path] += 1
        if self.failing:
            handler.send_error(503)
            return
        if url.path.startswith("/tiles/"):
            self._send(handler, 200, "image/png", self.tile)
        elif url.path.startswith("/gsearch/"):
            q = parse_qs(url.query).get("q", [""])[0].strip().lower()
            resource = url.path.rsplit("/", 1)[-1]
            items = []
            if resource == "navngivenvej" and q in STREETS:
                text, line = STREETS[q]
                items = [{"id": f"vej-{q}", "visningstekst": text,
                          "geometri": {"type": "MultiLineString", "coordinates": [line]}}]
            elif resource == "adresse" and q in ADDRESSES:
                text, point = ADDRESSES[q]
                items = [{"id": f"adr-{q}", "visningstekst": text, "geometri": {"type": "Point", "coordinates": point}}]
            self._send(handler, 200, "application/json", json.dumps(items).encode())
        else:
            handler.send_error(404)

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, media_type: str, body: bytes) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", media_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def tile_hits(self) -> int:
        return sum(n for path, n in self.hits.items() if path.startswith("/tiles/"))


@contextlib.contextmanager
def fake_upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fake.handle(self)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
