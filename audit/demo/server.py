"""DemoWorld: one local HTTPS server on 127.0.0.1 serving every demo host by its `Host` header.

Chromium reaches it through `--host-resolver-rules` (see `host_map`), so pages keep their real
hostnames, origins and CSPs, and nothing ever leaves the machine. Every request the server gets is
kept in `received`, so tests can assert on what really arrived where.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from audit.demo.hosts import SITES, Site
from audit.demo.ledger import Ledger
from audit.demo.tls import TlsMaterial, make_tls
from audit.demo.web import Request, Response, not_found


@dataclass(frozen=True)
class ReceivedRequest:
    host: str
    method: str
    path: str                     # path plus query string, as sent
    headers: dict[str, str]       # lower-cased names
    body: bytes
    time: float = 0.0             # seconds since the world started
    status: int = 0               # what the world answered

    @property
    def url(self) -> str:
        return f"https://{self.host}{self.path}"

    @property
    def text(self) -> str:
        """Everything the browser sent in this request that could carry data: URL and body."""
        return self.url + "\n" + self.body.decode("utf-8", "replace")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, as Chromium expects; every answer has a length
    server: "_Server"

    def version_string(self) -> str:
        return "nginx"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        host = headers.get("host", "").rsplit(":", 1)[0].lower().rstrip(".")
        request = Request(host, self.command, self.path, headers, body)
        site = self.server.sites.get(host)
        try:
            response = site(request, self.server.ledger) if site else not_found(f"No such host: {host}")
        except Exception as exc:  # a broken page must show up as a 500, not a hung browser
            response = Response(500, f"{type(exc).__name__}: {exc}\n".encode(),
                                {"Content-Type": "text/plain"})
        self.server.record(ReceivedRequest(host, self.command, self.path, headers, body,
                                           time.monotonic() - self.server.started, response.status))
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        for cookie in response.cookies:
            self.send_header("Set-Cookie", cookie)
        stream = getattr(response, "stream", None)
        if stream is not None:
            # An upgraded or streamed connection (WebSocket, EventSource): the site takes it over.
            self.end_headers()
            self.wfile.flush()
            self.close_connection = True
            stream(self.rfile, self.wfile)
            return
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve

    def log_message(self, format: str, *args: object) -> None:
        pass  # `received` is the log; stderr stays for the tool's own progress lines


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, context: ssl.SSLContext,
                 record: Callable[[ReceivedRequest], None], sites: dict[str, Site]) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.sites = sites
        # The TLS handshake is deferred to the request thread, so one stalled client cannot
        # hold up `accept` for everyone else.
        self.socket = context.wrap_socket(self.socket, server_side=True,
                                          do_handshake_on_connect=False)
        self.ledger = Ledger()
        self.record = record
        self.started = time.monotonic()

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients closing mid-handshake or mid-keep-alive are normal for a browser

    def finish_request(self, request: socket.socket, client_address: object) -> None:
        try:
            if isinstance(request, ssl.SSLSocket):
                request.settimeout(30)
                request.do_handshake()
            super().finish_request(request, client_address)
        except (ssl.SSLError, OSError):
            pass


class DemoWorld:
    """Start with `with DemoWorld() as world:` or world.start()/world.stop()."""

    def __init__(self, port: int = 0, extra_sites: dict[str, Site] | None = None) -> None:
        """`port` 0 picks a free port; a fixed one lets a browser profile outlive restarts.
        `extra_sites` adds (or replaces) hosts, e.g. a lab of skimmer pages (`audit.demo.lab`)."""
        self.sites: dict[str, Site] = {**SITES, **(extra_sites or {})}
        self.hostnames: tuple[str, ...] = tuple(self.sites)
        self.port: int = port
        self._tls: TlsMaterial | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._received: list[ReceivedRequest] = []

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> "DemoWorld":
        if self._server is not None:
            return self
        self._tls = make_tls(self.hostnames)
        self._server = _Server(self.port, self._tls.server_context(), self._record, self.sites)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="demo-world",
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> "DemoWorld":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- how a browser reaches it -------------------------------------------------------------
    def host_map(self) -> dict[str, str]:
        return {host: f"127.0.0.1:{self.port}" for host in self.hostnames}

    def resolver_rules(self) -> str:
        """The value for Chromium's --host-resolver-rules; every other name fails to resolve."""
        rules = [f"MAP {host} {address}" for host, address in self.host_map().items()]
        return ", ".join(rules + ["MAP * ~NOTFOUND"])

    def url(self, path: str = "/", host: str = "invoices.example.test") -> str:
        return f"https://{host}/{path.lstrip('/')}"

    @property
    def spki_sha256(self) -> str:
        if self._tls is None:
            raise RuntimeError("DemoWorld is not started")
        return self._tls.spki_sha256

    @property
    def ca_pem(self) -> bytes:
        if self._tls is None:
            raise RuntimeError("DemoWorld is not started")
        return self._tls.ca_pem

    @property
    def ledger(self) -> Ledger:
        if self._server is None:
            raise RuntimeError("DemoWorld is not started")
        return self._server.ledger

    # -- what arrived -------------------------------------------------------------------------
    def _record(self, request: ReceivedRequest) -> None:
        with self._lock:
            self._received.append(request)

    @property
    def received(self) -> list[ReceivedRequest]:
        """A snapshot, in arrival order; safe to read while the server keeps receiving."""
        with self._lock:
            return list(self._received)

    def clear_received(self) -> None:
        with self._lock:
            self._received.clear()

    def wait_for(self, predicate: Callable[[ReceivedRequest], bool],
                 timeout: float = 5.0) -> ReceivedRequest | None:
        """The first received request matching `predicate`, waiting up to `timeout` seconds for
        late senders (beacons, timers); None when none came."""
        deadline = time.monotonic() + timeout
        while True:
            for request in self.received:
                if predicate(request):
                    return request
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)
