"""Card context: the CVC, expiry, name and postal code next to a number, and the container a value
sits in (a form body, a multipart part).

A CVC is three or four digits and an expiry four: alone they match prices, ids and dates
everywhere, so they only count next to the number (within CONTEXT bytes of it) or under a
card-ish key (see `audit.detect.needles.CVC_KEY`). Name and postal code count only next to the number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from audit.evidence import Card
from audit.detect.needles import expiry_value_regex

# How near a CVC or expiry must be to a number match (bytes either side, in the same decoded layer).
CONTEXT = 64
# Name and postal code: a little further, they often sit in a billing block after the card fields.
NEAR = 128


@dataclass(frozen=True)
class ContextPatterns:
    cvc: re.Pattern[bytes] | None
    expiry: re.Pattern[bytes] | None
    name: re.Pattern[bytes] | None
    postal: re.Pattern[bytes] | None


@lru_cache(maxsize=16)
def context_patterns(card: Card) -> ContextPatterns:
    cvc = card.cvc.strip()
    # Not a price ($123.00, 123,50), not part of a longer number.
    cvc_rx = re.compile(rb"(?<![\d.,$\xa3\xe2])" + re.escape(cvc).encode() + rb"(?![\d]|[.,]\d)") \
        if cvc.isdigit() else None
    exp = expiry_value_regex(card.expiry)
    exp_rx = re.compile(rb"(?<![\d])" + exp + rb"(?!\d)") if exp else None
    words = [re.escape(w).encode() for w in card.name.split()]
    name_rx = re.compile(rb"(?:\s|\+|%20|_|-)?".join(words), re.I) if words else None
    postal = card.postal.strip()
    postal_rx = re.compile(rb"(?<![0-9A-Za-z])" + re.escape(postal).encode() + rb"(?![0-9A-Za-z])",
                           re.I) if postal else None
    return ContextPatterns(cvc_rx, exp_rx, name_rx, postal_rx)


def near_number(data: bytes, start: int, end: int, card: Card) -> list[tuple[str, int, int]]:
    """(field, start, end) of the CVC, expiry, name and postal code around the number at [start, end)."""
    pats = context_patterns(card)
    found: list[tuple[str, int, int]] = []
    for field, rx, reach in (("cvc", pats.cvc, CONTEXT), ("expiry", pats.expiry, CONTEXT),
                             ("name", pats.name, NEAR), ("postal", pats.postal, NEAR)):
        if rx is None:
            continue
        for lo, hi in ((max(0, start - reach), start), (end, min(len(data), end + reach))):
            for m in rx.finditer(data, lo, hi):
                found.append((field, m.start(), m.end()))
    return found


_FORM_KEY_TAIL = re.compile(rb"(?:\A|&)[A-Za-z0-9_.*\-%\[\]]+=\Z")
_NOT_FORM = re.compile(rb"[?\s{}\"<>]")


def container_label(data: bytes, start: int) -> str | None:
    """'form' when the value at `start` is a field of an application/x-www-form-urlencoded body,
    'multipart' when it sits in a multipart/form-data part, else None."""
    lo = max(0, start - 4096)
    if _FORM_KEY_TAIL.search(data, lo, start) and not _NOT_FORM.search(data, lo, start):
        return "form"
    head_end = data.rfind(b"\r\n\r\n", lo, start)
    if head_end >= 0 and data.find(b"\r\n--", head_end, start) < 0:
        head_start = data.rfind(b"\r\n--", lo, head_end)
        head_start = head_start if head_start >= 0 else (0 if data.startswith(b"--") else -1)
        if head_start >= 0 and b"form-data" in data[head_start:head_end].lower():
            return "multipart"
    return None
