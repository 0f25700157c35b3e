"""The number under a substitution of its digits: every digit mapped through one fixed table.

A skimmer that shifts each digit by a constant (`(d + 3) % 10`), XORs it with a key, or writes
each digit as a letter (`0 -> a`, or a shuffled table) sends a token that shares nothing with the
number but its shape: the positions that hold the same digit. For 4000 0566 5566 5556 that is
`ABBBB CDDCCDDCCCD`; a token of 16 letters or digits whose symbols are equal exactly where the
number's digits are, under a one-to-one mapping, is the number under a substitution.

    chance(digits)           the chance that a random token of digits has the number's pattern
    specific(digits)         whether the pattern is rare enough in real traffic to be checked
    prefilter(digits)        a hyperscan expression that every such token matches (None: check off)
    substituted_span(...)    the exact check around one prefilter hit

A token is 13-19 ASCII letters or digits standing alone (no letter or digit on either side), or
the number's printed groups joined by one separator (`5111 1677 6677 6667`). The identity mapping
is the number itself, reported as `plain` by the direct pattern, never here.

Only a pattern specific enough is checked (`specific`). A number with many distinct digits and
few repeats (e.g. 3782 822463 10005) is matched by one random digit string in a few hundred
million, and such a number would turn ordinary ids into findings (`chance` above MAX_CHANCE).
Real traffic is not random either: round numbers (`1000000000000000`), repeated units (`3030...`,
the hex of "0000"; `abab...`) and masks (`000000000000ffff`) are common, and a number of few
distinct digits, a long run of one digit or a repeating unit (4111 1111 1111 1111, 4242 4242
4242 4242, 5555 5555 5555 4444, 4500 6000 0000 0061) has exactly their pattern. Such a number
gets no check; the default canaries (4000 0566 5566 5556) have a specific one.
"""

from __future__ import annotations

import re
from functools import lru_cache

from audit.detect.needles import number_groups

# Above this chance of a random digit string having the number's pattern, the check is off.
MAX_CHANCE = 1e-9
MIN_DISTINCT = 4   # distinct digits: fewer, and round numbers, masks and repeated units match
MAX_RUN = 6        # one digit repeated this many times in a row at most
# What a substituted digit may be written as, and what may join the printed groups.
SYMBOL = rb"[0-9A-Za-z]"
SEPARATORS = rb"[ .\-+_]"
_SYMBOLS = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def chance(digits: str) -> float:
    """Chance that a uniformly random string of len(digits) decimal digits has the same equality
    pattern: 10 * 9 * ... (one factor per distinct digit) / 10 ** len. Digits are the smallest
    alphabet a token is written in, so this bounds the chance for letters too."""
    p = 1.0
    for i in range(len(set(digits))):
        p *= (10 - i) / 10
    return p * 10.0 ** (len(set(digits)) - len(digits))


def specific(digits: str) -> bool:
    """Whether the number's pattern is rare in real traffic, not only among random digits: see the
    module's docstring."""
    if chance(digits) > MAX_CHANCE or len(set(digits)) < MIN_DISTINCT:
        return False
    if any(d * (MAX_RUN + 1) in digits for d in set(digits)):
        return False
    # A repeating unit (`1234 1234 1234 1234`): the pattern of `abcdabcd...`.
    return not any(digits[p:] == digits[:-p] for p in range(1, len(digits) // 2 + 1))


def _boundaries(digits: str) -> set[int]:
    """Positions where a printed group starts (the first group excluded)."""
    out, pos = set(), 0
    for g in number_groups(digits)[:-1]:
        pos += len(g)
        out.add(pos)
    return out


def prefilter(digits: str) -> bytes | None:
    """A hyperscan expression every substituted token matches: the digit that repeats most, as
    the same symbol at each of its places (one alternative per symbol), and any symbol between.
    Hyperscan has no back-references; one enumerated symbol is enough to make hits rare (a random
    token matches about once in 10 ** (repeats - 1)), and `substituted_span` checks the rest."""
    if not specific(digits):
        return None
    star = max(sorted(set(digits)), key=digits.count)
    places = [i for i, d in enumerate(digits) if d == star]
    cuts = _boundaries(digits)

    def one(symbol: int, separated: bool) -> bytes:
        out = b""
        for i in range(places[0], places[-1] + 1):
            if separated and i in cuts and i != places[0]:
                out += SEPARATORS
            out += re.escape(bytes([symbol])) if digits[i] == star else SYMBOL
        return out

    # The token without separators, or with one at every cut (an optional separator at each cut
    # would cost the scan twice as much, and a token with only some of them is no number).
    forms = (False, True) if any(places[0] < c <= places[-1] for c in cuts) else (False,)
    return b"(?:" + b"|".join(one(c, sep) for sep in forms for c in _SYMBOLS) + b")"


@lru_cache(maxsize=16)
def token_regex(digits: str) -> re.Pattern[bytes]:
    """The exact check: one symbol per distinct digit (each different from the others, by
    back-references), the same one wherever the digit repeats, groups joined by one separator or
    none, no letter or digit on either side."""
    names: dict[str, int] = {}
    expr = rb"(?<![0-9A-Za-z])"
    cuts = _boundaries(digits)
    first_cut = min(cuts) if cuts else -1
    for i, d in enumerate(digits):
        if i == first_cut:
            expr += rb"(?P<sep>" + SEPARATORS + rb"?)"
        elif i in cuts:
            expr += rb"(?P=sep)"
        if d in names:
            expr += b"(?P=s%d)" % names[d]
        else:
            others = b"".join(b"(?!(?P=s%d))" % v for v in names.values())
            names[d] = len(names)
            expr += others + b"(?P<s%d>" % names[d] + SYMBOL + b")"
    return re.compile(expr + rb"(?![0-9A-Za-z])")


def substituted_span(data: bytes, end: int, digits: str) -> tuple[int, int] | None:
    """The token around a prefilter hit ending at `end` that is the number under a substitution
    other than the identity, if there is one."""
    reach = len(digits) + len(number_groups(digits))
    rx = token_regex(digits)
    for m in rx.finditer(data, max(0, end - 2 * reach), min(len(data), end + reach)):
        if m.start() < end <= m.end():
            if re.sub(rb"[^0-9A-Za-z]", b"", m.group()) == digits.encode():
                return None  # the number itself: the direct pattern's
            return m.span()
    return None
