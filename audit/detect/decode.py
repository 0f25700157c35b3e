"""Decoders for one candidate region of captured bytes, each remembering where its output came from.

A decoder runs only where a trigger pattern hit (or, for compression, where a body looks
compressed), never over whole evidence. Each returns a `Decoded`: the decoded bytes, the region of
the input they came from, and a map from a span of the output back to a span of the input, so a
match deep inside `url+base64+base64` still points at the bytes that were sent. None of them raises
on arbitrary input: undecodable regions return None.
"""

from __future__ import annotations

import binascii
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass

try:
    import brotli
except ImportError:  # pragma: no cover - brotli bodies are then simply not decoded
    brotli = None

# Never inflate more than this from one body (decompression bombs).
MAX_DECOMPRESSED = 50 * 1024 * 1024
# How far around a trigger a decoder looks, in bytes of the input.
WINDOW = 16 * 1024
ESCAPE_WINDOW = 1024

Span = tuple[int, int]

PRINTABLE = bytes(range(0x20, 0x7F)) + b"\t\r\n"
HIGH = bytes(range(0x80, 0x100))


def one_top_bit(data: bytes) -> bool:
    """Nearly every byte (all but a tenth) has the same top bit: text, or text XORed with one key
    (printable ASCII has it clear); random and compressed bytes have it set about half the time."""
    return same_top_bit(len(data) - len(data.translate(None, HIGH)), len(data))


def same_top_bit(high: int, n: int) -> bool:
    """`one_top_bit` told from the count: `high` of `n` bytes have their top bit set."""
    return not n // 10 < high < n - n // 10


@dataclass(frozen=True)
class Decoded:
    data: bytes
    layer: str                              # encoding label of this layer, e.g. "base64"
    start: int                              # region of the input that was decoded
    end: int
    to_outer: Callable[[int, int], Span]    # output span -> input span


_B64_RUN = re.compile(rb"[A-Za-z0-9+/_-]*")
_HEX_RUN = re.compile(rb"[0-9A-Fa-f]*")
_TO_STD = bytes.maketrans(b"-_", b"+/")


def _run(data: bytes, s: int, e: int, run: re.Pattern[bytes], window: int) -> Span:
    """The maximal run of an alphabet around [s, e), at most `window` bytes either side."""
    lo = max(0, s - window)
    # Backwards: match the run on the reversed window (a regex anchored at the end would retry
    # from every start position, quadratic on a long base64 blob).
    back = run.match(data[lo:s][::-1])
    fwd = run.match(data, e, min(len(data), e + window))
    return s - (back.end() if back else 0), (fwd.end() if fwd else e)


