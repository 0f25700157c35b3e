"""Chromium's NetLog, read as a stream: the browser's own network stack as a second witness.

Chromium writes the log (`--log-net-log=FILE`) while it runs: a JSON object whose first line holds
`"constants"` (event and source type numbers, error names), then `"events": [` and one event per
line (`{"params":...,"phase":N,"source":{...},"time":"...","type":N},`), and only when the browser
shuts down cleanly, `],"polledData": {...}}`. A log without that closing was cut short (the browser
crashed or was killed): what it says is true, but it may not say everything.

In `Everything` capture mode every byte sent and received is in the log, so the file grows with
what the page downloads. The reader goes line by line and decodes only the events a recorder asked
for, picking the type number from the end of the line first: received-bytes lines are skipped
without being parsed, and memory stays bounded by what the browser sent.

Also here: the host names the browser resolved or connected to (DNS exfiltration through a
resource hint or a request that never completes).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..evidence import DnsRecord
from ..hosts import host_of, is_ip, normalize_host
from . import Recorder

# Events whose parameters name a destination host, and the parameter that holds it.
HOST_PARAMS = {
    "HOST_RESOLVER_MANAGER_REQUEST": "host",
    "HOST_RESOLVER_DNS_TASK": "host",
    "HTTP_STREAM_JOB": "destination",
    "HTTP_STREAM_JOB_CONTROLLER": "url",
    "QUIC_SESSION_POOL_JOB": "host",
    "TRANSPORT_SECURITY_STATE_SHOULD_UPGRADE_TO_SSL": "host",
    "TCP_CLIENT_SOCKET_POOL_REQUESTED_SOCKET": "group_id",
    "SOCKET_POOL_CONNECT_JOB_CREATED": "group_id",
}
GROUP_HOST = re.compile(r"(?:https?|wss?)://([^/:\s<>]+)")
# The type number at the end of an event line (Chromium writes keys in sorted order).
TYPE_AT_END = re.compile(rb'"type":(\d+)\}\]?,?\s*$')
READ_CHUNK = 1 << 20


class NetLogError(Exception):
    """The log cannot be read: missing, empty, or not a NetLog."""


@dataclass
class NetLogEvent:
    type: str
    phase: int                    # 0 none, 1 begin, 2 end
    source_id: int
    source_type: str
    time_ms: float                # milliseconds since the Unix epoch
    params: dict[str, Any]


@dataclass
class NetLogStream:
    """One pass over a NetLog file; `events(wanted)` yields only the event types asked for."""

    path: Path
    complete: bool = False        # the closing of the log was seen: the browser shut down cleanly
    bad_lines: int = 0            # event lines that could not be decoded (other than a cut last line)
    lines: int = 0
    capture_mode: str = ""
    constants: dict[str, Any] = field(default_factory=dict)

    def events(self, wanted: Iterable[str]) -> Iterator[NetLogEvent]:
        try:
            handle = self.path.open("rb")
        except OSError as exc:
            raise NetLogError(f"the NetLog {self.path} cannot be read: {exc.strerror or exc}") from exc
        with handle:
            head = handle.readline()
            if not head.strip():
                raise NetLogError(f"the NetLog {self.path} is empty: the browser wrote nothing")
            try:
                self.constants = json.loads(head.rstrip().rstrip(b",") + b"}")["constants"]
                type_names = {v: k for k, v in self.constants["logEventTypes"].items()}
                source_names = {v: k for k, v in self.constants["logSourceType"].items()}
            except (ValueError, KeyError, TypeError) as exc:
                raise NetLogError(f"the NetLog {self.path} does not start with Chromium's constants") from exc
            self.capture_mode = str(self.constants.get("logCaptureMode", ""))
            offset = float(self.constants.get("timeTickOffset") or 0)
            wanted_ids = {num for num, name in type_names.items() if name in set(wanted)}
            pending_bad = 0
            for line in handle:
                self.lines += 1
                stripped = line.strip()
                if not stripped.startswith(b"{"):
                    if stripped.startswith(b'"polledData"') or stripped == b"}" or stripped.startswith(b"]"):
                        self.complete = True
                    continue
                found = TYPE_AT_END.search(stripped[-40:])
                if found is None:
                    pending_bad += 1  # a line cut short; only the last one may be
                    continue
                self.bad_lines += pending_bad
                pending_bad = 0
                if stripped.endswith(b"]"):
                    self.complete = True  # the last event: `...}]` then `"polledData"`
                if int(found.group(1)) not in wanted_ids:
                    continue
                text = stripped.rstrip(b",]")
                try:
                    event = json.loads(text)
                except ValueError:
                    self.bad_lines += 1
                    continue
                source = event.get("source") or {}
                params = event.get("params")
                yield NetLogEvent(type_names.get(event.get("type"), ""), int(event.get("phase", 0)),
                                  int(source.get("id", 0)), source_names.get(source.get("type"), ""),
                                  float(event.get("time") or 0) + offset,
                                  params if isinstance(params, dict) else {})
            if pending_bad and self.complete:
                self.bad_lines += pending_bad

    def error_name(self, code: int) -> str:
        """"net::ERR_NAME_NOT_RESOLVED" for -105, the way the page layer names errors."""
        for name, value in (self.constants.get("netError") or {}).items():
            if value == code:
                return "net::" + name
        return f"net::ERROR_{code}"


def read_netlog(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event type name, params) for the host-naming events of a NetLog, finished or not."""
    stream = NetLogStream(path)
    try:
        for event in stream.events(HOST_PARAMS):
            yield event.type, event.params
    except NetLogError:
        return


