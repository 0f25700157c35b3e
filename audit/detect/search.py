"""Decoding as a bounded search, for encodings no precomputed needle foresees.

Modelled on CyberChef's Magic (src/core/lib/Magic.mjs, gchq/CyberChef): every decoder is a small
registered unit that declares the shape of input it accepts; the search finds candidate regions in
a layer, runs only the decoders whose shape matches, and the matcher searches each output again
(needles first, then this search), down to MAX_LAYERS layers. The chain of decoders that led to a
match is its encoding label, outermost first: "hex>base64", "base64>xor", "json>deflate".

Candidate regions, found with C-speed byte operations (no per-position regex):

* `text`:   a run of base64 / hex / lz-string alphabet characters, at least MIN_RUN long;
* `string`: a JSON string literal holding escapes or non-ASCII characters (latin-1 binary strings,
            as `@rrweb/packer` writes them; lz-string's UTF-16 forms);
* `url`:    a run of URL characters holding percent escapes (a form field, a query value);
* `codes`:  an array of character codes, `[52,48,48,...]`;
* `utf16`:  ASCII text with a NUL after (or before) every character;
* `ascii85`: Ascii85 between its delimiters `<~ ... ~>`;
* `base85`: a run of printable ASCII without spaces, quotes, commas or backslashes (a JSON string
            value, a form value, a posted token) that looks like base85 text (`audit.detect.base85`);
* `binary`: a whole decoded layer, or a body, that is not text;
* `gzip`, `zlib`, `raw`: a compressed stream that starts inside a layer that is not text (a gzip or
            zlib header anywhere; raw deflate or brotli, which have no header, at the start of a
            line where the bytes turn binary): a Sentry replay envelope (JSON lines, then the zlib
            stream of the recording), a compressed file in a multipart form.
* `zip`:    the deflated data of a ZIP archive's member, found from its local file header anywhere
            in a layer that is not text (fflate's zipSync, a .zip in a multipart form).

A binary layer is also read as lz-string's compressToUint8Array form (two bytes per 16-bit value).

A stream at the start of a layer needs no region: the matcher inflates every layer that looks
compressed (`audit.detect.decode.decompress`), so a decoder whose output is compressed bytes leads
straight to it ("json>deflate": a latin-1 string holding a zlib stream).

XOR is tried on binary regions only: a key of one byte (all 255 at once) or a repeated key of up to
seven bytes. A key repeated every `L` bytes keeps the XOR of bytes `L` apart, so that XOR of the
region is searched for the same XOR of the number's forms; a key is read off where it is found
and accepted only when decoding with it shows the number whole.

Every body gets a work budget (bytes produced by decoders); when it runs out the search stops and
the body is reported as not fully searched, never silently passed.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
import struct
from functools import lru_cache
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import lzstring

from audit.detect import base85
from audit.detect.decode import HIGH as _HIGH
from audit.detect.decode import PRINTABLE as _PRINTABLE
from audit.detect.decode import (MAX_DECOMPRESSED, _inflate, _unbrotli, _zlib_header, looks_compressed,
                                 same_top_bit)

# Decoding layers the search goes down (a chain of at most this many decoders).
MAX_LAYERS = 4
# Shortest run of encoded text worth decoding: base64 of 16 digits is 24 characters.
MIN_RUN = 20
# Shortest decoded layer worth searching: nothing the matcher finds is shorter than `cvc=123`
# (every number form is longer; bytes without a header are inflated only from 8 bytes on). A zlib
# header is the exception: a cut stream of a periodic number (4242...) can be 6 bytes.
# Random input often reads as a tiny lz-string stream; such outputs stop here.
MIN_LAYER = 7
# Budget per body: bytes produced by decoders, at least BUDGET_FLOOR, else BUDGET_FACTOR x its size.
BUDGET_FLOOR = 8 * 1024 * 1024
BUDGET_FACTOR = 24
# lz-string decompression is pure Python: longer compressed regions than this are not attempted
# (the body is reported as not fully searched instead).
LZ_MAX_CHARS = 16 * 1024
# Values read before deciding a region is not lz-string: random text fails within a few dozen.
LZ_PROBE = 16
# Alternative base64 alignments are followed only when their output is mostly text.
PRINTABLE_SHARE = 0.85
# Compressed streams tried inside one binary layer (headers found, then line starts): a layer of
# random bytes holds a zlib-looking pair every 16 kB, and each false start fails within bytes.
MAX_STREAM_STARTS = 64


@dataclass
class Budget:
    """Work left for one body; `exhausted` names why the search stopped early, if it did."""

    left: int
    exhausted: list[str] = field(default_factory=list)

    @classmethod
    def for_body(cls, size: int) -> Budget:
        return cls(max(BUDGET_FLOOR, BUDGET_FACTOR * size))

    def spend(self, n: int, what: str) -> bool:
        """Charge n bytes; False (and the reason kept) when the budget cannot cover them."""
        if n > self.left:
            self.note(f"{what}: decoding budget used up")
            self.left = 0
            return False
        self.left -= n
        return True

    def note(self, reason: str) -> None:
        if reason not in self.exhausted:
            self.exhausted.append(reason)


class Region(NamedTuple):
    """A stretch of one layer a decoder may apply to. Immutable, and a tuple: the search makes one
    for every run and string of every layer, and a tuple is built faster than a frozen dataclass."""

    kind: str        # text | string | url | codes | utf16 | binary | gzip | zlib | raw | zip
    start: int
    end: int
    data: bytes      # data[start:end] of the layer (a memoryview of it for compressed streams)


@dataclass(frozen=True)
class Decoder:
    name: str                                   # its label in an encoding chain
    kinds: tuple[str, ...]                      # region kinds it looks at
    accepts: Callable[[bytes], bool]            # the finer shape test on the region's bytes
    decode: Callable[[bytes, SearchContext], Iterator[bytes]]


class SearchContext(NamedTuple):
    """What a decoder may know about the card: the number forms, for XOR key recovery; and the
    captured body's character classes (`_CLASS`), when the matcher already mapped them. One per
    searched body (a tuple, built faster than a frozen dataclass)."""

    forms: tuple[bytes, ...]
    budget: Budget
    classes: bytes | None = None
    base85: bool = False   # the captured body itself is searched for base85 runs (`base85.worth_a_search`)
    cut: bool | None = None  # the captured body's digits may spell the number in pieces (`match.cut_flags`)
    url_seeds: tuple[int, ...] | None = None  # the captured body's URL_SEED match ends (`url_runs_possible`)
    split: list[tuple[int, int]] | None = None  # the captured body's `match.split_spans`, if known already


REGISTRY: list[Decoder] = []
# The same decoders by the region kind they look at, in registration order: a region is offered
# only to its own decoders (the search meets tens of thousands of regions per capture).
BY_KIND: dict[str, list[Decoder]] = {}


def register(name: str, kinds: tuple[str, ...], accepts: Callable[[bytes], bool] = lambda _b: True):
    def wrap(fn: Callable[[bytes, SearchContext], Iterator[bytes]]):
        decoder = Decoder(name, kinds, accepts, fn)
        REGISTRY.append(decoder)
        for kind in kinds:
            BY_KIND.setdefault(kind, []).append(decoder)
        return fn
    return wrap


# -- regions ------------------------------------------------------------------------------------
_B64_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_$"
_HEX_CHARS = b"0123456789abcdefABCDEF"
# Every byte to b"a" (alphabet) or b" " (anything else), so runs are found with bytes.find.
_CLASS = bytes(0x61 if b in _B64_CHARS else 0x20 for b in range(256))
_RUN_SEED = b"a" * MIN_RUN
_CONTROL = bytes(b for b in range(0x80) if b not in _PRINTABLE)
_CODES = re.compile(rb"\[\s*\d{2,5}(?:\s*,\s*\d{2,5}){11,}\s*\]")
# UTF-16 text: printable ASCII to b"p", NUL to b"0", the rest to b" "; then seeds are found by find.
_U16_CLASS = bytes(0x70 if 0x20 <= b < 0x7F else 0x30 if b == 0 else 0x20 for b in range(256))
_U16_SEEDS = (b"p0" * 12, b"0p" * 12)


def is_text(data: bytes) -> bool:
    """Mostly printable ASCII, or valid UTF-8 with few control characters."""
    if not data:
        return True
    # UTF-8 never uses bytes below 0x80 inside a multi-byte character: counting bytes is enough.
    if len(data) - len(data.translate(None, _CONTROL)) > len(data) // 50:
        return False
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def char_classes(data: bytes) -> bytes:
    """Each byte of `data` as b"a" (an encoded-text alphabet character) or b" " (anything else)."""
    return data.translate(_CLASS)


def has_run(classes: bytes) -> bool:
    """Whether a `char_classes` map holds a run of MIN_RUN alphabet characters."""
    return classes.find(_RUN_SEED) >= 0


def _text_runs(data: bytes, classes: bytes | None = None) -> Iterator[Region]:
    if classes is None:
        classes = data.translate(_CLASS)
    pos = 0
    while True:
        i = classes.find(_RUN_SEED, pos)
        if i < 0:
            return
        j = classes.find(b" ", i + MIN_RUN)
        j = len(data) if j < 0 else j
        end = j + (2 if data[j:j + 2] == b"==" else 1 if data[j:j + 1] == b"=" else 0)
        yield Region("text", i, end, data[i:end])
        pos = j


_URL_CHARS = _B64_CHARS + b"%.~!*'()"
_URL_CLASS = bytes(0x61 if b in _URL_CHARS else 0x20 for b in range(256))


# An escape of a base64 character or of a byte above 0x7F, or two escapes close together.
# One leading literal `%`, so Python's regex engine jumps from one `%` to the next.
URL_SEED = rb"%(?:2[bBfF]|3[dD]|24|[89a-fA-F][0-9a-fA-F]|[0-9A-Fa-f]{2}[^%&=\s]{0,6}%[0-9A-Fa-f]{2})"
_URL_SEED = re.compile(URL_SEED)


# Longest URL_SEED match: `%XX`, up to six other bytes, `%XX`; the shortest is `%XX`.
_URL_SEED_LONGEST = 12


def url_runs_possible(data: bytes, seed_ends: Sequence[int]) -> bool:
    """Whether `_url_runs` may yield a region of `data`, told the end offset of every URL_SEED match
    in it (a needle scan reports them: the database holds URL_SEED, and hyperscan reports every end
    offset of a pattern; the pure-Python scanner reports the very matches `_url_runs` walks). A
    region is the run of URL characters around a match's first byte, a `%` at most
    _URL_SEED_LONGEST bytes before the match's end; when every such `%` stands in a run shorter
    than MIN_RUN, no region comes out, and the regex pass over the layer is not needed (a form
    body has a hundred escapes in short values)."""
    for end in seed_ends:
        pos = max(0, end - _URL_SEED_LONGEST)
        while (pos := data.find(b"%", pos, end - 2)) >= 0:
            # A run of MIN_RUN or more around `pos` shows as one within MIN_RUN - 1 bytes each side.
            w0 = max(0, pos - MIN_RUN + 1)
            window = data[w0:pos + MIN_RUN].translate(_URL_CLASS)
            k = pos - w0
            e = window.find(b" ", k)
            if (len(window) if e < 0 else e) - (window.rfind(b" ", 0, k) + 1) >= MIN_RUN:
                return True
            pos += 1
    return False


def _url_runs(data: bytes) -> Iterator[Region]:
    """Runs of URL characters around an escape of a base64 character (`+ / = $`), of a byte above
    0x7F, or two escapes close together: `=` and `&` end a run, so each form field or query value
    is its own region. A lone escaped space leaves encoded text readable to the needles."""
    classes = b""
    pos = 0
    for m in _URL_SEED.finditer(data):
        if m.start() < pos:
            continue
        if not classes:
            classes = data.translate(_URL_CLASS)
        s = classes.rfind(b" ", 0, m.start()) + 1
        e = classes.find(b" ", m.start())
        e = len(data) if e < 0 else e
        if e - s >= MIN_RUN:
            yield Region("url", s, e, data[s:e])
        pos = e


def _string_end(data: bytes, i: int) -> int:
    """Index of the closing quote of the JSON string whose content starts at i, or -1."""
    while True:
        j = data.find(b'"', i)
        if j < 0:
            return -1
        k = j
        while k > i and data[k - 1] == 0x5C:  # count the backslashes before the quote
            k -= 1
        if (j - k) % 2 == 0:
            return j
        i = j + 1


def _strings(data: bytes) -> Iterator[Region]:
    """JSON string literals worth unescaping: with \\u escapes or many non-ASCII characters."""
    # One byte first: memchr finds a backslash far faster than a search finds a two-byte string.
    if data.isascii() and (b"\\" not in data or b"\\u" not in data):
        return
    pos = 0
    while True:
        i = data.find(b'"', pos)
        if i < 0:
            return
        j = _string_end(data, i + 1)
        if j < 0:
            return
        body = data[i + 1:j]
        if len(body) >= MIN_RUN and (body.count(b"\\u") >= 4 or
                                     len(body) - len(body.translate(None, _HIGH)) >= 8):
            yield Region("string", i, j + 1, data[i:j + 1])
        pos = j + 1


def _utf16_runs(data: bytes) -> Iterator[Region]:
    classes = data.translate(_U16_CLASS)
    for seed in _U16_SEEDS:
        pos = 0
        while (i := classes.find(seed, pos)) >= 0:
            j = i + len(seed)
            while classes[j:j + 2] == seed[:2]:
                j += 2
            yield Region("utf16", i, j, data[i:j])
            pos = j


_GZIP_HEAD = b"\x1f\x8b\x08"
# zlib headers without a preset dictionary (the only kind a browser or a JavaScript library writes).
_ZLIB_HEADS = (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda")


def _stream_starts(data: bytes) -> Iterator[Region]:
    """Compressed streams that start after the first byte of a binary layer (the matcher inflates
    one at the start itself): every gzip or zlib header, then every line start where the bytes
    turn binary (raw deflate and brotli have no header). At most MAX_STREAM_STARTS in all; each
    region is a view of the layer from its start on, not a copy (a stream's end is known only
    once inflated)."""
    view = memoryview(data)
    tried = 0
    for kind, heads in (("gzip", (_GZIP_HEAD,)), ("zlib", _ZLIB_HEADS)):
        for head in heads:
            pos = data.find(head, 1)
            while pos > 0:
                if tried == MAX_STREAM_STARTS:
                    return
                tried += 1
                yield Region(kind, pos, len(data), view[pos:])
                pos = data.find(head, pos + 1)
    pos = data.find(b"\n")
    while 0 <= pos < len(data) - 8:
        if tried == MAX_STREAM_STARTS:
            return
        start = pos + 1
        if looks_compressed(data[start:start + 65]):
            tried += 1
            yield Region("raw", start, len(data), view[start:])
        pos = data.find(b"\n", start)


# PKWARE APPNOTE.TXT 4.3.7: a ZIP member's local file header is the signature PK\3\4, then (from
# byte 8) the compression method (8: deflate), and at 26 and 28 the lengths of the file name and
# the extra field that follow the 30-byte header; the member's data comes after them.
_ZIP_LOCAL = b"PK\x03\x04"


def _zip_members(data: bytes) -> Iterator[Region]:
    """The raw deflate data of every deflated ZIP member in a layer (at most MAX_STREAM_STARTS).
    A stored member (method 0) is its plain bytes, which the matcher reads already."""
    view = memoryview(data)
    tried = 0
    pos = data.find(_ZIP_LOCAL)
    while pos >= 0 and tried < MAX_STREAM_STARTS:
        head = data[pos:pos + 30]
        if len(head) == 30 and head[8:10] == b"\x08\x00":
            start = pos + 30 + int.from_bytes(head[26:28], "little") + int.from_bytes(head[28:30], "little")
            if start < len(data):
                tried += 1
                yield Region("zip", start, len(data), view[start:])
        pos = data.find(_ZIP_LOCAL, pos + 4)


def candidate_regions(data: bytes, top: bool, classes: bytes | None = None,
                      base85_runs: bool = False, url_seeds: Sequence[int] | None = None) -> Iterator[Region]:
    """The regions of one layer a decoder might apply to. `top`: the captured bytes themselves,
    which count as binary only when they are not text; a decoded layer is binary by origin
    (XOR with a key below 0x80 leaves ASCII text ASCII). `classes`: `data.translate(_CLASS)`,
    if the caller has it already. `base85_runs`: look for runs of base85 text, in a layer
    `base85.worth_a_search` let in (the runs cost regex passes). `url_seeds`: the end offsets of
    every URL_SEED match in `data`, when a needle scan found them (`url_runs_possible`)."""
    if classes is None:
        classes = data.translate(_CLASS)
    yield from _text_runs(data, classes)
    if top and not base85_runs and classes.count(b" ") == len(data) - len(data.rstrip(b"=")):
        # Captured bytes that are encoded-text characters throughout, but for `=` padding at the
        # end (a posted base64 blob): printable ASCII with no escape, quote, bracket or NUL, so
        # its runs are all there is to decode.
        return
    text = is_text(data)
    if text:
        if b"~" in data and b"<~" in data:  # one byte first: memchr, not a substring search
            for s, e in base85.delimited(data):
                yield Region("ascii85", s, e, data[s:e])
        if base85_runs and data.isascii():
            for s, e in base85.runs(data):
                yield Region("base85", s, e, data[s:e])
        if b"%" in data and (url_seeds is None or url_runs_possible(data, url_seeds)):
            yield from _url_runs(data)
        yield from _strings(data)
        if b"," in data and b"[" in data:
            for m in _CODES.finditer(data):
                yield Region("codes", m.start(), m.end(), m.group())
    if len(data) >= 24 and b"\x00" in data and data.count(b"\x00") * 4 >= len(data):
        yield from _utf16_runs(data)
    if len(data) >= 16 and (not top or not text):
        yield Region("binary", 0, len(data), data)
    if not text:
        yield from _stream_starts(data)
        yield from _zip_members(data)


# -- decoders -----------------------------------------------------------------------------------
def _all_hex(run: bytes) -> bool:
    """An even number (24 or more) of hex digits and nothing else. The first 64 characters are
    looked at first: base64 or text shows a character outside hex there, at the cost of a short
    translate (asked by three decoders of every run)."""
    if len(run) % 2 or len(run) < 24:
        return False
    return not run[:64].translate(None, _HEX_CHARS) and not run.translate(None, _HEX_CHARS)


@register("hex", ("text",), _all_hex)
def _hex(run: bytes, ctx: SearchContext) -> Iterator[bytes]:
    try:
        yield bytes.fromhex(run.decode("ascii"))
    except ValueError:
        return


_B32_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def _base32_body(run: bytes) -> bytes:
    """The run without its padding, and without a first letter of the other case: the letter of a
    JSON escape glued on (`\\nPMRG...`, a base32 line after a line break in a JSON string)."""
    body = run.rstrip(b"=")
    if not (body.isupper() or body.islower()) and (body[1:].isupper() or body[1:].islower()):
        body = body[1:]
    return body


def _base32_shaped(run: bytes) -> bool:
    """RFC 4648 base32: one case of letters and the digits 2-7 only (hex and base64 runs fail at
    their first other character)."""
    body = _base32_body(run)
    return len(body) >= 16 and (body.isupper() or body.islower()) and not body.upper().translate(None, _B32_CHARS)


@register("base32", ("text",), _base32_shaped)
def _base32(run: bytes, ctx: SearchContext) -> Iterator[bytes]:
    body = _base32_body(run).upper()
    for cut in range(3):  # a run cut short ends mid-group: drop the characters that make no byte
        usable = body[:len(body) - cut]
        try:
            yield base64.b32decode(usable + b"=" * (-len(usable) % 8))
            return
        except (binascii.Error, ValueError):
            continue


_TO_STD = bytes.maketrans(b"-_", b"+/")


def _mostly_printable(data: bytes) -> bool:
    return bool(data) and len(data.translate(None, _PRINTABLE)) <= len(data) * (1 - PRINTABLE_SHARE)


# The first character of a base64 group holds the top six bits of the group's first byte. Over
# random bytes all 64 values turn up; text (ASCII or UTF-8, and text XORed with one key, which only
# renames the values) uses far fewer. Compressed data is known by its header instead.
_MAGIC_B64 = (b"H4sI", b"eA", b"eF", b"eJ", b"eN", b"eL")  # gzip; zlib at each compression level


def _base64_shaped(run: bytes) -> bool:
    """Worth decoding: short, or text-like underneath at some alignment, or compressed."""
    if b"$" in run or _all_hex(run):
        return False
    body = run.rstrip(b"=")
    if len(body) < 512:
        return True
    for k in range(4):
        # 192 groups: random data shows ~61 of the 64 values, text at most ~45. The values a sample
        # holds are counted as the bytes it deletes from all 256, at C speed.
        if len(_ALL_BYTES.translate(None, body[k:k + 768:4])) >= 256 - 48 or body.startswith(_MAGIC_B64, k):
            return True
    return False


_ALL_BYTES = bytes(range(256))


@register("base64", ("text",), _base64_shaped)
def _base64(run: bytes, ctx: SearchContext) -> Iterator[bytes]:
    """Standard and URL-safe alphabets, any alignment: the run may start mid-group when the text
    before it (a key, a prefix) shares the alphabet. Offsets other than 0 are kept only when they
    read as text or compressed data."""
    std = run.rstrip(b"=").translate(_TO_STD)
    for k in range(4):
        chunk = std[k:]
        if k:
            try:
                head = binascii.a2b_base64(chunk[:64])
            except (binascii.Error, ValueError):
                continue
            if not (_mostly_printable(head) or head[:2] == b"\x1f\x8b" or _zlib_header(head)):
                continue
        usable = len(chunk) - (len(chunk) % 4 == 1)
        try:
            yield binascii.a2b_base64(chunk[:usable] + b"=" * (-usable % 4))
        except (binascii.Error, ValueError):
            continue


def _lz_alphabet(run: bytes) -> str | None:
    if b"_" in run:
        return None
    uri = b"-" in run or b"$" in run
    if uri and (b"/" in run or b"=" in run):
        return None
    return lzstring.keyStrUriSafe if uri else lzstring.keyStrBase64


class _Stop(Exception):
    pass


def lz_decompress(values: Sequence[int], reset: int) -> str | None:
    """lz-string's decompression (the `lzstring` port of the JavaScript original) over already
    mapped values; None when the values are not a whole lz-string stream."""
    out, _ = _lz_read(values, reset)
    return out


def _lz_read(values: Sequence[int], reset: int) -> tuple[str | None, bool]:
    """(output, ran_out): ran_out is True when the values were valid as far as they went but the
    stream did not end in them (a prefix of a longer stream)."""
    n = len(values)

    def value(i: int) -> int:
        if i >= n:
            raise _Stop
        return values[i]

    try:
        # The port stops at index > length with "" (a truncated stream): give it room to ask.
        return lzstring._decompress(n + (1 << 20), reset, value) or None, False
    except _Stop:
        return None, True
    except Exception:  # noqa: BLE001 - the port fails in many ways on what is not its format
        return None, False


def _lz_probe(values: Sequence[int], reset: int) -> bool:
    """Cheap first look: do the first codes read as a valid stream (or a whole short one)?
    Random text and ordinary base64 fail here, after a handful of codes.

    The same reading as the port's `_decompress` (bits taken from each value's top bit down,
    assembled lowest bit first; codes 0/1 bring an 8/16-bit character, 2 ends the stream, a code
    above the dictionary's next slot is invalid), but only the dictionary's size is kept, not its
    strings, so it costs a few integer operations per code. A stream cut short by the probe's
    window counts as valid (as it does for the port)."""
    width = reset.bit_length()          # bits per value: 6 (base64 forms), 16 or 15 (UTF-16 forms)
    rev = _bit_reversed(width)
    mask = (1 << width) - 1             # the port reads only these bits of a value
    count = min(len(values), LZ_PROBE)
    buf = have = taken = 0              # bits loaded and not yet read; values loaded

    def read(n: int) -> int:
        # The port fetches the next value as soon as one is used up: a code that ends exactly at
        # the window's end counts as cut short, as it does there (hence n + 1 bits needed).
        nonlocal buf, have, taken
        while have <= n:
            if taken == count:
                raise _Stop
            v = values[taken] & mask
            buf |= (rev[v] if rev else int(format(v, f"0{width}b")[::-1], 2)) << have
            have += width
            taken += 1
        out = buf & ((1 << n) - 1)
        buf >>= n
        have -= n
        return out

    try:
        first = read(2)
        if first > 1:
            return False                # 2: an empty stream; 3: not a stream
        read(8 << first)
        size, bits, enlarge = 4, 3, 4
        while True:
            code = read(bits)
            if code == 2:
                return True             # the stream ends here, after at least one character
            if code < 2:
                read(8 << code)
                size += 1
                code = size - 1
                enlarge -= 1
            if enlarge == 0:
                enlarge, bits = 1 << bits, bits + 1
            if code > size:
                return False
            size += 1
            enlarge -= 1
            if enlarge == 0:
                enlarge, bits = 1 << bits, bits + 1
    except _Stop:
        return True


@lru_cache(maxsize=4)
def _bit_reversed(width: int) -> tuple[int, ...]:
    """Each `width`-bit value with its bits in the opposite order (a table for narrow values
    only; wide ones are reversed one by one)."""
    return tuple(int(format(v, f"0{width}b")[::-1], 2) for v in range(1 << width)) if width <= 8 else ()


@lru_cache(maxsize=4)
def _lz_table(alphabet: str) -> bytes:
    """Character -> its value in the alphabet, 0xFF for characters outside it (one translate)."""
    table = bytearray(b"\xff" * 256)
    for i, c in enumerate(alphabet.encode()):
        table[c] = i
    return bytes(table)


def _lz_text(out: str) -> bytes:
    """JavaScript strings are UTF-16: join surrogate pairs the port leaves apart."""
    return out.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace").encode("utf-8")


@register("lzstring", ("text",), lambda run: not _all_hex(run))
def _lz_base64(run: bytes, ctx: SearchContext) -> Iterator[bytes]:
    """lz-string's compressToBase64 and compressToEncodedURIComponent forms (a run mixing the two
    alphabets is neither: nothing comes out)."""
    alphabet = _lz_alphabet(run)
    if alphabet is None:
        return
    text = run.rstrip(b"=")
    table = _lz_table(alphabet)
    head = text[:LZ_PROBE].translate(table)  # the probe's window first: most runs end there
    if head[0] & 16 or b"\xff" in head:
        return  # the first code must be 0 or 1 (a character): its second bit is the value's 0x10
    if not _lz_probe(head, 32):  # bytes index as ints: the mapped values need no list
        return
    mapped = text[:LZ_MAX_CHARS].translate(table)
    if b"\xff" in mapped:
        return
    out, ran_out = _lz_read(mapped, 32)
    if ran_out and len(text) > LZ_MAX_CHARS:
        ctx.budget.note(f"lz-string stream of more than {LZ_MAX_CHARS} characters not decompressed")
    if out:
        yield _lz_text(out)


@register("lzstring", ("binary",), lambda region: not region[0] & 0x40)
def _lz_uint8(region: bytes, ctx: SearchContext) -> Iterator[bytes]:
    """lz-string's compressToUint8Array form: compress()'s output, each 16-bit character as two
    bytes, high byte first (lz-string 1.5.0, libs/lz-string.js, compressToUint8Array), posted as
    the bytes themselves. The first code's second bit is the first value's 0x4000 bit, and it must
    be 0 (the stream starts with a character): the `accepts` test."""
    size = min(len(region), 2 * LZ_MAX_CHARS) & ~1
    head = struct.unpack(f">{min(size, 2 * LZ_PROBE) // 2}H", region[:min(size, 2 * LZ_PROBE)])
    if not head or not _lz_probe(head, 32768):
        return
    out, ran_out = _lz_read(struct.unpack(f">{size // 2}H", region[:size]), 32768)
    if ran_out and len(region) > 2 * LZ_MAX_CHARS:
        ctx.budget.note(f"lz-string stream of more than {LZ_MAX_CHARS} characters not decompressed")
    if out:
        yield _lz_text(out)


def _json_string(region: bytes) -> str | None:
    try:
        value = json.loads(region)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, str) else None


@register("json", ("string",))
def _json(region: bytes, ctx: SearchContext) -> Iterator[bytes]:
    """A JSON string's value: as UTF-8 text, and as bytes when every character is below 256
    (a binary string, as `@rrweb/packer` and other latin-1 packers write them)."""
    value = _json_string(region)
    if value is None:
        return
    if max(map(ord, value), default=0) < 256:
        raw = value.encode("latin-1")
        if not raw.isascii():
            yield raw
            return
    yield value.encode("utf-8", "surrogatepass")


@register("lzstring", ("string",))
def _lz_utf16(region: bytes, ctx: SearchContext) -> Iterator[bytes]:
    """lz-string's compress (raw UTF-16) and compressToUTF16 forms, carried in a JSON string."""
    value = _json_string(region)
    if not value or max(map(ord, value)) < 256:
        return
    if len(value) > LZ_MAX_CHARS:
        ctx.budget.note(f"lz-string string of {len(value)} characters not decompressed")
        return
    units = value.encode("utf-16-le", "surrogatepass")
    codes = [int.from_bytes(units[i:i + 2], "little") for i in range(0, len(units), 2)]
    for values, reset in ((codes, 32768), ([c - 32 for c in codes], 16384)):
        if min(values) >= 0 and _lz_probe(values, reset):
            out = lz_decompress(values, reset)
            if out:
                yield _lz_text(out)


