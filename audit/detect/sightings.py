"""Where the canary card shows up in the evidence: every channel, every encoding (pure)."""

from __future__ import annotations

import base64
import re
from urllib.parse import unquote_to_bytes
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Iterable

from audit.evidence import Card, Evidence
from audit.hosts import host_of
from .match import CardMatch, find_card, find_split_number, scan_card
from .wire import wire_hits

# Chromium's console wording for a request the page's CSP refused, old and new forms.
CSP_LINE = re.compile(
    r"(?:Refused to (?:connect to|load(?: the)? \w+|frame|send form data to|create a worker from)|"
    r"Connecting to|Loading the \w+|Framing|Sending form data to)\s+'([^']+)'.*?(?:violates|because it violates)",
    re.S)
API_CHANNEL = {"fetch": "http", "xhr": "http", "beacon": "beacon", "websocket": "websocket",
               "eventsource": "eventsource", "rtc-ice": "webrtc", "rtc-label": "webrtc",
               "rtc-send": "webrtc", "rtc-sdp": "webrtc", "dns-hint": "dns"}
EXCERPT = 48
# A STUN/TURN server URL (RFC 7064, RFC 7065): the peer a WebRTC configuration names.
ICE_URL = re.compile(r"^(?:stuns?|turns?):\[?([A-Za-z0-9.\-_:]+?)\]?(?::\d+)?(?:\?.*)?$", re.I)


@dataclass(frozen=True)
class Sighting:
    """One place a card field was found."""

    field: str
    encoding: str
    channel: str                 # http | websocket | beacon | dns | webrtc | storage | console | eventsource
    host: str
    url: str | None
    location: str                # url | host | header:<name> | body | frame | data | value
    excerpt: str
    request_id: str | None = None
    frame_url: str | None = None
    blocked: bool = False
    blocked_by: str | None = None
    context_ok: bool = True
    script: str | None = None    # the script that sent it, when instrumentation saw the call


