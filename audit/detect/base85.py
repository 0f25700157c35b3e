"""The base85 family: four bytes as five characters of an 85-character alphabet, big-endian.

    ascii85  Adobe's Ascii85 / btoa: `!` to `u`, `z` for four zero bytes, often inside `<~ ... ~>`
    base85   RFC 1924, Python's `base64.b85encode`, git binary patches: 0-9 A-Z a-z !#$%&()*+-;<=>?@^_`{|}~
    z85      ZeroMQ's Z85 (RFC 32/Z85): 0-9 a-z A-Z .-:+=^!/*?&<>()[]{}@%$#

Each group of four bytes is written on its own, so the groups made only of the number's bytes read
the same wherever the number sits, for each of the four alignments: they are the needles
(`middles`), as for base64. Decoding never raises: a group that is not valid (a value above 2**32)
decodes to four NUL bytes, so one bad group does not hide the rest.
"""

from __future__ import annotations

import base64
import re
import struct

from audit.detect.decode import (PRINTABLE, REGION_DECODERS, WINDOW, Decoded, Span, _run, _zlib_header,
                                 one_top_bit)

_RFC1924 = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~"
_Z85 = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
_ASCII85 = bytes(range(0x21, 0x76))
ALPHABETS: dict[str, bytes] = {"ascii85": _ASCII85, "base85": _RFC1924, "z85": _Z85}
# Character -> digit value (0-84), 0xFF for characters outside the alphabet.
_VALUES = {name: bytes(chars.index(b) if b in chars else 0xFF for b in range(256))
           for name, chars in ALPHABETS.items()}
# The run of an alphabet around a needle (Ascii85's `z` stands alone, outside the group grid; a
# backslash is kept so a JSON-escaped Ascii85 string stays one run).
_RUNS = {name: re.compile(b"[" + re.escape(chars) + b"]*") for name, chars in ALPHABETS.items()}
_B64_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_="


def encode(name: str, data: bytes) -> bytes:
    """`data` in the named alphabet, without delimiters or the `z` shorthand, the last group
    shortened as every encoder does (padding never reaches a needle)."""
    if name == "ascii85":
        return base64.a85encode(data, foldspaces=False).replace(b"z", b"!!!!!")
    return base64.b85encode(data).translate(bytes.maketrans(_RFC1924, ALPHABETS[name]))


def middles(name: str, text: bytes) -> set[bytes]:
    """The groups made only of `text`'s bytes, for each of the four alignments: at least three
    groups (15 characters) each."""
    out: set[bytes] = set()
    for k in range(4):
        enc = encode(name, b"\0" * k + text)
        first = 1 if k else 0
        last = (k + len(text)) // 4
        if last - first >= 3:
            out.add(enc[5 * first:5 * last])
    return out


def decode(name: str, text: bytes) -> bytes:
    """Every whole group of `text` (characters outside the alphabet are dropped; Ascii85's `z` is
    four NUL bytes), a trailing partial group as its encoder pads it."""
    if name == "ascii85":
        text = text.replace(b"z", b"!!!!!")
    values = text.translate(_VALUES[name]).replace(b"\xff", b"")
    full = len(values) - len(values) % 5
    words = []
    for i in range(0, full, 5):
        a, b, c, d, e = values[i:i + 5]
        v = (((a * 85 + b) * 85 + c) * 85 + d) * 85 + e
        words.append(v if v < 1 << 32 else 0)
    out = struct.pack(f">{len(words)}I", *words)
    rest = len(values) - full
    if rest > 1:  # a short last group: padded with the highest digit, then cut back
        v = 0
        for x in values[full:] + bytes([84]) * (5 - rest):
            v = v * 85 + x
        out += (v if v < 1 << 32 else 0).to_bytes(4, "big")[:rest - 1]
    return out


def looks_base85(name: str, run: bytes) -> bool:
    """Shape test of a run of text before any decoding: every character in the alphabet, at least
    20 of them (16 bytes), some outside the base64 and hex alphabets (about one character in
    four is, in base85 of any data; base64 or hex text, which every base85 alphabet spells too,
    has none), at least four different ones, and not mostly digits. Ordinary text that passes (a
    form body is all Z85 characters) is turned away by `plausible` after decoding its first
    groups only."""
    return _shaped(run) and _in_alphabet(name, run)


