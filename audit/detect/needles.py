"""Every searchable form of one canary card, compiled once into a single multi-pattern scanner.

The matcher makes one pass over captured bytes with all of these patterns at once. Patterns are of
four kinds:

* `direct`:  the number itself (plain digits, single separators, URL-encoded separators); also the
  CVC or expiry as the value of a card-ish key. A hit is final once a Python regex confirms its span.
* `digest`:  MD5/SHA-1/SHA-256/SHA-512 of the digit string or the space-separated form, as hex or
  base64. Exact literals, final on sight.
* `trigger`: a literal or short regex that only *suggests* an encoded number (the stable middle of a
  base64 or base85 encoding, hex, reversed text, ROT13 of base64, URL or JSON escapes, a gzip header
  in base64). The region around it is decoded and searched again, so nothing is reported without
  the whole number being present after decoding.

Base64 of a substring of a larger blob depends on where the substring falls in the 3-byte groups,
so each text is encoded after 0, 1 and 2 prefix bytes and only the groups made entirely of its own
bytes are kept ("three alignments"). Nesting (base64 of base64 ...) repeats that on the encoded
middles, up to three levels.
"""

from __future__ import annotations

import base64
import hashlib
import re
import struct
import threading
from dataclasses import dataclass
from functools import lru_cache

from audit.evidence import Card
from audit.detect.search import URL_SEED

try:  # hyperscan is the fast path; the pure-Python scanner below keeps results identical without it
    import hyperscan
except ImportError:  # pragma: no cover - exercised only where hyperscan is not installed
    hyperscan = None

# How many base64 levels get precomputed needles: base64 of base64 of base64.
BASE64_LEVELS = 3
# Separators accepted between digit groups, raw or URL-encoded (once; double encoding is decoded).
SEP = rb"(?:[ .\-+]|%20|%2[dDeE])"
# Key names that mark a value as a card security code / expiry (case-insensitive, `_`/`-` ignored).
CVC_KEY = (rb"(?:c[_-]?v[_-]?[cv]2?|c[_-]?s[_-]?c|c[_-]?v[_-]?n|c[_-]?v[_-]?d|security[_-]?code"
           rb"|card[_-]?code|verification[_-]?(?:value|code))")
EXPIRY_KEY = (rb"(?:exp(?:iry|iration|ire|ires)?(?:[_-]?date)?|cc[_-]?exp|card[_-]?exp(?:iry|iration)?"
              rb"|mm[_-]?yy)")
# Between a key and its value: closing brackets/quotes (raw, URL- or JSON-escaped), `:` or `=`.
_CLOSE = rb"(?:\]|%5[dD]|\"|'|%22|%27|\\\")"
_OPEN = rb"(?:\"|'|%22|%27|\\\")"
KEY_VALUE_SEP = _CLOSE + rb"{0,3}\s{0,3}(?:[:=]|%3[aAdD])\s{0,3}" + _OPEN + rb"?"


@dataclass(frozen=True)
class PatternInfo:
    kind: str          # "direct" | "digest" | "trigger" | "shape" (where the decoding search may start)
    #                    | "substituted" (a token that may be the number under a digit substitution)
    field: str         # card field a direct/digest hit stands for
    layer: str         # trigger: decoder to run; digest: encoding label
    length: int = 0    # literal length (digest, literal triggers); 0 for regexes
    regex: re.Pattern[bytes] | None = None  # direct hits: confirms and locates the span
    max_len: int = 0   # direct hits: longest possible span, to bound the confirming search
    literal: bytes = b""  # digests: the exact text, compared once more before reporting


def number_groups(number: str) -> list[str]:
    """Digit groups as printed on the card: 4-6-5 (15 digits), 4-6-4 (14), otherwise fours."""
    if len(number) == 15:
        return [number[:4], number[4:10], number[10:]]
    if len(number) == 14:
        return [number[:4], number[4:10], number[10:]]
    return [number[i:i + 4] for i in range(0, len(number), 4)]


def card_digits(card: Card) -> str:
    digits = re.sub(r"\D", "", card.number)
    if len(digits) < 12:
        raise ValueError(f"canary card number must have at least 12 digits, got {len(digits)}")
    return digits


def number_forms(digits: str) -> list[bytes]:
    """The texts a page is likely to hold: bare digits and the groups joined by one separator."""
    groups = number_groups(digits)
    return [digits.encode()] + [sep.join(groups).encode() for sep in (" ", "-", ".")]