def _inflate_limit(ctx: SearchContext) -> int:
    # One byte over what the budget can pay for, so that `expand` notes the budget as used up.
    return min(MAX_DECOMPRESSED, ctx.budget.left + 1)


@register("gzip", ("gzip",))
def _gzip_inside(region: bytes, ctx: SearchContext) -> Iterator[bytes]:
    out = _inflate(region, 31, _inflate_limit(ctx), strict=False)
    if out:
        yield out


@register("deflate", ("zlib",))
def _zlib_inside(region: bytes, ctx: SearchContext) -> Iterator[bytes]:
    out = _inflate(region, 15, _inflate_limit(ctx), strict=False)
    if out:
        yield out


@register("deflate", ("raw",))
def _raw_deflate_inside(region: bytes, ctx: SearchContext) -> Iterator[bytes]:
    """No header: only a stream that ends cleanly (or fills the limit) counts, as at a body's start."""
    out = _inflate(region, -15, _inflate_limit(ctx), strict=True)
    if out:
        yield out


@register("zip", ("zip",))
def _zip_member(region: bytes, ctx: SearchContext) -> Iterator[bytes]:
    """A ZIP member's deflate data (raw deflate, APPNOTE 4.4.5 method 8); its header told where it
    starts, so a member cut short by the capture still yields what it holds."""
    out = _inflate(region, -15, _inflate_limit(ctx), strict=False)
    if out:
        yield out


