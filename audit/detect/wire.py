"""The wire sweep: the canary searched in every plaintext byte sent to each destination (pure).

Independently of how requests were parsed, each connection's sent bytes (`WireRecord`) are cut into
the pieces a server reads (HTTP/1.1 request heads and bodies, WebSocket payloads unmasked, HTTP/2
header blocks decoded and DATA frames per stream) and every piece is searched in every encoding. A
hit that no recorded request or socket explains (no sighting of that field for that host) is a
sighting on the `wire` channel: no byte the network stack sent to a host escapes the search.

A record read back from a result.json that kept only the first bytes of a connection is searched in
those and in the excerpts kept around each place the live sweep found card data; an excerpt whose
bytes no longer show it (it was too large to keep) still counts, as the live sweep recorded it.
"""

from __future__ import annotations

import base64
from typing import Iterable

from hpack import Decoder

from ..evidence import Card, WireExcerpt, WireRecord
from ..wireformat import dechunk, h2_data_by_stream, h2_header_blocks, websocket_payloads
from .match import CardMatch, find_card_batch

PIECE = 1 << 16   # unparsed bytes are searched in overlapping windows of this size


def _http1_pieces(data: bytes) -> Iterable[tuple[str, bytes]]:
    """Request heads and bodies of an HTTP/1.1 connection, then WebSocket payloads after an upgrade."""
    at = 0
    while at < len(data):
        end = data.find(b"\r\n\r\n", at)
        if end < 0:
            yield "bytes", data[at:]
            return
        head = data[at:end]
        yield "request head", head
        at = end + 4
        lower = head.lower()
        if b"\r\nupgrade: websocket" in lower:
            for payload in websocket_payloads(data[at:]):
                yield "websocket frame", payload
            return
        if b"\r\ntransfer-encoding: chunked" in lower:
            stop = data.find(b"\r\n0\r\n\r\n", at)
            stop = len(data) if stop < 0 else stop + 7
            yield "body", dechunk(data[at:stop])
            at = stop
            continue
        length = 0
        for line in lower.split(b"\r\n"):
            if line.startswith(b"content-length:"):
                try:
                    length = int(line.split(b":", 1)[1].strip())
                except ValueError:
                    yield "bytes", data[at:]
                    return
        if length:
            yield "body", data[at:at + length]
        at += length


def _h2_pieces(data: bytes) -> Iterable[tuple[str, bytes]]:
    decoder: Decoder | None = Decoder()
    for block in h2_header_blocks(data):
        yield "header block", block
        if decoder is not None:
            try:
                headers = decoder.decode(block, raw=True)
            except Exception:  # noqa: BLE001 - a table out of step: the raw block is searched anyway
                decoder = None
                continue
            yield "headers", b"\r\n".join(name + b": " + value for name, value in headers)
    for stream, body in h2_data_by_stream(data).items():
        yield f"stream {stream} data", body


def _kept_name(excerpt: WireExcerpt) -> str:
    data = excerpt.sent
    return (f"{excerpt.what}, bytes {excerpt.offset}-{excerpt.offset + len(data)} (kept around card data)"
            if data else f"{excerpt.what} (card data found while the run was live; too large to keep)")


def pieces(wire: WireRecord) -> list[tuple[str, bytes]]:
    """(what, bytes) for every piece of one connection's sent bytes (and of the excerpts kept
    around card data when only the first bytes were kept)."""
    data = wire.sent
    parsed = list(_h2_pieces(data) if wire.protocol == "h2" else _http1_pieces(data)) if data else []
    # Windows over the raw bytes too, so a parser's mistake cannot hide anything.
    step = PIECE - 256
    parsed += [("bytes", data[i:i + PIECE]) for i in range(0, len(data), step)]
    parsed += [(_kept_name(e), e.sent) for e in wire.excerpts if e.sent]
    return parsed


def wire_hits(wires: tuple[WireRecord, ...], card: Card) -> list[tuple[WireRecord, str, bytes, CardMatch]]:
    """(connection, piece name, piece, match) for every place the card is in the bytes sent."""
    items: list[tuple[WireRecord, str]] = []
    blobs: list[bytes] = []
    for wire in wires:
        for what, data in pieces(wire):
            items.append((wire, what))
            blobs.append(data)
    out = []
    for (wire, what), data, matches in zip(items, blobs, find_card_batch(blobs, card)):
        for match in matches:
            out.append((wire, what, data, match))
    # What the live sweep found in bytes that were not kept holds even when the excerpt kept
    # around it does not show it again (it was cut to fit, or kept nothing).
    found = {(w.id, m.field, m.context_ok) for w, _what, _data, m in out}
    for wire in wires:
        for e in wire.excerpts:
            if (wire.id, e.field, e.context_ok) not in found:
                found.add((wire.id, e.field, e.context_ok))
                out.append((wire, _kept_name(e), e.sent, CardMatch(e.field, e.encoding, -1, 0, e.context_ok)))
    return out


EXCERPT_CONTEXT = 256          # bytes kept either side of a sighting's encoded form
EXCERPT_MAX = 256 * 1024       # at most this much is kept around one sighting
EXCERPTS_MAX = 1024 * 1024     # nor more than this for one connection


def sighting_excerpts(wire: WireRecord, card: Card) -> list[WireExcerpt]:
    """For a connection whose bytes will not all be kept: one excerpt per field, encoding and
    card context the sweep finds in all of them, with the bytes around it (bounded). A sighting
    in a parsed piece is preferred to the same one in a raw window."""
    hits = sorted(wire_hits((wire,), card), key=lambda h: (not h[3].context_ok, h[1] == "bytes"))
    out: list[WireExcerpt] = []
    seen: set[tuple[str, str, bool]] = set()
    room = EXCERPTS_MAX
    for _wire, what, data, match in hits:
        key = (match.field, match.encoding, match.context_ok)
        if key in seen:
            continue
        seen.add(key)
        if match.offset < 0:
            start, end = 0, len(data)
        else:
            start = max(0, match.offset - EXCERPT_CONTEXT)
            end = min(len(data), match.offset + max(match.length, 1) + EXCERPT_CONTEXT)
        end = min(end, start + EXCERPT_MAX, start + room)
        kept = data[start:end]
        room -= len(kept)
        out.append(WireExcerpt(what=what, field=match.field, encoding=match.encoding,
                               context_ok=match.context_ok, offset=start,
                               sent_b64=base64.b64encode(kept).decode() if kept else ""))
    return out