class HostNames:
    """Collects the host names the browser resolved or connected to, from NetLog events."""

    wanted = tuple(HOST_PARAMS)

    def __init__(self) -> None:
        self.seen: dict[str, bool] = {}
        self.sites: dict[str, str | None] = {}

    def feed(self, name: str, params: dict[str, Any]) -> None:
        key = HOST_PARAMS.get(name)
        value = params.get(key) if key else None
        if not isinstance(value, str) or not value:
            return
        if "://" in value:
            found = GROUP_HOST.search(value)
            host = normalize_host(found.group(1)) if found else host_of(value)
        else:
            host = normalize_host(value)
        if not host or host.startswith("~") or is_ip(host):
            return  # a host-resolver rule's target ("~notfound", 127.0.0.1), not a name a page used
        preconnect = bool(params.get("is_preconnect"))
        self.seen[host] = self.seen.get(host, False) or preconnect
        key_text = params.get("network_anonymization_key") or ""
        if not self.sites.get(host) and isinstance(key_text, str) and "://" in key_text:
            self.sites[host] = key_text.split()[0]

    def records(self) -> tuple[DnsRecord, ...]:
        return tuple(DnsRecord(host=h, source="netlog", preconnect=p, frame_url=self.sites.get(h))
                     for h, p in self.seen.items())


def hosts_in_netlog(path: Path) -> list[tuple[str, bool, str | None]]:
    """(host, is_preconnect, top-level site that caused it) in order of first appearance. Chromium's
    own background lookups are kept too: they never hold card data, and hiding them would hide
    what the browser really did."""
    names = HostNames()
    for name, params in read_netlog(path):
        names.feed(name, params)
    return [(r.host, r.preconnect, r.frame_url) for r in names.records()]


class NetLogRecorder(Recorder):
    """The network witness as a recorder. It has nothing to give while the browser runs: the log is
    whole only once Chromium has shut down, so `finish` reads it then and reconciles its requests
    with the page layer's. Without a log (a remote browser) the run has one witness."""

    name = "netlog"
    per_step = False

    def __init__(self, session: Any, netlog_path: Path | None = None, one_witness: str | None = None) -> None:
        super().__init__(session)
        self.path = netlog_path
        self.one_witness = one_witness  # why there is no NetLog, when that is accepted

    def finish(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Evidence fields once the browser is gone: requests of both witnesses, connections,
        DNS names and what the capture could see."""
        from ..evidence import CaptureRecord
        from .reconcile import reconcile
        from .wire import NetworkWitness

        if self.path is None:
            if self.one_witness:
                return {"capture": CaptureRecord(witnesses=("page",), complete=True, reason=(
                    f"one witness: {self.one_witness}; only the page layer was recorded"))}
            reason = ("one witness: a remote browser (connect:) keeps no NetLog card-audit can read, so "
                      "what the browser's network stack sent was not seen; set `witness: page-only` in "
                      "playwright.config.yaml to accept that")
            self.session.error("capture", reason)
            return {"capture": CaptureRecord(witnesses=("page",), complete=False, reason=reason)}
        stream = NetLogStream(self.path)
        names, witness = HostNames(), NetworkWitness()
        try:
            for event in stream.events((*names.wanted, *witness.wanted)):
                if event.type in HOST_PARAMS:
                    names.feed(event.type, event.params)
                if event.type in witness.wanted:
                    witness.feed(event)
        except NetLogError as exc:
            return self._broken(str(exc))
        except Exception as exc:  # noqa: BLE001 - a log this reader does not understand fails closed
            return self._broken(f"the NetLog could not be read: {type(exc).__name__}: {exc}")
        wall0 = self.session.wall_t0

        def to_seconds(time_ms: float) -> float:
            return round(max(0.0, time_ms / 1000 - wall0), 3)

        requests, ids = reconcile(tuple(fields.get("requests", ())), tuple(fields.get("websockets", ())),
                                  witness.legs(), stream.error_name, to_seconds)
        out: dict[str, Any] = {"requests": requests, "wire": witness.wire_records(ids, to_seconds),
                               "dns": names.records()}
        problems = []
        if stream.capture_mode and stream.capture_mode != "Everything":
            problems.append(f"the NetLog was written in {stream.capture_mode} mode, without the bytes sent")
        if not stream.complete:
            problems.append("the NetLog is truncated (the browser did not shut down cleanly): the "
                            "network stack's record may be missing what was sent last")
        if stream.bad_lines:
            problems.append(f"{stream.bad_lines} NetLog event line(s) could not be read")
        if problems:
            reason = "; ".join(problems)
            self.session.error("capture", "network witness: " + reason)
            out["capture"] = CaptureRecord(witnesses=("page", "network"), complete=False, reason=reason)
        else:
            out["capture"] = CaptureRecord(witnesses=("page", "network"), complete=True, reason=None)
        return out

    def _broken(self, message: str) -> dict[str, Any]:
        from ..evidence import CaptureRecord
        self.session.error("capture", "network witness: " + message)
        return {"capture": CaptureRecord(witnesses=("page",), complete=False, reason=message)}