@register("brotli", ("raw",))
def _brotli_inside(region: bytes, ctx: SearchContext) -> Iterator[bytes]:
    out = _unbrotli(region, _inflate_limit(ctx))
    if out:
        yield out


_PERCENT = re.compile(rb"%([0-9A-Fa-f]{2})")


@register("url", ("url",))
def _url(region: bytes, ctx: SearchContext) -> Iterator[bytes]:
    """Percent-decoding; `+` stays `+` (in base64 it is a character, not a space)."""
    yield _PERCENT.sub(lambda m: bytes([int(m.group(1), 16)]), region)


@register("char-codes", ("codes",))
def _char_codes(region: bytes, ctx: SearchContext) -> Iterator[bytes]:
    codes = [int(x) for x in re.findall(rb"\d+", region)]
    try:
        yield "".join(map(chr, codes)).encode("utf-8", "surrogatepass")
    except ValueError:
        return


@register("utf16", ("utf16",))
def _utf16(region: bytes, ctx: SearchContext) -> Iterator[bytes]:
    yield region.replace(b"\x00", b"")


def _base85_decoder(name: str) -> Callable[[bytes, SearchContext], Iterator[bytes]]:
    def decode(run: bytes, ctx: SearchContext) -> Iterator[bytes]:
        """Decoded from each place a group may start, where the first bytes read as something."""
        yield from base85.candidates(name, run)
    return decode


