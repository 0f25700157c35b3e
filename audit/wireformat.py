"""What a client puts on the wire, read back: HTTP/1.1, HTTP/2 frames, WebSocket frames (pure).

Used on the plaintext bytes the browser sent (Chromium's NetLog): by the network witness to give each
request its body, by the wire sweep to cut a connection into the pieces a server reads, and by the
redaction of credentials in the recorded bytes.
"""

from __future__ import annotations

import struct

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def h2_frames(data: bytes) -> list[tuple[int, int, int, bytes]]:
    """(type, flags, stream id, payload) of every HTTP/2 frame (RFC 9113 section 4.1) a client sent."""
    at = len(H2_PREFACE) if data.startswith(H2_PREFACE) else 0
    out = []
    while at + 9 <= len(data):
        length = int.from_bytes(data[at:at + 3], "big")
        kind, flags = data[at + 3], data[at + 4]
        stream = struct.unpack("!I", data[at + 5:at + 9])[0] & 0x7FFFFFFF
        out.append((kind, flags, stream, data[at + 9:at + 9 + length]))
        at += 9 + length
    return out


def _unpad(kind: int, flags: int, payload: bytes) -> bytes:
    if flags & 0x8 and payload:  # PADDED
        pad = payload[0]
        payload = payload[1:len(payload) - pad] if pad < len(payload) else b""
    if kind == 0x1 and flags & 0x20:  # HEADERS with PRIORITY
        payload = payload[5:]
    return payload


def h2_data_by_stream(data: bytes) -> dict[int, bytes]:
    """The request body of every HTTP/2 stream: its DATA frames, in order."""
    out: dict[int, bytearray] = {}
    for kind, flags, stream, payload in h2_frames(data):
        if kind == 0x0 and stream:
            out.setdefault(stream, bytearray()).extend(_unpad(kind, flags, payload))
    return {k: bytes(v) for k, v in out.items()}


def h2_header_blocks(data: bytes) -> list[bytes]:
    """Every header block a client sent (HEADERS plus CONTINUATION), HPACK-encoded."""
    blocks: list[bytes] = []
    for kind, flags, _stream, payload in h2_frames(data):
        if kind == 0x1:
            blocks.append(_unpad(kind, flags, payload))
        elif kind == 0x9 and blocks:
            blocks[-1] += payload
    return blocks


def split_http1(data: bytes) -> tuple[bytes, bytes]:
    """(head, body) of the bytes one HTTP/1.1 request put on the wire; a chunked body decoded."""
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        return data, b""
    if b"transfer-encoding: chunked" in head.lower():
        return head, dechunk(rest)
    return head, rest


def dechunk(data: bytes) -> bytes:
    out, at = bytearray(), 0
    while at < len(data):
        line_end = data.find(b"\r\n", at)
        if line_end < 0:
            break
        try:
            size = int(data[at:line_end].split(b";")[0].strip() or b"0", 16)
        except ValueError:
            return bytes(out) + data[at:]
        if size == 0:
            break
        out += data[line_end + 2:line_end + 2 + size]
        at = line_end + 2 + size + 2
    return bytes(out)


def websocket_payloads(data: bytes) -> list[bytes]:
    """The unmasked payloads of the frames a client sent (RFC 6455 section 5.2 and 5.3)."""
    out, at = [], 0
    while at + 2 <= len(data):
        b1 = data[at + 1]
        length, at2 = b1 & 0x7F, at + 2
        if length == 126:
            length, at2 = int.from_bytes(data[at2:at2 + 2], "big"), at2 + 2
        elif length == 127:
            length, at2 = int.from_bytes(data[at2:at2 + 8], "big"), at2 + 8
        mask = data[at2:at2 + 4] if b1 & 0x80 else b"\0\0\0\0"
        at2 += 4 if b1 & 0x80 else 0
        payload = data[at2:at2 + length]
        if len(mask) < 4:
            break
        out.append(bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
        at = at2 + length
    return out
