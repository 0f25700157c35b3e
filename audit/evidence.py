"""Evidence: the plain, JSON round-trippable record of one browser run.

Nothing here knows about Playwright. Recorders produce these records; detection, policy and every
output are pure functions of an `Evidence`, so `check` and `report` work on a saved run.
"""

from __future__ import annotations

import base64
import dataclasses
from dataclasses import dataclass, field
from typing import Any

# Where a request (or console line, or frame) came from.
SOURCES = ("page", "iframe", "popup", "worker", "service_worker", "browser", "unknown")
# The channel a piece of data left the browser on.
CHANNELS = ("http", "websocket", "beacon", "dns", "webrtc", "storage", "console", "eventsource", "wire")
# The two witnesses of what the browser sent: the page layer (Playwright's events and the page
# instrumentation) and the browser's own network stack (Chromium's NetLog).
WITNESSES = ("page", "network")


@dataclass(frozen=True)
class Card:
    """The canary card that is typed. `number` holds digits only."""

    number: str
    expiry: str = "12/34"
    cvc: str = "123"
    name: str = "Canary Cardholder"
    postal: str = "94107"

    def fields(self) -> dict[str, str]:
        return {"number": self.number, "expiry": self.expiry, "cvc": self.cvc,
                "name": self.name, "postal": self.postal}


@dataclass(frozen=True)
class RequestRecord:
    id: str                       # "r1", "r2", ... in order of first sight
    method: str
    url: str
    host: str
    resource_type: str            # Playwright's resource type (document, script, fetch, xhr, ping, ...)
    frame_url: str | None         # URL of the frame that issued it (None for workers)
    source: str                   # one of SOURCES; "from" in result.json
    page: int = 0                 # 0 = first page, 1.. = popups in order of opening
    channel: str = "http"         # http | beacon | websocket | eventsource | dns
    headers: dict[str, str] = field(default_factory=dict)
    body_b64: str | None = None   # request body, base64 of the raw bytes
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    failure: str | None = None    # Chromium's error text, e.g. net::ERR_BLOCKED_BY_CLIENT
    blocked_by_client: bool = False
    blocked_by: str | None = None  # "adblock" | "csp" | None: why the browser stopped it
    blocked_rule: str | None = None  # the ad blocker's filter that stopped it, as written in its list
    blocked_list: str | None = None  # the list that filter comes from
    redirected_from: str | None = None  # id of the request this one redirected from
    time: float = 0.0             # seconds since the run started
    seen_by: tuple[str, ...] = ("page",)  # the witnesses that saw it (WITNESSES)
    sender: str | None = None     # who sent it, when only the network stack saw it: the initiator's
                                  # origin and top-level site, or "unknown sender"

    @property
    def body(self) -> bytes:
        return base64.b64decode(self.body_b64) if self.body_b64 else b""


@dataclass(frozen=True)
class WebSocketFrame:
    direction: str                # "sent" | "received"
    payload_b64: str
    time: float = 0.0

    @property
    def payload(self) -> bytes:
        return base64.b64decode(self.payload_b64)


