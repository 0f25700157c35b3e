"""The network witness: every request and every plaintext byte Chromium's network stack sent.

Built from the NetLog (`Everything` capture mode) after the browser has shut down:

- each URL request leg (`URL_REQUEST_START_JOB`, one per redirect hop): method, URL, the headers
  really sent (`HTTP_TRANSACTION_SEND_REQUEST_HEADERS`, the HTTP/2 and QUIC forms, or the headers the
  request was created with when it never reached a server), status, net error, initiator;
- each connection (`SOCKET_ALIVE`): its destination (the socket pool's group, `https://host:port`),
  its protocol (ALPN), and every plaintext byte sent over it (`SSL_SOCKET_BYTES_SENT`, or
  `SOCKET_BYTES_SENT` without TLS). While a connection is in use by one HTTP/1.1 request
  (`SOCKET_IN_USE`), its bytes are that request's head and body; over HTTP/2 the DATA frames of the
  request's stream are its body.

Received bytes are never kept. Nothing here knows about Playwright.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..evidence import WireRecord
from ..hosts import host_of, normalize_host
from ..wireformat import h2_data_by_stream
from .netlog import GROUP_HOST, NetLogEvent

WANTED = (
    "REQUEST_ALIVE", "URL_REQUEST_START_JOB", "CORS_REQUEST", "URL_REQUEST_REDIRECTED",
    "HTTP_TRANSACTION_SEND_REQUEST_HEADERS", "HTTP_TRANSACTION_HTTP2_SEND_REQUEST_HEADERS",
    "HTTP_TRANSACTION_QUIC_SEND_REQUEST_HEADERS", "HTTP_TRANSACTION_READ_RESPONSE_HEADERS",
    "HTTP_STREAM_REQUEST_BOUND_TO_JOB", "SOCKET_ALIVE", "SOCKET_IN_USE", "SOCKET_POOL_CONNECT_JOB_CREATED",
    "CONNECT_JOB_SET_SOCKET", "TCP_CONNECT", "SSL_CONNECT", "SSL_SOCKET_BYTES_SENT", "SOCKET_BYTES_SENT",
    "HTTP2_SESSION", "HTTP2_SESSION_SEND_HEADERS", "HTTP2_SESSION_INITIALIZED",
)
# Sec-Fetch-Dest (https://fetch.spec.whatwg.org/#concept-request-destination) to a resource type.
DEST_TYPES = {"document": "document", "iframe": "document", "frame": "document", "image": "image",
              "script": "script", "style": "stylesheet", "font": "font", "worker": "script",
              "sharedworker": "script", "serviceworker": "script", "audio": "media", "video": "media",
              "track": "media", "manifest": "manifest", "object": "object", "embed": "object",
              "report": "report", "empty": "fetch"}


@dataclass
class Leg:
    """One URL request hop as the network stack saw it."""

    source: int
    method: str
    url: str
    time_ms: float
    initiator: str | None = None
    site: str | None = None
    request_type: str = ""
    priority: str = ""
    headers: list[str] = field(default_factory=list)
    created_headers: list[str] = field(default_factory=list)  # before the transaction (CORS_REQUEST)
    status: int | None = None
    response_headers: list[str] = field(default_factory=list)
    net_error: int | None = None
    sent: bytearray = field(default_factory=bytearray)  # HTTP/1.1: this hop's bytes on the wire
    h2: tuple[int, int] | None = None   # (socket id, stream id) over HTTP/2
    connection: int | None = None       # socket id
    redirected: bool = False


@dataclass
class Connection:
    id: int
    job: int | None = None
    host: str = ""
    port: int | None = None
    tls: bool = False
    protocol: str = "unknown"
    sent: bytearray = field(default_factory=bytearray)
    in_use_by: int | None = None        # the stream job using it now (HTTP/1.1)
    legs: list[Leg] = field(default_factory=list)
    time_ms: float = 0.0


def _headers_list(value: Any) -> list[str]:
    if isinstance(value, dict):  # {"headers": [...], "line": "..."}
        value = value.get("headers")
    return [str(h) for h in value] if isinstance(value, list) else []


def _group_host(group: str) -> tuple[str, int | None]:
    """("cdn.example", 443) from a socket pool group id like `pmpsa/https://cdn.example <...>`."""
    found = GROUP_HOST.search(group)
    if not found:
        return "", None
    parts = urlsplit(group[found.start():].split()[0])
    try:
        port = parts.port or (443 if parts.scheme in ("https", "wss") else 80)
    except ValueError:
        port = None
    return normalize_host(parts.hostname or found.group(1)), port


class NetworkWitness:
    """Feed NetLog events in order (`feed`); read requests and connections at the end."""

    wanted = WANTED

    def __init__(self) -> None:
        self.requests: dict[int, list[Leg]] = {}
        self.order: list[Leg] = []
        self.pending: dict[int, dict[str, Any]] = {}   # request source -> facts before its first hop
        self.jobs: dict[int, Leg] = {}                 # stream job -> the hop it serves
        self.connections: dict[int, Connection] = {}
        self.connect_jobs: dict[int, tuple[str, int | None]] = {}
        self.sessions: dict[int, int] = {}             # HTTP/2 session source -> socket id
        self.h2_streams: dict[tuple[int, int], Leg] = {}
        self.job_conn: dict[int, int] = {}             # stream job -> the socket it used
        self.job_bytes: dict[int, bytearray] = {}      # stream job -> HTTP/1.1 bytes it sent
        self.first_ms: float | None = None

    # -- events ------------------------------------------------------------------------------
    def feed(self, ev: NetLogEvent) -> None:
        if self.first_ms is None:
            self.first_ms = ev.time_ms
        handler = getattr(self, "_on_" + ev.type.lower(), None)
        if handler is not None:
            handler(ev)

    def _leg(self, source: int) -> Leg | None:
        legs = self.requests.get(source)
        return legs[-1] if legs else None

    def _on_request_alive(self, ev: NetLogEvent) -> None:
        if ev.phase == 1:
            self.pending.setdefault(ev.source_id, {})["priority"] = ev.params.get("priority", "")
        elif ev.phase == 2 and "net_error" in ev.params:
            leg = self._leg(ev.source_id)
            if leg is not None and leg.net_error is None:
                leg.net_error = int(ev.params["net_error"])

    def _on_cors_request(self, ev: NetLogEvent) -> None:
        if ev.phase == 1:
            self.pending.setdefault(ev.source_id, {})["headers"] = _headers_list(ev.params.get("request_headers"))

    def _on_url_request_start_job(self, ev: NetLogEvent) -> None:
        p = ev.params
        if ev.phase == 2:
            leg = self._leg(ev.source_id)
            if leg is not None and p.get("net_error"):
                leg.net_error = int(p["net_error"])
            return
        if ev.phase != 1 or "url" not in p:
            return
        facts = self.pending.get(ev.source_id, {})
        nik = str(p.get("network_isolation_key") or "")
        leg = Leg(ev.source_id, str(p.get("method") or "GET"), str(p["url"]), ev.time_ms,
                  initiator=str(p["initiator"]) if p.get("initiator") else None,
                  site=nik.split()[0] if "://" in nik else None,
                  request_type=str(p.get("request_type") or ""), priority=facts.get("priority", ""),
                  created_headers=list(facts.get("headers") or []))
        previous = self._leg(ev.source_id)
        if previous is not None:
            previous.redirected = True
        self.requests.setdefault(ev.source_id, []).append(leg)
        self.order.append(leg)

    def _on_url_request_redirected(self, ev: NetLogEvent) -> None:
        leg = self._leg(ev.source_id)
        if leg is not None:
            leg.redirected = True

    def _on_http_transaction_send_request_headers(self, ev: NetLogEvent) -> None:
        leg = self._leg(ev.source_id)
        if leg is not None:
            leg.headers = _headers_list(ev.params.get("headers"))

    _on_http_transaction_http2_send_request_headers = _on_http_transaction_send_request_headers
    _on_http_transaction_quic_send_request_headers = _on_http_transaction_send_request_headers

    def _on_http_transaction_read_response_headers(self, ev: NetLogEvent) -> None:
        leg = self._leg(ev.source_id)
        headers = _headers_list(ev.params.get("headers"))
        if leg is None or not headers:
            return
        leg.response_headers = headers[1:]
        status = headers[0].split()
        if len(status) > 1 and status[1].isdigit():
            leg.status = int(status[1])
        elif headers[0].startswith(":status:"):
            leg.status = int(headers[0].split(":")[-1].strip() or 0) or None

    def _on_http_stream_request_bound_to_job(self, ev: NetLogEvent) -> None:
        leg = self._leg(ev.source_id)
        dep = ev.params.get("source_dependency") or {}
        if leg is not None and "id" in dep:
            self.jobs[int(dep["id"])] = leg

    def _connection(self, source: int, time_ms: float) -> Connection:
        conn = self.connections.get(source)
        if conn is None:
            conn = self.connections[source] = Connection(source, time_ms=time_ms)
        return conn

    def _on_socket_pool_connect_job_created(self, ev: NetLogEvent) -> None:
        group = ev.params.get("group_id")
        if isinstance(group, str):
            self.connect_jobs[ev.source_id] = _group_host(group)

    def _on_connect_job_set_socket(self, ev: NetLogEvent) -> None:
        dep = ev.params.get("source_dependency") or {}
        if "id" in dep and ev.source_id in self.connect_jobs:
            conn = self._connection(int(dep["id"]), ev.time_ms)
            conn.host, conn.port = self.connect_jobs[ev.source_id]

    def _on_socket_alive(self, ev: NetLogEvent) -> None:
        if ev.phase != 1:
            return
        conn = self._connection(ev.source_id, ev.time_ms)
        dep = ev.params.get("source_dependency") or {}
        if "id" in dep and int(dep["id"]) in self.connect_jobs and not conn.host:
            conn.host, conn.port = self.connect_jobs[int(dep["id"])]

    def _on_tcp_connect(self, ev: NetLogEvent) -> None:
        conn = self.connections.get(ev.source_id)
        address = ev.params.get("remote_address")
        if conn is not None and conn.port is None and isinstance(address, str) and ":" in address:
            conn.port = int(address.rsplit(":", 1)[1]) if address.rsplit(":", 1)[1].isdigit() else None

    def _on_ssl_connect(self, ev: NetLogEvent) -> None:
        conn = self._connection(ev.source_id, ev.time_ms)
        conn.tls = True
        proto = ev.params.get("next_proto")
        if ev.phase == 2 and isinstance(proto, str) and proto:
            conn.protocol = proto

    def _on_socket_in_use(self, ev: NetLogEvent) -> None:
        # The stream job using the socket is often bound to its request only later
        # (HTTP_STREAM_REQUEST_BOUND_TO_JOB comes once the stream is ready): bytes are kept by job.
        conn = self.connections.get(ev.source_id)
        if conn is None:
            return
        dep = ev.params.get("source_dependency") or {}
        conn.in_use_by = int(dep["id"]) if ev.phase == 1 and "id" in dep else None
        if conn.in_use_by is not None:
            self.job_conn.setdefault(conn.in_use_by, conn.id)

    def _on_http2_session(self, ev: NetLogEvent) -> None:
        dep = ev.params.get("source_dependency") or {}
        if ev.phase == 1 and "id" in dep:
            self.sessions[ev.source_id] = int(dep["id"])

    def _on_http2_session_initialized(self, ev: NetLogEvent) -> None:
        self._on_http2_session(NetLogEvent(ev.type, 1, ev.source_id, ev.source_type, ev.time_ms, ev.params))

    def _on_http2_session_send_headers(self, ev: NetLogEvent) -> None:
        # The session's HEADERS event does not name its request: it is paired with the first
        # HTTP/2 hop of the same method, authority and path that has no stream yet.
        socket = self.sessions.get(ev.source_id)
        stream = ev.params.get("stream_id")
        sent = header_dict(_headers_list(ev.params.get("headers")))
        leg = next((x for x in self.order if x.h2 is None and x.headers and x.headers[0].startswith(":")
                    and x.method == sent.get(":method") and _authority_path(x.url) ==
                    (sent.get(":authority"), sent.get(":path"))), None)
        if socket is not None and isinstance(stream, int) and leg is not None:
            leg.h2 = (socket, stream)
            leg.connection = socket
            self.h2_streams[(socket, stream)] = leg
            conn = self.connections.get(socket)
            if conn is not None:
                conn.legs.append(leg)

    def _sent(self, ev: NetLogEvent, conn: Connection) -> None:
        data = _bytes_of(ev.params)
        if not data:
            return
        conn.sent += data
        if conn.in_use_by is not None and conn.protocol != "h2":
            self.job_bytes.setdefault(conn.in_use_by, bytearray()).extend(data)

    def _on_ssl_socket_bytes_sent(self, ev: NetLogEvent) -> None:
        conn = self._connection(ev.source_id, ev.time_ms)
        self._sent(ev, conn)

    def _on_socket_bytes_sent(self, ev: NetLogEvent) -> None:
        conn = self.connections.get(ev.source_id)
        if conn is not None and not conn.tls:  # with TLS these bytes are ciphertext
            self._sent(ev, conn)

    # -- results ---------------------------------------------------------------------------
    def legs(self) -> list[Leg]:
        """Every hop, with its bytes: an HTTP/1.1 hop's from its stream job's time on a socket, an
        HTTP/2 hop's from its stream's DATA frames."""
        for job, socket in self.job_conn.items():
            leg, conn = self.jobs.get(job), self.connections.get(socket)
            if leg is None or conn is None or leg.connection is not None:
                continue
            leg.connection = socket
            leg.sent = self.job_bytes.get(job, bytearray())
            conn.legs.append(leg)
        for conn in self.connections.values():
            if not conn.host and conn.sent:
                # Not from a socket pool group (WebSocket connections have their own pool): the
                # request that used it, or the Host header it sent, names the destination.
                conn.host = next((host_of(leg.url) for leg in conn.legs if host_of(leg.url)), "") or \
                    _host_header(bytes(conn.sent[:8192]))
            if conn.protocol == "h2" and conn.sent:
                for stream, data in h2_data_by_stream(bytes(conn.sent)).items():
                    leg = self.h2_streams.get((conn.id, stream))
                    if leg is not None:
                        leg.sent = bytearray(data)
        return self.order

    def wire_records(self, ids: dict[int, str], to_seconds: Any) -> tuple[WireRecord, ...]:
        """One record per connection that sent anything, with the ids of its requests."""
        out = []
        for conn in self.connections.values():
            if not conn.sent:
                continue
            out.append(WireRecord(
                id=f"c{len(out) + 1}", host=conn.host, port=conn.port,
                protocol=conn.protocol if conn.tls else "http/1.1",
                sent_b64=base64.b64encode(bytes(conn.sent)).decode(),
                request_ids=tuple(dict.fromkeys(ids[id(leg)] for leg in conn.legs if id(leg) in ids)),
                time=to_seconds(conn.time_ms)))
        return tuple(out)


def _host_header(head: bytes) -> str:
    for line in head.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        name, sep, value = line.partition(b":")
        if sep and name.strip().lower() == b"host":
            return normalize_host(value.strip().decode("latin-1").rsplit(":", 1)[0])
    return ""


def _authority_path(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.netloc, (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _bytes_of(params: dict[str, Any]) -> bytes:
    """The bytes of a *_BYTES_SENT event: base64 in `bytes`, or hex in `hex_encoded_bytes`."""
    if isinstance(params.get("bytes"), str):
        try:
            return base64.b64decode(params["bytes"])
        except ValueError:
            return b""
    if isinstance(params.get("hex_encoded_bytes"), str):
        try:
            return bytes.fromhex(params["hex_encoded_bytes"])
        except ValueError:
            return b""
    return b""


def header_dict(lines: list[str]) -> dict[str, str]:
    """Lower-cased name -> value; repeated names joined as browsers do (", ", "; " for cookies)."""
    out: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(": ") if not line.startswith(":") else \
            (":" + line[1:].partition(": ")[0], ": ", line[1:].partition(": ")[2])
        if not sep:
            continue
        key = name.strip().lower()
        if key in out:
            out[key] += ("; " if key == "cookie" else ", ") + value
        else:
            out[key] = value
    return out


def resource_type(leg: Leg, headers: dict[str, str]) -> tuple[str, str]:
    """(resource type, channel) of a hop only the network stack saw, from what it carried: a
    navigation, an `<a ping>`, a beacon (sendBeacon: a keepalive POST at the lowest priority), a
    favicon, or the Sec-Fetch-Dest the browser stamped on it."""
    path = urlsplit(leg.url).path
    if leg.request_type in ("main frame", "sub frame"):
        return "document", "http"
    if "ping-to" in headers or "ping-from" in headers or headers.get("content-type", "").startswith("text/ping"):
        return "ping", "beacon"
    if headers.get("upgrade", "").lower() == "websocket" or leg.url.startswith(("ws:", "wss:")):
        return "websocket", "websocket"
    dest = headers.get("sec-fetch-dest", "")
    if dest == "empty" and leg.method == "POST" and leg.priority == "IDLE":
        return "beacon", "beacon"
    if path.endswith("/favicon.ico"):
        return "favicon", "http"
    if "text/event-stream" in headers.get("accept", ""):
        return "eventsource", "eventsource"
    if leg.method == "OPTIONS" and "access-control-request-method" in headers:
        return "preflight", "http"
    return DEST_TYPES.get(dest, "other"), "http"


def sender_of(leg: Leg) -> tuple[str, str]:
    """(source, sender) of a hop: the browser's own traffic (no initiator and not a navigation), or
    the initiator's origin and top-level site, or an explicit unknown."""
    if leg.initiator == "not an origin" and leg.request_type not in ("main frame", "sub frame"):
        return "browser", "the browser itself (no page initiated it)"
    if leg.initiator and leg.initiator != "not an origin":
        site = f", top-level site {leg.site}" if leg.site else ""
        return "unknown", f"a document or worker of {leg.initiator}{site}"
    if leg.request_type == "main frame":
        return "page", "a top-level navigation"
    return "unknown", "unknown sender"