def _excerpt(data: bytes, match: CardMatch) -> str:
    if match.offset < 0:
        return data[:EXCERPT * 2].decode("utf-8", "replace")
    start = max(0, match.offset - EXCERPT // 2)
    end = min(len(data), match.offset + max(match.length, 1) + EXCERPT // 2)
    text = data[start:end].decode("utf-8", "replace")
    return ("…" if start else "") + text + ("…" if end < len(data) else "")


# The field of a sighting that says a payload was not searched to the end (its encoding names why).
UNSEARCHED = "unsearched"


def _scan(data: bytes, card: Card, **where: object) -> Iterable[Sighting]:
    if not data:
        return
    scan = scan_card(data, card)
    for match in scan.matches:
        yield Sighting(field=match.field, encoding=match.encoding, excerpt=_excerpt(data, match),
                       context_ok=match.context_ok, **where)  # type: ignore[arg-type]
    if scan.unsearched:
        yield Sighting(field=UNSEARCHED, encoding="; ".join(scan.unsearched), excerpt="",
                       context_ok=False, **where)  # type: ignore[arg-type]


def ice_host(urls: str) -> str:
    """The host of the first STUN/TURN URL in a space-separated list, "" when none names one."""
    for url in urls.split():
        m = ICE_URL.match(url)
        if m:
            return m.group(1).lower()
    return ""


def csp_blocked_urls(evidence: Evidence) -> list[tuple[str, str | None]]:
    """(URL, frame URL) of every request the page's CSP refused, read from console lines: the
    browser makes no request event for these, the console line is all there is."""
    found = []
    for line in evidence.console:
        for url in CSP_LINE.findall(line.text):
            found.append((url, line.frame_url))
    return found


def _callers(evidence: Evidence) -> dict[str, str]:
    """URL → the script that asked for it, from the instrumented API calls."""
    out: dict[str, str] = {}
    for call in evidence.api_calls:
        if call.url and call.script:
            out.setdefault(call.url, call.script)
    return out


def find_sightings(evidence: Evidence) -> list[Sighting]:
    out = _find(evidence)
    callers = _callers(evidence)
    return [s if s.script or not s.url or s.url not in callers else replace(s, script=callers[s.url])
            for s in out]


def _find(evidence: Evidence) -> list[Sighting]:
    card = evidence.card
    out: list[Sighting] = []
    for req in evidence.requests:
        blocked = req.blocked_by is not None
        common = dict(host=req.host, url=req.url, request_id=req.id, frame_url=req.frame_url,
                      blocked=blocked, blocked_by=req.blocked_by)
        channel = req.channel
        host_hits = list(_scan(req.host.encode(), card, channel="dns", location="host", **common))
        out += host_hits
        if not host_hits:
            out += _scan(req.url.encode(), card, channel=channel, location="url", **common)
        for name, value in req.headers.items():  # every header: a card in the Referer or a
            # Cookie reaches the host the request went to
            out += _scan(value.encode(), card, channel=channel, location=f"header:{name.lower()}", **common)
        out += _scan(req.body, card, channel=channel, location="body", **common)
    for ws in evidence.websockets:
        common = dict(host=ws.host, url=ws.url, request_id=ws.id, channel="websocket")
        out += _scan(ws.url.encode(), card, location="url", **common)
        for frame in ws.frames:
            if frame.direction == "sent":
                out += _scan(frame.payload, card, location="frame", **common)
    csp = {url for url, _ in csp_blocked_urls(evidence)}
    for url, frame_url in csp_blocked_urls(evidence):
        out += _scan(url.encode(), card, channel="http", host=host_of(url), url=url, location="url",
                     frame_url=frame_url, blocked=True, blocked_by="csp")
    # A call whose request was recorded with its body is already judged by that request. One whose
    # body the network layer did not get (a stream, a Blob, a keepalive send) is judged here.
    with_body = {r.url for r in evidence.requests if r.body_b64} | {w.url for w in evidence.websockets}
    on_the_wire = {r.url for r in evidence.requests}
    for call in evidence.api_calls:
        url = call.url if call.url and "://" in call.url else None
        if not call.kind.startswith("rtc") and (url in with_body or (url in on_the_wire and not call.data)):
            continue
        host = host_of(url) if url else ""
        if call.kind == "rtc-ice" and call.url:
            host = ice_host(call.url)
        blocked = url in csp if url else False
        common = dict(channel=API_CHANNEL.get(call.kind, "http"), host=host, url=url or call.url,
                      frame_url=call.frame_url, blocked=blocked, blocked_by="csp" if blocked else None,
                      script=call.script)
        data = call.data.encode()
        if call.data.startswith("base64:"):
            try:
                data = base64.b64decode(call.data[7:])
            except ValueError:
                pass
        out += _scan(data, card, location="data", **common)
        if call.kind.startswith("rtc") and call.url:
            out += _scan(call.url.encode(), card, location="url", **common)
        if call.kind == "dns-hint" and host:
            out += _scan(host.encode(), card, location="host", **common)
    for name in evidence.dns:
        out += _scan(name.host.encode(), card, channel="dns", host=name.host, url=None,
                     location="host (preconnect)" if name.preconnect else "host", frame_url=name.frame_url)
    for item in evidence.storage:
        origin_host = host_of(item.origin) or item.origin.lstrip(".").lower()
        out += _scan(f"{item.key}={item.value}".encode(), card, channel="storage", host=origin_host,
                     url=item.origin, location=f"{item.kind}:{item.key}")
    for line in evidence.console:
        out += _scan(line.text.encode(), card, channel="console", host=host_of(line.frame_url or ""),
                     url=line.url, frame_url=line.frame_url, location="console")
    out += _split_sightings(evidence)
    out += _wire_sightings(evidence, out)
    return out


def _wire_sightings(evidence: Evidence, found: list[Sighting]) -> list[Sighting]:
    """The card in the bytes sent to a host where no recorded request or socket explains it."""
    explained = {(s.host, s.field) for s in found if s.channel not in ("storage", "console")}
    out = []
    for wire, what, data, match in wire_hits(evidence.wire, evidence.card):
        if (wire.host, match.field) in explained:
            continue
        out.append(Sighting(field=match.field, encoding=match.encoding, channel="wire", host=wire.host,
                            url=None, location=f"connection {wire.id} ({wire.protocol}): {what}",
                            excerpt=_excerpt(data, match), context_ok=match.context_ok))
    return out


DIGIT_RUN = re.compile(rb"\d+")


def digit_stream_split(payloads: list[bytes], number: str) -> tuple[int, ...]:
    """Indexes of the payloads that, read in order, spell the number in pieces of any size: a
    keylogger's one key per request, halves, uneven chunks. Three readings of the digit runs are
    tried (all of them, each payload's first, each payload's last) so that counters and ids sent
    beside the pieces do not hide them; a hit must span two payloads or more."""
    runs = [[m.group().decode() for m in DIGIT_RUN.finditer(unquote_to_bytes(p))] for p in payloads]
    for pick in (lambda r: r, lambda r: r[:1], lambda r: r[-1:]):
        stream, owner = "", []
        for index, found in enumerate(runs):
            for run in pick(found):
                stream += run
                owner += [index] * len(run)
        at = stream.find(number)
        if at >= 0:
            spanned = tuple(sorted(set(owner[at:at + len(number)])))
            if len(spanned) > 1:
                return spanned
    return ()


def _split_sightings(evidence: Evidence) -> list[Sighting]:
    """The number cut into pieces and sent to one host over several requests, in time order."""
    by_host: dict[str, list] = defaultdict(list)
    for req in sorted(evidence.requests, key=lambda r: r.time):
        by_host[req.host].append(req)
    out = []
    for host, reqs in by_host.items():
        if len(reqs) < 2 or not host:
            continue
        chunks = [r.url.encode() + b"\n" + r.body for r in reqs]
        combos = find_split_number(chunks, evidence.card)[:1] or \
            [c for c in [digit_stream_split(chunks, evidence.card.number)] if c]
        for combo in combos:
            first = reqs[combo[0]]
            ids = ", ".join(reqs[i].id for i in combo)
            out.append(Sighting(field="number", encoding="split", channel=first.channel, host=host,
                                url=first.url, location=f"requests {ids}",
                                excerpt=f"number split over requests {ids}", request_id=first.id,
                                frame_url=first.frame_url, blocked=first.blocked_by is not None,
                                blocked_by=first.blocked_by))
    return out