# The base85 family, each alphabet a decoder of its own (its name is the label): a run passes the
# shape test of an alphabet (`base85.looks_base85`: all its characters, some outside base64 and
# hex) before anything is decoded, and only its first groups are decoded before the rest.
for _name in base85.ALPHABETS:
    register(_name, ("base85",), functools.partial(base85.looks_base85, _name))(_base85_decoder(_name))
# Ascii85 between `<~` and `~>`: the delimiters are the shape; whitespace inside is ignored.
register("ascii85", ("ascii85",))(lambda run, ctx: iter([base85.decode("ascii85", run)]))


@register("xor", ("binary",))
def _xor(region: bytes, ctx: SearchContext) -> Iterator[bytes]:
    """XOR with a key of one byte (every key at once) or a repeated key of up to MAX_XOR_KEY bytes,
    through the invariant such a key leaves: bytes `L` apart XOR to what the plain text's do, so
    the number's own pattern of differences is searched for, and the key is read off where it is.
    A longer key is tried only on bytes that are not text already, and kept only without a zero
    byte. Keys stop at seven bytes: a key of eight reads the number's four-digit groups, swapped
    and then XORed with another eight-byte key, as the number itself (the two orders differ by a
    pattern that repeats every eight bytes), a false finding on a near miss."""
    if len(region) < 12:
        return
    head = region[:4096]
    longer = len(region) >= 24 and not is_text(head)
    big = 0
    tried: set[bytes] = set()
    tops = head.translate(_TOP_BITS)
    for size in range(1, MAX_XOR_KEY + 1 if longer else 2):
        # Text XORed with a key keeps one value of the top bit in nearly every byte at each place of
        # the key (printable ASCII has it clear); random and compressed bytes have it set about half
        # the time.
        if not _one_top_bit_apart(tops, size):
            continue
        big = big or int.from_bytes(region, "big")
        apart = (big ^ (big >> (8 * size))).to_bytes(len(region), "big")
        for form, pattern in _apart_patterns(ctx.forms, size):
            pos = apart.find(pattern, size)
            while pos > 0:
                start = pos - size   # where the form begins in the region
                key = bytes(region[start + j] ^ form[j] for j in range(size))
                turn = start % size  # the key as it runs from the region's first byte
                key = key[size - turn:] + key[:size - turn] if turn else key
                if key not in tried and (any(key) if size == 1 else all(key) and len(set(key)) > 1):
                    tried.add(key)
                    yield _xor_with(region, key)
                pos = apart.find(pattern, pos + 1)