@dataclass(frozen=True)
class WebSocketRecord:
    id: str                       # "ws1", ...
    url: str
    host: str
    page: int = 0
    frames: tuple[WebSocketFrame, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class ConsoleRecord:
    type: str                     # log | info | warning | error | pageerror | ...
    text: str
    url: str | None = None        # source location of the message, when known
    frame_url: str | None = None
    page: int = 0
    source: str = "page"
    blocked_by_client: bool = False
    time: float = 0.0
    blocked_rule: str | None = None  # for a line about a request the ad blocker stopped
    blocked_list: str | None = None


@dataclass(frozen=True)
class FilterListRecord:
    """A filter list the run's ad blocker used."""

    name: str
    path: str
    sha256: str
    lines: int = 0


@dataclass(frozen=True)
class HiddenRecord:
    """Elements an ad blocker's element-hiding filter hid in a document, as a payer would not see them."""

    selector: str
    rule: str                     # the filter, as written in its list
    list: str
    frame_url: str | None
    page: int = 0
    count: int = 1                # elements the selector matched
    element: str = ""             # the first one, e.g. <button id="pay-button">
    text: str = ""                # its visible text, cut short
    step: int | None = None       # the failed step (1-based) whose target this hid, when it did
    time: float = 0.0


@dataclass(frozen=True)
class FrameRecord:
    index: int
    url: str
    host: str
    parent: int | None            # index of the parent frame, None for a top-level frame
    page: int = 0
    name: str = ""
    card_inputs: tuple[str, ...] = ()  # card fields held: number, cvc, expiry, name, postal
    typed_fields: tuple[str, ...] = ()  # card fields the canary was typed into in this frame
    hidden_inputs: tuple[str, ...] = ()  # card fields held but never shown to the payer (display
                                         # none, zero size, transparent, in a hidden frame)


@dataclass(frozen=True)
class CardFormRecord:
    """Card fields a payer could see (or that were there, hidden) in one document or shadow root."""

    frame: int                    # index into Evidence.frames
    frame_url: str
    host: str
    fields: tuple[str, ...]       # number, cvc, expiry, name
    where: str = "document"       # "document", or the shadow roots around it ("closed shadow root of <x-pay>")
    hidden: bool = False          # none of its fields was ever visible
    elements: tuple[str, ...] = ()  # input#cc-number[autocomplete=cc-number], ...
    page: int = 0
    time: float = 0.0             # seconds since the run started, when first seen
    seen_by: str = "sweep"        # sweep (the browser's DOM tree) | watch (the in-page watcher)
    screenshot: str | None = None  # the page with the form outlined, relative to the output folder


@dataclass(frozen=True)
class KeystrokeRecord:
    """One card field typed the way a payer types it: where the mouse clicked, and which element
    of which frame had the focus when the keys were pressed."""

    field: str
    target: str                   # the field the payer meant to click (element description)
    target_frame_url: str
    target_host: str
    landed: str                   # the element that had focus while typing ("" when none did)
    landed_frame_url: str
    landed_host: str
    page: int = 0
    x: float = 0.0                # the click, in the page's viewport
    y: float = 0.0
    covered_by: str | None = None  # the element on top of the field at (x, y), when not the field
    cover_frame_url: str | None = None
    cover_host: str | None = None
    time: float = 0.0


@dataclass(frozen=True)
class ScriptRecord:
    url: str                      # script URL, or "inline"
    frame_url: str | None
    sha384: str                   # "sha384-<base64>", the SRI form
    sri: str | None = None        # the integrity attribute, when the loading tag had one
    page: int = 0
    size: int = 0


@dataclass(frozen=True)
class StorageRecord:
    origin: str
    kind: str                     # cookie | localStorage | sessionStorage | indexedDB
    key: str
    value: str
    page: int = 0


@dataclass(frozen=True)
class ApiCallRecord:
    """A call to a browser API that sends data, seen by instrumentation injected into every frame
    before page scripts run. It keeps what the network layer cannot show: the body of an attempt
    the browser then refused (CSP), and WebRTC data, which never appears as a request."""

    kind: str                     # fetch | xhr | beacon | websocket | eventsource | rtc-ice | rtc-label | rtc-send
    url: str | None
    data: str                     # the data handed to the API, as text (binary as base64)
    frame_url: str | None = None
    page: int = 0
    time: float = 0.0
    script: str | None = None     # URL of the script that made the call, from its stack


@dataclass(frozen=True)
class DnsRecord:
    """A host name the browser resolved or connected to (NetLog), or was hinted to (resource hints)."""

    host: str
    source: str = "netlog"        # netlog | hint
    preconnect: bool = False
    frame_url: str | None = None


@dataclass(frozen=True)
class WireExcerpt:
    """Where the wire sweep found card data in the bytes of a connection that were not all kept:
    what it found, and the bytes around it (of the piece the sweep cut out: a body, a frame's
    payload, a window of raw bytes), so that judging the record again finds it again."""

    what: str                     # the piece: "body", "websocket frame", "stream 3 data", "bytes", ...
    field: str                    # number | cvc | expiry | name | postal
    encoding: str                 # as found by the sweep, outermost first
    context_ok: bool = True
    offset: int = 0               # where the kept bytes start in that piece
    sent_b64: str = ""            # the kept bytes (may be empty when the region was too large to keep)

    @property
    def sent(self) -> bytes:
        return base64.b64decode(self.sent_b64) if self.sent_b64 else b""


@dataclass(frozen=True)
class WireRecord:
    """The plaintext bytes the network stack sent over one connection (NetLog, TLS already
    removed): HTTP/1.1 requests and their bodies, WebSocket frames, HTTP/2 frames. Searched as a
    whole, whatever requests were parsed out of it.

    While a run is live `sent_b64` holds every byte. A record read back from a result.json whose
    connection sent more than the stored cap holds only the first bytes; `size` and `sha256` then
    describe all of them, and `excerpts` keep the card data the sweep found in the whole."""

    id: str                       # "c1", ... in order of first sight
    host: str                     # the destination the connection was opened for
    port: int | None = None
    protocol: str = "http/1.1"    # http/1.1 | h2 | unknown (ALPN of the connection)
    sent_b64: str = ""            # every plaintext byte sent, in order (or the first ones, see size)
    request_ids: tuple[str, ...] = ()  # ids of the requests that went over it
    time: float = 0.0
    size: int = 0                 # bytes sent in all, when `sent_b64` keeps only the first ones; else 0
    sha256: str = ""              # of all the bytes sent, when `sent_b64` keeps only the first ones
    excerpts: tuple[WireExcerpt, ...] = ()

    @property
    def sent(self) -> bytes:
        return base64.b64decode(self.sent_b64) if self.sent_b64 else b""

    @property
    def cut(self) -> bool:
        """True when only the first bytes of the connection are held."""
        return self.size > 0


@dataclass(frozen=True)
class StepRecord:
    action: str
    target: str
    ok: bool
    error: str | None = None
    screenshot: str | None = None  # path relative to the output folder
    duration_s: float = 0.0
    time: float = 0.0             # when the step began, seconds since the run started (as requests)


@dataclass(frozen=True)
class ErrorRecord:
    stage: str                    # capture | step | browser
    message: str


@dataclass(frozen=True)
class CaptureRecord:
    """What the run could see, and whether capture ran to its end.

    `complete` is false when capture had to stop before the page was done: the network was still
    busy at the settle bound, the run reached its deadline, or card-audit was stopped. `reason`
    says which. `on_bound` is the scenario's choice for an incomplete capture (`inconclusive`, or
    `judge` what was seen). `witnesses` are those the run had (WITNESSES): a NetLog that is
    missing or cut short makes capture incomplete too, and says so in `reason`."""

    witnesses: tuple[str, ...] = ("page",)
    complete: bool = True
    reason: str | None = None
    on_bound: str = "inconclusive"
    clock_forward_ms: int = 0     # how far the page clock was moved after the flow
    quiet_ms: int = 0             # the network quiet waited for after the flow


@dataclass(frozen=True)
class Evidence:
    scenario_name: str
    scenario_file: str
    processor: str
    start_url: str
    card: Card
    started_at: str
    duration_s: float = 0.0
    completed: bool = False
    browser: str = ""             # browser product and version
    steps: tuple[StepRecord, ...] = ()
    requests: tuple[RequestRecord, ...] = ()
    websockets: tuple[WebSocketRecord, ...] = ()
    console: tuple[ConsoleRecord, ...] = ()
    frames: tuple[FrameRecord, ...] = ()
    scripts: tuple[ScriptRecord, ...] = ()
    storage: tuple[StorageRecord, ...] = ()
    api_calls: tuple[ApiCallRecord, ...] = ()
    dns: tuple[DnsRecord, ...] = ()
    card_forms: tuple[CardFormRecord, ...] = ()
    keystrokes: tuple[KeystrokeRecord, ...] = ()
    evasions_open: tuple[str, ...] = ()  # ways a page can still tell this browser from a payer's
    wire: tuple[WireRecord, ...] = ()
    page_headers: dict[str, str] = field(default_factory=dict)  # response headers of the start page
    screenshots: tuple[str, ...] = ()
    errors: tuple[ErrorRecord, ...] = ()
    adblock: bool = False
    adblock_mode: str = ""        # processor | lists | custom, when adblock
    adblock_lists: tuple[FilterListRecord, ...] = ()
    hidden: tuple[HiddenRecord, ...] = ()
    tool_version: str = ""
    notes: tuple[str, ...] = ()   # things worth knowing that do not make the run inconclusive
    capture: CaptureRecord = field(default_factory=CaptureRecord)
    # the scenario file inside its repository and the line of each step (audit.source)
    scenario_source: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Evidence":
        return _build(cls, data)


def _build(cls: type, data: Any) -> Any:
    """Rebuild nested frozen dataclasses from `to_dict` output."""
    kwargs = {}
    hints = {f.name: f for f in dataclasses.fields(cls)}
    nested = {
        "card": Card, "steps": StepRecord, "requests": RequestRecord, "websockets": WebSocketRecord,
        "console": ConsoleRecord, "frames": FrameRecord, "scripts": ScriptRecord,
        "storage": StorageRecord, "errors": ErrorRecord, "api_calls": ApiCallRecord, "dns": DnsRecord,
        "adblock_lists": FilterListRecord, "hidden": HiddenRecord,
        "capture": CaptureRecord,
        "card_forms": CardFormRecord, "keystrokes": KeystrokeRecord,
        "wire": WireRecord,
    }
    for name, value in data.items():
        if name not in hints:
            continue  # tolerate fields added by later versions
        if cls is WebSocketRecord and name == "frames":
            value = tuple(_build(WebSocketFrame, v) for v in value)
        elif cls is WireRecord and name == "excerpts":
            value = tuple(_build(WireExcerpt, v) for v in value)
        elif name in nested:
            target = nested[name]
            if isinstance(value, list):
                value = tuple(_build(target, v) for v in value)
            elif isinstance(value, dict):
                value = _build(target, value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[name] = value
    return cls(**kwargs)