def b64_middles(text: bytes) -> set[bytes]:
    """Base64 of `text` wherever it sits in a larger blob: the groups made only of its own bytes,
    for each of the three alignments, in both alphabets (padding never appears in a middle)."""
    out: set[bytes] = set()
    for k in range(3):
        enc = base64.b64encode(b"\0" * k + text)
        stable = enc[4 if k else 0: 4 * ((k + len(text)) // 3)]
        if len(stable) >= 12:
            out.add(stable)
            out.add(stable.translate(_URLSAFE))
    return out


_URLSAFE = bytes.maketrans(b"+/", b"-_")
_ROT13 = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                         b"NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm")


def rot13(data: bytes) -> bytes:
    return data.translate(_ROT13)


def _lit(data: bytes) -> bytes:
    """A literal as a regex both hyperscan and Python read the same way."""
    return b"".join(b"\\x%02x" % b for b in data)


def _percent_variants(needle: bytes) -> list[bytes]:
    """A base64 needle as it looks inside a URL when `+` and `/` were percent-encoded."""
    if b"+" not in needle and b"/" not in needle:
        return []
    return [needle.replace(b"+", b"%2B").replace(b"/", b"%2F"),
            needle.replace(b"+", b"%2b").replace(b"/", b"%2f")]


def _radix(value: int, radix: int) -> str:
    """`value` in base `radix` with JavaScript's digits (0-9, then a-z), as `toString(radix)`."""
    out = ""
    while value:
        value, d = divmod(value, radix)
        out = "0123456789abcdefghijklmnopqrstuvwxyz"[d] + out
    return out or "0"


def expiry_value_regex(expiry: str) -> bytes | None:
    """`12/34` in its usual spellings: 12/34, 12 / 34, 12-34, 1234, 12/2034, 12%2F34."""
    m = re.fullmatch(r"\s*(\d{1,2})\s*[/\-. ]?\s*(?:20)?(\d{2})\s*", expiry)
    if not m:
        return None
    month, year = m.group(1), m.group(2)
    months = rb"0?" + month.lstrip("0").encode() if month.startswith("0") else month.encode()
    return (months + rb"(?:\s{0,2}(?:/|%2[fF]|\\/|-|\.)\s{0,2})?(?:20)?" + year.encode())


class CardPatterns:
    """All patterns of one card and the scanner that runs them in one pass."""

    def __init__(self, card: Card) -> None:
        self.card = card
        self.digits = card_digits(card)
        self.forms = number_forms(self.digits)
        self.infos: list[PatternInfo] = []
        self.exprs: list[bytes] = []
        self.caseless: list[bool] = []
        self.substituted_id = -1  # the substitution prefilter's pattern id, -1 when the check is off
        self._build()
        self._local = threading.local()
        self._db = self._compile() if hyperscan is not None else None
        self._cut_db = self._compile_cut() if hyperscan is not None else None

    # -- building -------------------------------------------------------------------------------
    def _add(self, expr: bytes, info: PatternInfo, caseless: bool = False) -> None:
        self.exprs.append(expr)
        self.infos.append(info)
        self.caseless.append(caseless)

    def _add_literals(self, needles: set[bytes], kind: str, layer: str, field: str = "number") -> None:
        for needle in sorted(needles):
            self._add(_lit(needle), PatternInfo(kind, field, layer, length=len(needle)))

    def _build(self) -> None:
        groups = number_groups(self.digits)
        direct = (SEP + b"?").join(g.encode() for g in groups)
        self._add(direct, PatternInfo("direct", "number", "", regex=re.compile(direct),
                                      max_len=len(self.digits) + 3 * (len(groups) - 1)))

        forms = self.forms
        reversed_forms = {f[::-1] for f in forms}
        # Base64 needles, level by level; reversed text is included so reverse-then-base64 is found.
        level = set()
        for text in set(forms) | reversed_forms:
            level |= b64_middles(text)
        base64_needles = set(level)
        first_level = set(level)
        for _ in range(BASE64_LEVELS - 1):
            level = {m for text in level for m in b64_middles(text)}
            base64_needles |= level
        self._add_literals(base64_needles, "trigger", "base64")
        pct = {v for n in base64_needles for v in _percent_variants(n)}
        self._add_literals(pct, "trigger", "url")
        self._add_literals({rot13(n) for n in first_level} - base64_needles, "trigger", "rot13")
        self._add_literals({n[::-1] for n in first_level} - base64_needles, "trigger", "reversed")
        self._add_literals(reversed_forms, "trigger", "reversed")
        # The base85 family (Ascii85, RFC 1924, Z85): the groups made only of the number's bytes, at
        # each alignment; an Ascii85 needle as a JSON string carries it too (`\"`, `\\`).
        from audit.detect.base85 import ALPHABETS, middles
        for name in ALPHABETS:
            b85 = {m for text in forms for m in middles(name, text)}
            if name == "ascii85":
                b85 |= {m.replace(b"\\", b"\\\\").replace(b'"', b'\\"') for m in b85}
            self._add_literals(b85 - base64_needles, "trigger", name)
        hexes = {f.hex().encode() for f in forms}
        self._add_literals(hexes | {h.upper() for h in hexes}, "trigger", "hex")

        # Escapes that can hide digits from the direct pattern: decode the region and look again.
        for expr, layer, length in ((rb"\\u003[0-9]", "json", 6), (rb"%25[0-9A-Fa-f]{2}", "url", 5),
                                    (rb"%3[0-9](?:%3[0-9]|[0-9])", "url", 0),
                                    (rb"H4sI[A-Za-z0-9+/_-]{8}", "base64", 12)):  # gzip, in base64
            self._add(expr, PatternInfo("trigger", "number", layer, length=length))

        # The digits one by one, each wrapped or followed by something: UTF-16 text, a JSON or
        # JavaScript array of characters or numbers, HTML character references. Exact literals,
        # like the digests: final on sight.
        digits = self.digits
        spelled = {
            "".join(d + "\x00" for d in digits).encode("latin-1"): "utf16",
            "".join("\x00" + d for d in digits).encode("latin-1"): "utf16",
            ",".join(f'"{d}"' for d in digits).encode(): "char-array",
            ", ".join(f'"{d}"' for d in digits).encode(): "char-array",
            ",".join(digits).encode(): "char-array",
            ", ".join(digits).encode(): "char-array",
            # The characters as an object's values (`JSON.stringify({...number})`).
            ",".join(f'"{i}":"{d}"' for i, d in enumerate(digits)).encode(): "char-array",
            ", ".join(f'"{i}": "{d}"' for i, d in enumerate(digits)).encode(): "char-array",
            "".join(f"&#{ord(d)};" for d in digits).encode(): "html-entities",
            "".join(f"&#x{ord(d):x};" for d in digits).encode(): "html-entities",
            "".join(f"\\x{ord(d):x}" for d in digits).encode(): "js-escapes",
            "".join(f"\\\\x{ord(d):x}" for d in digits).encode(): "js-escapes",  # inside a JSON string
            "".join(f"\\u{{{ord(d):x}}}" for d in digits).encode(): "js-escapes",
            # Full-width digits (U+FF10...), which read as the number to a person and to NFKC.
            "".join(chr(0xFF10 + int(d)) for d in digits).encode(): "fullwidth",
        }
        # Character codes joined by any common separator (`charCodeAt` then `join`), decimal or hex.
        for sep in (",", ", ", " ", "-", ";", "|", ".", ":", "_", "/", "+", "*", "~"):
            spelled.setdefault(sep.join(str(ord(d)) for d in digits).encode(), "char-codes")
            spelled.setdefault(sep.join(f"0x{ord(d):x}" for d in digits).encode(), "char-codes")
            spelled.setdefault(sep.join(f"{ord(d):x}" for d in digits).encode(), "char-codes")  # toString(16)
        # Invisible characters between the digits: zero-width space, non-joiner, joiner, word joiner,
        # soft hyphen, byte-order mark (what a person sees is the number).
        for mark in ("\u200b", "\u200c", "\u200d", "\u2060", "\u00ad", "\ufeff"):
            spelled[mark.join(digits).encode()] = "zero-width"
        # The number as one integer written in another base (`BigInt(n).toString(radix)`).
        value = int(digits)
        for radix in (2, 8, 16, 32, 36):
            text = _radix(value, radix)
            for form in {text, text.upper()}:
                spelled.setdefault(form.encode(), f"radix{radix}")
        # The number as a binary integer or double, either byte order (`DataView.setBigUint64`,
        # `setFloat64`, a typed array, protobuf's fixed64), in a binary body or a decoded layer.
        spelled[value.to_bytes(8, "big")] = "int64"
        spelled[value.to_bytes(8, "little")] = "int64"
        if value < 2 ** 53:  # a JavaScript number holds it exactly
            spelled[struct.pack(">d", float(value))] = "float64"
            spelled[struct.pack("<d", float(value))] = "float64"
        for needle, label in sorted(spelled.items()):
            self._add(_lit(needle), PatternInfo("digest", "number", label, length=len(needle),
                                                literal=needle))

        digests: dict[bytes, str] = {}
        for text in (self.digits.encode(), b" ".join(g.encode() for g in groups)):
            for algo in ("md5", "sha1", "sha256", "sha512"):
                raw = hashlib.new(algo, text).digest()
                digests[raw.hex().encode()] = algo
                digests[raw.hex().upper().encode()] = algo
                std = base64.b64encode(raw).rstrip(b"=")
                digests.setdefault(std, "base64>" + algo)
                digests.setdefault(std.translate(_URLSAFE), "base64url>" + algo)
        for needle, label in sorted(digests.items()):
            self._add(_lit(needle), PatternInfo("digest", "number", label, length=len(needle),
                                                literal=needle))

        # Shapes the decoding search starts from (`audit.detect.search`), each behind a literal so
        # the scan keeps its speed: percent escapes (`search.URL_SEED`), a JSON \u escape, an array
        # of character codes. Runs of encoded text are found apart (`search.has_run`): a
        # character-class repeat here would slow the whole scan.
        # A shape's layer names the region it leads to; `url_seed_id` is URL_SEED's pattern id.
        self.url_seed_id = len(self.exprs)
        for expr, region in ((URL_SEED, "url"),
                             (rb"\\u[0-9a-fA-F]{4}", "string"),
                             (rb"\[\s*\d{2,5}\s*,\s*\d{2,5}\s*,\s*\d{2,5}\s*,", "codes")):
            self._add(expr, PatternInfo("shape", "", region))

        # The number under a substitution of its digits (shifted, XORed, written as letters): a
        # prefilter only, each hit checked by `audit.detect.substitution.substituted_span`.
        from audit.detect.substitution import prefilter
        expr = prefilter(self.digits)
        if expr is not None:
            self.substituted_id = len(self.exprs)
            self._add(expr, PatternInfo("substituted", "number", "substituted"))

        # CVC / expiry as the value of a card-ish key, in JSON, form or query syntax.
        cvc = re.escape(self.card.cvc.strip()).encode()
        if cvc:
            expr = CVC_KEY + KEY_VALUE_SEP + cvc
            self._add(expr, PatternInfo("direct", "cvc", "key", regex=re.compile(expr, re.I),
                                        max_len=96), caseless=True)
        exp = expiry_value_regex(self.card.expiry)
        if exp:
            expr = EXPIRY_KEY + KEY_VALUE_SEP + exp
            self._add(expr, PatternInfo("direct", "expiry", "key", regex=re.compile(expr, re.I),
                                        max_len=110), caseless=True)

    def _compile(self):  # -> hyperscan.Database
        db = hyperscan.Database(mode=hyperscan.HS_MODE_VECTORED)
        db.compile(expressions=self.exprs, ids=list(range(len(self.exprs))), elements=len(self.exprs),
                   flags=[hyperscan.HS_FLAG_CASELESS if c else 0 for c in self.caseless])
        return db

    def _compile_cut(self):  # -> hyperscan.Database
        """The number with up to three digits (a key's, `p2=`) between any two of its digits."""
        db = hyperscan.Database(mode=hyperscan.HS_MODE_VECTORED)
        db.compile(expressions=[b"[0-9]{0,3}".join(d.encode() for d in self.digits)], ids=[0], elements=1)
        return db

    # -- scanning -------------------------------------------------------------------------------
    def scan(self, buffers: list[bytes]) -> list[tuple[int, int]]:
        """(pattern id, end offset) of every hit, offsets counted over the buffers laid end to end.
        Hits spanning two buffers are possible and are discarded by the caller's confirmation."""
        hits: list[tuple[int, int]] = []
        if self._db is None:
            return self._scan_python(buffers)
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:  # a scratch space is per thread in hyperscan
            scratch = self._local.scratch = hyperscan.Scratch(self._db)
        self._db.scan(buffers, lambda pid, _f, end, _fl, _c: hits.append((pid, end)), scratch=scratch)
        return hits

    @property
    def scans_digits(self) -> bool:
        return self._cut_db is not None

    def scan_digits(self, buffers: list[bytes]) -> list[int]:
        """End offsets, over the buffers laid end to end, where digits spell the number with up to
        three other digits between any two of its own (`match.cut_flags`; with hyperscan only,
        `scans_digits`)."""
        scratch = getattr(self._local, "cut_scratch", None)
        if scratch is None:
            scratch = self._local.cut_scratch = hyperscan.Scratch(self._cut_db)
        ends: list[int] = []
        self._cut_db.scan(buffers, lambda _pid, _f, end, _fl, _c: ends.append(end), scratch=scratch)
        return ends

    def _scan_python(self, buffers: list[bytes]) -> list[tuple[int, int]]:
        compiled = getattr(self, "_py", None)
        if compiled is None:
            compiled = self._py = [re.compile(e, re.I if c else 0) for e, c in zip(self.exprs, self.caseless)]
        hits, base = [], 0
        for buf in buffers:  # per buffer: a cross-buffer hit would be discarded anyway
            for pid, rx in enumerate(compiled):
                hits.extend((pid, base + m.end()) for m in rx.finditer(buf))
            base += len(buf)
        return hits


@lru_cache(maxsize=16)
def patterns_for(card: Card) -> CardPatterns:
    """Built once per card: compiling a few thousand patterns takes tens of milliseconds."""
    return CardPatterns(card)

