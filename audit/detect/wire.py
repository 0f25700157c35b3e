"""The wire sweep: the canary searched in every plaintext byte sent to each destination (pure).

Independently of how requests were parsed, each connection's sent bytes (`WireRecord`) are cut into
the pieces a server reads (HTTP/1.1 request heads and bodies, WebSocket payloads unmasked, HTTP/2
header blocks decoded and DATA frames per stream) and every piece is searched in every encoding. A
hit that no recorded request or socket explains (no sighting of that field for that host) is a
sighting on the `wire` channel: no byte the network stack sent to a host escapes the search.
"""

from __future__ import annotations

from typing import Iterable

from hpack import Decoder

from ..evidence import Card, WireRecord
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


def pieces(wire: WireRecord) -> list[tuple[str, bytes]]:
    """(what, bytes) for every piece of one connection's sent bytes."""
    data = wire.sent
    if not data:
        return []
    parsed = list(_h2_pieces(data) if wire.protocol == "h2" else _http1_pieces(data))
    # Windows over the raw bytes too, so a parser's mistake cannot hide anything.
    step = PIECE - 256
    parsed += [("bytes", data[i:i + PIECE]) for i in range(0, len(data), step)]
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
    return out
