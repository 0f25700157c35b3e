"""LabWorld: the demo world plus a folder of extra hosts, for pages built to test the tool itself.

Every sub-folder of `sites_dir` is a host; its files are served as they are (`/` is `index.html`,
`/x` is `x` or `x.html`), with headers from an optional `<file>.headers` sidecar (`Name: value`
lines, e.g. a Content-Security-Policy) and `<!--#include NAME-->` replaced by
`sites_dir/_partials/NAME`, so many pages can share one checkout form. Everything else a lab host
gets is answered the way a collector answers:

- `/redirect?to=URL`: 302 (303 after a POST) to URL, for redirect chains and form relays;
- a WebSocket upgrade: the RFC 6455 handshake, then every frame the client sends is read, recorded
  as a `ReceivedRequest` with method "WS" and echoed back as "ok";
- `Accept: text/event-stream`: one event with a long `retry`, so an EventSource does not reconnect
  during an audit;
- `/never/...`: headers, then nothing until the browser gives up (a third party that never
  finishes answering);
- `/bytes/N`: N MiB (at most 512) of zero bytes, streamed (a page that downloads a lot);
- any other GET or POST: 204 (a GIF for images), recorded like every request.

Lab hosts reach the browser like demo hosts: `host_map()` covers both.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import re
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable
from urllib.parse import parse_qs, urlsplit

from audit.demo.ledger import Ledger
from audit.demo.server import DemoWorld, ReceivedRequest
from audit.demo.web import PIXEL_GIF, Request, Response, cors_headers, preflight

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3
INCLUDE = re.compile(rb"<!--#include\s+([A-Za-z0-9_.-]+)\s*-->")
TYPES = {".js": "text/javascript; charset=utf-8", ".html": "text/html; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".json": "application/json"}
MAX_WS_FRAME = 1 << 20


@dataclass
class StreamResponse(Response):
    """A response whose connection the site keeps: the server writes the head, then calls
    `stream(rfile, wfile)` and closes the connection when it returns."""

    stream: Callable[[BinaryIO, BinaryIO], None] | None = None


class LabWorld(DemoWorld):
    """`LabWorld(sites_dir, extra_hosts=("api.telegram.org",))`: demo hosts, one host per folder of
    `sites_dir`, and collector-only hosts that have no files."""

    def __init__(self, sites_dir: Path, extra_hosts: tuple[str, ...] = (), port: int = 0) -> None:
        self.sites_dir = Path(sites_dir)
        names = {p.name for p in self.sites_dir.iterdir() if p.is_dir() and not p.name.startswith("_")}
        names |= set(extra_hosts)
        super().__init__(port, {host: self._site(host) for host in sorted(names)})
        self.lab_hosts: tuple[str, ...] = tuple(sorted(names))

    def _site(self, host: str) -> Callable[[Request, Ledger], Response]:
        def handle(request: Request, ledger: Ledger) -> Response:
            return self._answer(host, request)

        handle.__name__ = f"lab_{re.sub(r'[^a-z0-9]', '_', host)}"
        return handle

    # -- answering ----------------------------------------------------------------------------
    def _answer(self, host: str, request: Request) -> Response:
        if request.method == "OPTIONS":
            return preflight(request)
        if request.headers.get("upgrade", "").lower() == "websocket":
            return self._websocket(host, request)
        if "text/event-stream" in request.headers.get("accept", ""):
            return StreamResponse(200, b"", {"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                             **cors_headers(request)}, stream=_one_event)
        if request.route.startswith("/never/"):
            kind = TYPES.get(Path(request.route).suffix, "application/octet-stream")
            return StreamResponse(200, b"", {"Content-Type": kind, "Cache-Control": "no-store"}, stream=_never)
        if request.route.startswith("/bytes/") and request.route[7:].isdigit():
            mib = min(int(request.route[7:]), 512)
            return StreamResponse(200, b"", {"Content-Type": "application/octet-stream", "Cache-Control": "no-store",
                                             "Content-Length": str(mib << 20), **cors_headers(request)},
                                  stream=lambda _r, w: _zeros(w, mib))
        if request.route == "/redirect":
            target = parse_qs(urlsplit(request.path).query).get("to", [""])[0]
            if target.startswith(("https://", "http://")):
                return Response(303 if request.method == "POST" else 302, b"",
                                {"Location": target, "Cache-Control": "no-store"})
        if request.method in ("GET", "HEAD"):
            found = self._file(host, request.route)
            if found is not None:
                return found
            if "image" in request.headers.get("accept", "") and "text/html" not in request.headers.get("accept", ""):
                return Response(200, PIXEL_GIF, {"Content-Type": "image/gif", "Cache-Control": "no-store"})
        return Response(204, b"", cors_headers(request))

    def _file(self, host: str, route: str) -> Response | None:
        root = (self.sites_dir / host).resolve()
        relative = route.lstrip("/") or "index.html"
        for candidate in (relative, relative + ".html"):
            path = (root / candidate).resolve()
            if root in path.parents and path.is_file() and not path.name.endswith(".headers"):
                break
        else:
            return None
        body = INCLUDE.sub(lambda m: self._partial(m.group(1).decode()), path.read_bytes())
        headers = {"Content-Type": TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
                   or "application/octet-stream", "Cache-Control": "no-store"}
        sidecar = path.with_name(path.name + ".headers")
        if sidecar.is_file():
            for line in sidecar.read_text().splitlines():
                name, sep, value = line.partition(":")
                if sep and name.strip() and not name.startswith("#"):
                    headers[name.strip()] = value.strip()
        return Response(200, body, headers)

    def _partial(self, name: str) -> bytes:
        path = self.sites_dir / "_partials" / name
        return path.read_bytes() if path.is_file() else b""

    # -- WebSocket (RFC 6455) -------------------------------------------------------------------
    def _websocket(self, host: str, request: Request) -> Response:
        key = request.headers.get("sec-websocket-key", "")
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()

        def serve(rfile: BinaryIO, wfile: BinaryIO) -> None:
            while True:
                frame = _read_frame(rfile)
                if frame is None:
                    return
                opcode, payload = frame
                if opcode == 0x8:  # close: answer it and stop
                    _write_frame(wfile, 0x8, payload[:2])
                    return
                if opcode == 0x9:  # ping
                    _write_frame(wfile, 0xA, payload)
                    continue
                if opcode in (0x1, 0x2, 0x0):
                    self._record(ReceivedRequest(host, "WS", request.path, request.headers, payload,
                                                 time.monotonic() - self._started(), 101))
                    _write_frame(wfile, 0x1, b"ok")

        return StreamResponse(101, b"", {"Upgrade": "websocket", "Connection": "Upgrade",
                                         "Sec-WebSocket-Accept": accept}, stream=serve)

    def _started(self) -> float:
        server = self._server
        return server.started if server is not None else time.monotonic()


def _zeros(wfile: BinaryIO, mib: int) -> None:
    chunk = bytes(1 << 20)
    try:
        for _ in range(mib):
            wfile.write(chunk)
        wfile.flush()
    except OSError:
        pass


def _never(rfile: BinaryIO, wfile: BinaryIO) -> None:
    """Answer nothing more; return when the browser closes the connection."""
    try:
        rfile.read(1)
    except OSError:
        pass


def _one_event(rfile: BinaryIO, wfile: BinaryIO) -> None:
    wfile.write(b"retry: 600000\ndata: ok\n\n")
    wfile.flush()


def _read_exact(rfile: BinaryIO, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        try:
            chunk = rfile.read(n - len(data))
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return data


def _read_frame(rfile: BinaryIO) -> tuple[int, bytes] | None:
    """One client frame (clients always mask, RFC 6455 section 5.3); None at end of stream."""
    head = _read_exact(rfile, 2)
    if head is None:
        return None
    opcode, length = head[0] & 0x0F, head[1] & 0x7F
    if length == 126:
        raw = _read_exact(rfile, 2)
        length = struct.unpack("!H", raw)[0] if raw else 0
    elif length == 127:
        raw = _read_exact(rfile, 8)
        length = struct.unpack("!Q", raw)[0] if raw else 0
    if length > MAX_WS_FRAME:
        return None
    mask = _read_exact(rfile, 4) if head[1] & 0x80 else b"\0\0\0\0"
    payload = _read_exact(rfile, length) if length else b""
    if mask is None or payload is None:
        return None
    return opcode, bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def _write_frame(wfile: BinaryIO, opcode: int, payload: bytes) -> None:
    """A server frame: final, unmasked (RFC 6455 section 5.1)."""
    size = len(payload)
    head = bytes([0x80 | opcode]) + (bytes([size]) if size < 126 else
                                      bytes([126]) + struct.pack("!H", size) if size < 65536 else
                                      bytes([127]) + struct.pack("!Q", size))
    try:
        wfile.write(head + payload)
        wfile.flush()
    except OSError:
        pass
