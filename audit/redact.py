"""Masking for everything written out: foreign card numbers and credentials never reach a report.

The canary is typed on purpose and stays readable, so a reader sees exactly what leaked. Any other
card number (a real one that happened to be in a page, a recorded request, a console line) is
masked to its first and last four digits; cookies and authorization headers are replaced whole.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Callable, TypeVar

MASK = "••••"
SECRET_HEADERS = frozenset({"cookie", "set-cookie", "authorization", "proxy-authorization"})
REDACTED = "[redacted]"

# Digits with at most one space or dash between any two: 4242 4242 4242 4242, 4242-4242..., 4242...
# A run of fewer than 13 digits holds no card number, so it is not even visited.
_DIGIT_RUN = re.compile(r"(?<![\d])\d(?:[ -]?\d){12,}(?![\d])")
_SEPARATOR = re.compile(r"[ -]")

V = TypeVar("V")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _is_card(digits: str) -> bool:
    # Card numbers start with 2-6 (Mastercard 2-series, Amex/Diners/JCB, Visa, Mastercard,
    # Discover/UnionPay). That keeps 13-digit millisecond timestamps (1...) out of the mask.
    return 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn_ok(digits)


def mask_number(digits: str) -> str:
    return f"{digits[:4]} {MASK} {MASK} {digits[-4:]}"


def _mask_run(run: str, canary: str) -> str:
    """Mask card numbers inside one run of separated digits. The whole run is tried first; a run
    that is longer than a card (a number followed by a year, say) is tried group by group."""
    digits = _SEPARATOR.sub("", run)
    if _is_card(digits):
        return run if digits == canary else mask_number(digits)
    pieces = re.split(r"([ -])", run)
    groups, seps = pieces[0::2], pieces[1::2]
    n = len(groups)
    # Longest card-shaped sequence of whole groups first, leftmost among equals.
    for size in range(n - 1, 0, -1):
        for first in range(0, n - size + 1):
            cand = "".join(groups[first:first + size])
            if _is_card(cand) and cand != canary:
                before = "".join(g + s for g, s in zip(groups[:first], seps[:first]))
                after_groups = groups[first + size:]
                after_seps = seps[first + size - 1:]
                after = "".join(s + g for s, g in zip(after_seps, after_groups))
                return before + mask_number(cand) + after
            if _is_card(cand):  # the canary sits inside this run: leave it readable
                return run
    return run


def mask_foreign_cards(text: str, canary_number: str) -> str:
    """Mask every Luhn-valid 13-19 digit card number in `text` that is not the canary, as
    `4242 •••• •••• 4242`."""
    canary = re.sub(r"\D", "", canary_number or "")
    return _DIGIT_RUN.sub(lambda m: _mask_run(m.group(0), canary), text)


def redact_headers(headers: Mapping[str, V], keep: Callable[[V], bool] | None = None) -> dict[str, V | str]:
    """A copy of `headers` with cookies and credentials replaced by "[redacted]", except values
    `keep` says must stay (one that carries the canary card is evidence, and the canary is no secret)."""
    return {k: (REDACTED if k.lower() in SECRET_HEADERS and not (keep and keep(v)) else v)
            for k, v in headers.items()}


_SECRET_LINE = re.compile(rb"(?im)^(cookie|authorization|proxy-authorization):[ \t]*([^\r\n]*)")


def redact_wire(data: bytes, protocol: str, keep: Callable[[str], bool] | None = None) -> bytes:
    """Sent bytes with cookie and credential header values replaced, as `redact_headers` does for
    parsed headers. HTTP/1.1 heads are plain text; HTTP/2 header blocks are decoded, redacted and
    encoded again (HPACK), their frames rebuilt."""
    if protocol == "h2":
        return _redact_h2(data, keep)

    def one(m: re.Match[bytes]) -> bytes:
        value = m.group(2).decode("latin-1")
        return m.group(0) if keep and keep(value) else m.group(1) + b": " + REDACTED.encode()
    return _SECRET_LINE.sub(one, data)


def _redact_h2(data: bytes, keep: Callable[[str], bool] | None) -> bytes:
    import struct

    from hpack import Decoder, Encoder

    from .wireformat import H2_PREFACE, h2_frames

    decoder, encoder = Decoder(), Encoder()
    out = bytearray(H2_PREFACE if data.startswith(H2_PREFACE) else b"")
    for kind, flags, stream, payload in h2_frames(data):
        if kind == 0x1 and flags & 0x4:  # a whole header block (END_HEADERS)
            if flags & 0x8 and payload:  # PADDED: the padding goes, and the flag with it
                payload = payload[1:len(payload) - payload[0]] if payload[0] < len(payload) else b""
                flags &= ~0x8
            prefix, block = (payload[:5], payload[5:]) if flags & 0x20 else (b"", payload)
            try:
                headers = decoder.decode(block, raw=True)
            except Exception:  # noqa: BLE001 - a block that cannot be decoded is dropped, not leaked
                payload = prefix
            else:
                payload = prefix + encoder.encode(
                    [(n, REDACTED.encode() if n.decode("latin-1").lower() in SECRET_HEADERS
                      and not (keep and keep(v.decode("latin-1"))) else v) for n, v in headers])
        elif kind in (0x1, 0x9):
            payload = b""  # a block continued over frames: dropped rather than kept unredacted
        out += len(payload).to_bytes(3, "big") + bytes([kind, flags]) + struct.pack("!I", stream) + payload
    return bytes(out)