def base64_region(data: bytes, s: int, e: int) -> Decoded | None:
    """Decode the base64 run holding a needle that starts on a 4-character group boundary at `s`."""
    start, end = _run(data, s, e, _B64_RUN, WINDOW)
    start += (s - start) % 4          # keep the group grid the needle was built on
    usable = end - start
    if usable % 4 == 1:
        usable -= 1                   # a lone trailing character carries no whole byte
    chunk = data[start:start + usable]
    urlsafe = (b"-" in chunk or b"_" in chunk) and not (b"+" in chunk or b"/" in chunk)
    try:
        out = binascii.a2b_base64(chunk.translate(_TO_STD) + b"=" * (-usable % 4))
    except (binascii.Error, ValueError):
        return None
    end = start + usable

    def to_outer(i0: int, i1: int) -> Span:
        return start + 4 * (i0 // 3), min(end, start + -(-4 * i1 // 3))

    return Decoded(out, "base64url" if urlsafe else "base64", start, end, to_outer)


_PCT_B64 = re.compile(rb"%(?:2[bBfF]|3[dD])")


def base64_in_url(data: bytes, s: int, e: int) -> bool:
    """Whether the base64 run around [s, e) continues with percent-encoded `+`, `/` or `=`: then it
    is URL-encoded base64, and percent-decoding must come first to see the whole run."""
    start, end = _run(data, s, e, _B64_RUN, WINDOW)
    # The hex digits of an escape are base64 characters too, so the run starts just after a `%`.
    return bool((start and _PCT_B64.match(data, start - 1)) or _PCT_B64.match(data, end))


def hex_region(data: bytes, s: int, e: int) -> Decoded | None:
    start, end = _run(data, s, e, _HEX_RUN, WINDOW)
    start += (s - start) % 2
    end -= (end - start) % 2
    try:
        out = bytes.fromhex(data[start:end].decode("ascii"))
    except ValueError:
        return None
    return Decoded(out, "hex", start, end, lambda i0, i1: (start + 2 * i0, start + 2 * i1))


def reversed_region(data: bytes, s: int, e: int) -> Decoded | None:
    start, end = max(0, s - ESCAPE_WINDOW), min(len(data), e + ESCAPE_WINDOW)
    size = end - start
    return Decoded(data[start:end][::-1], "reversed", start, end,
                   lambda i0, i1: (start + size - i1, start + size - i0))


def rot13_region(data: bytes, s: int, e: int) -> Decoded | None:
    from audit.detect.needles import rot13  # the same table the needles were built with
    start, end = _run(data, s, e, _B64_RUN, WINDOW)
    return Decoded(rot13(data[start:end]), "rot13", start, end,
                   lambda i0, i1: (start + i0, start + i1))


_PERCENT = re.compile(rb"%([0-9A-Fa-f]{2})")
_JSON_ESCAPE = re.compile(rb"\\u([0-9A-Fa-f]{4})|\\([\\/\"bfnrt])")
_JSON_SIMPLE = {b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t"}


def _unescape(data: bytes, start: int, end: int, rx: re.Pattern[bytes],
              replace: Callable[[re.Match[bytes]], bytes], layer: str) -> Decoded | None:
    """Replace every escape in data[start:end], remembering for each output byte the input span
    it came from (regions are small: at most 2 * ESCAPE_WINDOW bytes)."""
    out = bytearray()
    src: list[int] = []       # input offset where each output byte starts
    src_end: list[int] = []   # input offset where it ends
    pos = start
    for m in rx.finditer(data, start, end):
        out += data[pos:m.start()]
        src.extend(range(pos, m.start()))
        src_end.extend(range(pos + 1, m.start() + 1))
        piece = replace(m)
        out += piece
        src.extend([m.start()] * len(piece))
        src_end.extend([m.end()] * len(piece))
        pos = m.end()
    if pos == start:
        return None           # nothing was escaped: the region reads the same decoded
    out += data[pos:end]
    src.extend(range(pos, end))
    src_end.extend(range(pos + 1, end + 1))

    def to_outer(i0: int, i1: int) -> Span:
        if not src:
            return start, end
        i0 = min(max(i0, 0), len(src) - 1)
        i1 = min(max(i1, i0 + 1), len(src))
        return src[i0], src_end[i1 - 1]

    return Decoded(bytes(out), layer, start, end, to_outer)


def percent_region(data: bytes, s: int, e: int) -> Decoded | None:
    start, end = max(0, s - ESCAPE_WINDOW), min(len(data), e + ESCAPE_WINDOW)
    return _unescape(data, start, end, _PERCENT, lambda m: bytes([int(m.group(1), 16)]), "url")


def _json_char(m: re.Match[bytes]) -> bytes:
    if m.group(1) is not None:
        return chr(int(m.group(1), 16)).encode("utf-8", "surrogatepass")
    return _JSON_SIMPLE.get(m.group(2), m.group(2))


def json_region(data: bytes, s: int, e: int) -> Decoded | None:
    start, end = max(0, s - ESCAPE_WINDOW), min(len(data), e + ESCAPE_WINDOW)
    return _unescape(data, start, end, _JSON_ESCAPE, _json_char, "json")


REGION_DECODERS: dict[str, Callable[[bytes, int, int], Decoded | None]] = {
    "base64": base64_region, "hex": hex_region, "reversed": reversed_region,
    "rot13": rot13_region, "url": percent_region, "json": json_region,
}


# -- compression --------------------------------------------------------------------------------
def _inflate(data: bytes, wbits: int, limit: int, strict: bool) -> bytes | None:
    """Inflate at most `limit` bytes. `strict` (no header was seen, this is a guess) accepts only a
    stream that ends cleanly; otherwise a truncated capture still yields what it holds."""
    d = zlib.decompressobj(wbits)
    try:
        out = d.decompress(data, limit)
    except zlib.error:
        return None
    if strict:
        return out if out and (d.eof or len(out) >= limit) else None
    return out or None


def _unbrotli(data: bytes, limit: int) -> bytes | None:
    """Brotli has no magic bytes: only a stream that ends cleanly (or fills `limit`) counts."""
    if brotli is None:
        return None
    d = brotli.Decompressor()
    try:
        out = bytearray(d.process(data, output_buffer_limit=min(limit, 1 << 20)))
        while not d.can_accept_more_data() and len(out) < limit:
            piece = d.process(b"", output_buffer_limit=min(limit - len(out), 1 << 20))
            if not piece:
                break
            out += piece
    except brotli.error:
        return None
    return bytes(out[:limit]) if out and (d.is_finished() or len(out) >= limit) else None


def looks_compressed(data: bytes) -> bool:
    """Cheap pre-check run on every body, looking at its first bytes only. Compressed streams are
    high-entropy from the start: gzip and zlib have non-ASCII headers, and brotli or raw deflate
    show bytes >= 0x80 that are not UTF-8 within a few dozen bytes. Text bodies, ASCII or UTF-8,
    cost one short check and no decompression attempt."""
    head = data[:64]
    if len(head) < 8 or head.isascii():
        return False
    if head[:2] == b"\x1f\x8b" or _zlib_header(head):
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A character cut by the 64-byte window is not evidence of binary data.
        return not (exc.reason == "unexpected end of data" and len(data) > len(head))
    return False


def _zlib_header(data: bytes) -> bool:
    return len(data) >= 2 and data[0] & 0x0F == 8 and data[0] >> 4 <= 7 and \
        ((data[0] << 8) | data[1]) % 31 == 0


def decompress(data: bytes, limit: int = MAX_DECOMPRESSED) -> Decoded | None:
    """Inflate a whole body: gzip and zlib by their headers; brotli and raw deflate (which have none)
    are tried only on bytes that are not plain ASCII text."""
    size = len(data)

    def whole(_i0: int, _i1: int) -> Span:
        return 0, size  # compressed bytes do not map to positions: the body is the encoded form

    if data[:2] == b"\x1f\x8b":
        out = _inflate(data, 31, limit, strict=False)
        return Decoded(out, "gzip", 0, size, whole) if out else None
    if _zlib_header(data):
        out = _inflate(data, 15, limit, strict=False)
        if out:
            return Decoded(out, "deflate", 0, size, whole)
    if not looks_compressed(data):
        return None
    out = _unbrotli(data, limit)
    if out:
        return Decoded(out, "brotli", 0, size, whole)
    out = _inflate(data, -15, limit, strict=True)
    return Decoded(out, "deflate", 0, size, whole) if out else None