MAX_XOR_KEY = 7   # bytes of a repeated XOR key (see `_xor`)
# Each byte's top bit, as the byte 0 or 1.
_TOP_BITS = bytes(b >> 7 for b in range(256))


def _one_top_bit_apart(tops: bytes, size: int) -> bool:
    """`decode.one_top_bit` of the bytes at each place of a key of `size` bytes, told from the
    layer's top bits (`_TOP_BITS`) by counting: one translate of the layer serves every size."""
    for r in range(size):
        part = tops[r::size]
        if not same_top_bit(part.count(1), len(part)):
            return False
    return True


def _xor_with(region: bytes, key: bytes) -> bytes:
    if len(key) == 1:
        return region.translate(_XOR_TABLES[key[0]])
    stream = (key * (len(region) // len(key) + 1))[:len(region)]
    return (int.from_bytes(region, "big") ^ int.from_bytes(stream, "big")).to_bytes(len(region), "big")


@lru_cache(maxsize=64)
def _apart_patterns(forms: tuple[bytes, ...], size: int) -> tuple[tuple[bytes, bytes], ...]:
    """Each form with the XOR of its bytes `size` apart (at least 8 of them: a shorter pattern
    would turn up in random bytes)."""
    return tuple((f, bytes(a ^ b for a, b in zip(f, f[size:]))) for f in forms if len(f) - size >= 8)


_XOR_TABLES = [bytes(b ^ k for b in range(256)) for k in range(256)]


def layer_name(decoder: Decoder, region: bytes, out: bytes) -> str:
    """The label of one decoding step; compression names its own format."""
    if decoder.name == "base64" and (b"-" in region or b"_" in region) and not (b"+" in region or b"/" in region):
        return "base64url"
    return decoder.name


# -- the search ---------------------------------------------------------------------------------
class Layer(NamedTuple):
    """One decoded layer below a searched one."""

    label: str
    start: int       # the region of the searched data this layer came from
    end: int
    data: bytes


def expand(data: bytes, ctx: SearchContext, top: bool) -> Iterator[Layer]:
    """Every decoded layer one step below `data`, within the budget (looking at a layer costs its
    size, decoding costs the size of the output)."""
    if not ctx.budget.spend(len(data), f"layer of {len(data)} bytes"):
        return
    seen: set[bytes] = set()
    # Base85 runs are looked for only in ASCII text (`candidate_regions`): no need to ask otherwise.
    runs85 = ctx.base85 if top else data.isascii() and base85.worth_a_search(data)
    for region in candidate_regions(data, top, ctx.classes if top else None, runs85,
                                    ctx.url_seeds if top else None):
        for dec in BY_KIND.get(region.kind, ()):
            if not dec.accepts(region.data):
                continue
            for out in dec.decode(region.data, ctx):
                if (len(out) < MIN_LAYER and not _zlib_header(out)) or out == region.data or out in seen:
                    continue
                if not ctx.budget.spend(len(out), f"{dec.name} at byte {region.start}"):
                    return
                seen.add(out)
                yield Layer(layer_name(dec, region.data, out), region.start, region.end, out)
