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
_DIGIT_RUN = re.compile(r"(?<![\d])\d(?:[ -]?\d)+(?![\d])")
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