def _shaped(run: bytes) -> bool:
    if len(run) < 20:
        return False
    head = run[:200]
    # Numbers (`0.8630420851299673,`), dates and ids spell base85 too: few distinct symbols, mostly
    # digits. Base85 of any data uses a dozen symbols in 200 characters and one digit in eight.
    if len(head.translate(None, b"0123456789")) * 2 < len(head):
        return False
    outside = head.translate(None, _B64_BYTES)
    return len(outside) * 12 >= len(head) and len(set(outside)) >= min(4, 1 + len(head) // 20)


def _in_alphabet(name: str, run: bytes) -> bool:
    return not run.translate(None, ALPHABETS[name] + (b"z" if name == "ascii85" else b""))


def plausible(head: bytes) -> bool:
    """The first decoded bytes read as something: mostly printable (text, UTF-8), a gzip or zlib
    header, or one value of the top bit in nearly every byte (text XORed with one key). Random
    bytes, what ordinary text decodes to, are none of these."""
    if not head:
        return False
    if head[:2] == b"\x1f\x8b" or _zlib_header(head):
        return True
    if len(head.translate(None, PRINTABLE)) <= len(head) // 7:
        return True
    return one_top_bit(head)


_JSON_ESCAPED = re.compile(rb'\\(["\\/])')


def region(name: str):
    """A region decoder (`audit.detect.decode.REGION_DECODERS`) for one alphabet: the run of the
    alphabet around a needle that starts on a group boundary, decoded on that grid. An Ascii85 run
    carried in a JSON string (`\\"`, `\\\\`) is unescaped first."""
    run_rx = _RUNS[name]

    def decode_region(data: bytes, s: int, e: int) -> Decoded | None:
        start, end = _run(data, s, e, run_rx, WINDOW)
        chunk = data[start:end]
        escaped = name == "ascii85" and b"\\" in chunk
        if escaped:
            # The needle's grid is that of the unescaped text: count the characters before it.
            skip = len(_JSON_ESCAPED.sub(rb"\1", data[start:s])) % 5
            out = decode(name, _JSON_ESCAPED.sub(rb"\1", chunk)[skip:])
            return Decoded(out, name, start, end, lambda _i0, _i1: (start, end)) if out else None
        start += (s - start) % 5    # keep the group grid the needle was built on
        out = decode(name, data[start:end])
        if not out:
            return None

        def to_outer(i0: int, i1: int) -> Span:
            return start + 5 * (i0 // 4), min(end, start + -(-5 * i1 // 4))

        return Decoded(out, name, start, end, to_outer)

    return decode_region


# A run that may be base85 text: printable ASCII without spaces, quotes, commas or backslashes
# (JSON and form syntax), so each JSON string value or form value is its own run.
RUN = re.compile(rb"[!#-&(-+\--\[\]-~]{20,}")


_JSON_STRING = re.compile(rb'"((?:[^"\\]|\\.)*)"')
# Ascii85 spells quotes, commas and backslashes too: its runs are every character it uses.
ASCII85_RUN = re.compile(rb"[!-uz]{20,}")


def runs(data: bytes) -> list[tuple[int, int]]:
    """Spans of `RUN` in `data` that pass `looks_base85` for some alphabet, and of `ASCII85_RUN`
    that pass it for Ascii85."""
    out = [m.span() for m in RUN.finditer(data)
           if _shaped(m.group()) and any(_in_alphabet(name, m.group()) for name in ALPHABETS)]
    seen = set(out)
    out += [m.span() for m in ASCII85_RUN.finditer(data)
            if m.span() not in seen and looks_base85("ascii85", m.group())]
    if b'"' in data:  # and each JSON string's value: a run above holds its key and quotes too
        out += [m.span(1) for m in _JSON_STRING.finditer(data)
                if m.end(1) - m.start(1) >= 20 and m.span(1) not in seen and looks_base85("ascii85", m.group(1))]
    return out


def delimited(data: bytes) -> list[tuple[int, int]]:
    """Ascii85 between `<~` and `~>` (Adobe's delimiters): spans of the text between them."""
    out, i = [], data.find(b"<~")
    while i >= 0:
        j = data.find(b"~>", i + 2)
        if j < 0:
            break
        if j - i - 2 >= 10:
            out.append((i + 2, j))
        i = data.find(b"<~", j + 2)
    return out


def worth_a_search(body: bytes) -> bool:
    """Whether a body with nothing else to search holds base85 text: Ascii85 in its delimiters,
    or (a body without whitespace: a posted token, minified JSON, a form) a run that passes the
    shape test. A body with whitespace in it (a document, pretty-printed JSON) is not looked at."""
    if len(body) < 20:
        return False
    if b"~" in body and b"<~" in body:  # one byte first: memchr, not a substring search
        return True
    if b" " in body or b"\n" in body:
        return False
    return bool(runs(body))


def candidates(name: str, run: bytes) -> list[bytes]:
    """The run decoded from each of the five places a group may start (text before it, a key or a
    prefix, may share the alphabet), keeping the outputs whose first bytes are `plausible`."""
    if name == "ascii85" and b"\\" in run:  # carried in a JSON string
        run = _JSON_ESCAPED.sub(rb"\1", run)
    out = []
    for k in range(5):
        head = decode(name, run[k:k + 60])
        if plausible(head):
            out.append(decode(name, run[k:]))
    return out


def _register_region_decoders() -> None:
    for name in ALPHABETS:
        REGION_DECODERS.setdefault(name, region(name))


_register_region_decoders()
