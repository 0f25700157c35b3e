"""Find the canary card in captured bytes, in whatever encoding it left the page.

    find_card(data, card)            every match in one payload
    find_card_batch(items, card)     the same for many payloads, scanned in one pass
    find_split_number(chunks, card)  the number cut into its digit groups over several payloads
    groups_distinct(number)          whether split detection means anything for this number

How: one multi-pattern pass (`audit.detect.needles`) over the bytes finds direct forms of the number
and triggers for encoded ones; only the region around a trigger is decoded (`audit.detect.decode`)
and searched again, down to MAX_DEPTH layers; bodies that look compressed are inflated first. Every
reported number was seen whole after decoding, so a different card that shares most digits, a BIN,
or the last four digits never match. The CVC, expiry, name and postal code are reported only in
card context (`audit.detect.context`).

Encodings the needles do not foresee (hex of base64, XOR then base64, a zlib stream in a latin-1
JSON string, lz-string) are found by the decoding search (`audit.detect.search`), which runs on
layers where the needles found no number, within a work budget per body: `scan_batch` says which
bodies it could not search to the end.

A number cut into pieces inside one payload is found by `split_spans`: into its printed groups or
its halves (a form of four boxes, `cc1=4000&cc2=0566&...`; two JSON fields; an array of groups),
and anywhere else (uneven JSON fields, `p1=40000&p2=566556&p3=65556`, a digit per element).
`cut_flags` tells, in one hyperscan pass over the captured bodies' digits, which may hold such
pieces.

Encoding labels name the layers from the outside in, joined by ">": "url>base64>base64". At the
top level a number that needed no decoding is "plain", "separated" (digit groups with spaces,
dashes or dots), "url" (URL-encoded separators), "form" or "multipart" (a field of such a body),
"split" (pieces in separate fields of one payload), "substituted" (every digit mapped through
one fixed table: shifted, XORed, written as letters; `audit.detect.substitution`).
Inside a decoded layer those plain forms add nothing, so base64 of "4000 0566 ..." is "base64".
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate

from audit.evidence import Card
from audit.detect import base85
from audit.detect.context import container_label, context_patterns, near_number
from audit.detect.decode import MAX_DECOMPRESSED, REGION_DECODERS, base64_in_url, decompress, looks_compressed
from audit.detect.needles import CardPatterns, card_digits, number_groups, patterns_for
from audit.detect.substitution import substituted_span
from audit.detect.search import (MAX_LAYERS, Budget, SearchContext, candidate_regions, char_classes, expand,
                                 has_run)

# Decoding layers searched below the captured bytes (url+base64+base64+base64+gzip fits).
MAX_DEPTH = 5


@dataclass(frozen=True)
class CardMatch:
    field: str       # "number" | "cvc" | "expiry" | "name" | "postal"
    encoding: str    # layers joined with ">", outermost first, e.g. "url>base64>base64"
    offset: int      # where the (outermost) encoded form starts in the searched data, -1 if n/a
    length: int      # length of that encoded form in the searched data
    context_ok: bool = True  # cvc/expiry/name/postal: reported only in card context, so True


@dataclass(frozen=True)
class _Hit:
    field: str
    label: str       # "" for a plain form inside a decoded layer
    start: int
    end: int


def _as_bytes(data: bytes | bytearray | memoryview | str) -> bytes:
    if isinstance(data, str):
        return data.encode("utf-8", "surrogatepass")
    return bytes(data)


def find_card(data: bytes | str, card: Card) -> list[CardMatch]:
    """All places the card number (and the CVC, expiry, name, postal in card context) occur, in any
    encoding. One match per (field, encoding, offset). Never raises on arbitrary bytes."""
    return find_card_batch([data], card)[0]


@dataclass(frozen=True)
class Scan:
    """What one payload holds, and why it was not searched to the end (empty when it was)."""

    matches: list[CardMatch]
    unsearched: tuple[str, ...] = ()


def find_card_batch(items: Sequence[bytes | str], card: Card) -> list[list[CardMatch]]:
    """`find_card` for every item, with one scan over all of them."""
    return [matches for matches, _unsearched in _scan_items(items, card)]


def scan_card(data: bytes | str, card: Card) -> Scan:
    """`find_card`, with the reasons the search stopped early, if it did."""
    return scan_batch([data], card)[0]


def _laid(bufs: Sequence[bytes]) -> list[bytes]:
    """The buffers for one vectored scan, a newline before each: no pattern runs from one body
    into the next, and a run of encoded text at the start of a body has a start to be seen."""
    return [piece for buf in bufs for piece in (b"\n", buf)]


def _in_items(laid: list[bytes], ends: list[int]) -> list[tuple[int, int]]:
    """For each end offset of a scan over `_laid` buffers: (index of the buffer holding the hit's
    last byte, end offset within it), or (-1, -1) for a hit that ends on a separator."""
    bounds = list(accumulate(map(len, laid)))
    out = []
    for end in ends:
        j = bisect_right(bounds, end - 1)  # the piece holding the hit's last byte
        out.append((j // 2, end - (bounds[j] - len(laid[j]))) if j % 2 else (-1, -1))
    return out


def scan_batch(items: Sequence[bytes | str], card: Card) -> list[Scan]:
    """Every item, with one needle scan over all of them: the per-call cost of a scan dominates on
    the many small bodies of a real capture. The decoding search then runs per body, only where a
    candidate region is."""
    return [Scan(matches, unsearched) for matches, unsearched in _scan_items(items, card)]


_CLEAN: tuple[str, ...] = ()


def _scan_items(items: Sequence[bytes | str], card: Card) -> list[tuple[list[CardMatch], tuple[str, ...]]]:
    """`scan_batch`'s work, as (matches, reasons not searched to the end) per item."""
    pats = patterns_for(card)
    # Inline type test: this runs once per captured body, tens of thousands of times per run.
    bufs = [x if type(x) is bytes else _as_bytes(x) for x in items]
    hits_by_item: dict[int, list[tuple[int, int]]] = {}
    laid = _laid(bufs)
    raw = pats.scan(laid)
    if raw:
        subst, checked = pats.substituted_id, set()
        for (pid, _end), (i, end) in zip(raw, _in_items(laid, [end for _pid, end in raw])):
            if i >= 0:
                hits_by_item.setdefault(i, []).append((pid, end))
                if pid == subst:
                    checked.add(i)
        for i in checked:
            # A substitution prefilter hit that is no substituted number does not make its body
            # worth a search: checked here, and dropped.
            kept = [(pid, end) for pid, end in hits_by_item[i]
                    if pid != subst or substituted_span(bufs[i], end, pats.digits) is not None]
            if kept:
                hits_by_item[i] = kept
            else:
                del hits_by_item[i]
    results: list[tuple[list[CardMatch], tuple[str, ...]]] = []
    forms = tuple(pats.forms) + tuple(f[::-1] for f in pats.forms)
    cuts = cut_flags(bufs, pats)
    kinds = [info.kind for info in pats.infos]
    url_seed = pats.url_seed_id
    for i, buf in enumerate(bufs):
        hits = hits_by_item.get(i)
        classes = None
        b85 = False
        # Where URL_SEED matched: `_url_runs` looks only where a match can start in a long run.
        seeds = () if hits is None else tuple(end for pid, end in hits if pid == url_seed)
        split = None  # the body's number in pieces, once looked for here (`_scan` needs it too)
        if hits is None:
            # No needle: searched only if a shape the search starts from is there. The body's
            # character classes, mapped here, serve the search's text runs too.
            classes = char_classes(buf)
            if buf.isascii() and b"\x00" not in buf:
                if not has_run(classes):
                    split = split_spans(buf, pats.digits, cuts[i])
                    if not split:
                        if not base85.worth_a_search(buf):
                            results.append(([], _CLEAN))
                            continue
                        b85 = True
            elif not looks_compressed(buf) and next(candidate_regions(buf, True, classes), None) is None:
                split = split_spans(buf, pats.digits, cuts[i])
                if not split:
                    results.append(([], _CLEAN))
                    continue
        elif all(kinds[pid] == "shape" for pid, _end in hits):
            # Only shapes (percent escapes in a form body, most often): the body holds no number
            # form, and `_scan` finds nothing unless the decoding search has a region to start from.
            classes = char_classes(buf)
            if not looks_compressed(buf) and next(candidate_regions(buf, True, classes, False, seeds), None) is None:
                split = split_spans(buf, pats.digits, cuts[i])
                if not split:
                    results.append(([], _CLEAN))
                    continue
        budget = Budget.for_body(len(buf))
        try:
            found = _scan(buf, card, pats, 0, hits or [], SearchContext(forms, budget, classes, b85, cuts[i], seeds, split))
        except RecursionError:  # pathological nesting: nothing sound to report for this body
            found = []
            budget.note("nesting too deep to decode")
        results.append((_to_matches(found), tuple(budget.exhausted)))
    return results


def _to_matches(hits: list[_Hit]) -> list[CardMatch]:
    seen: set[tuple[str, str, int]] = set()
    out: list[CardMatch] = []
    for h in sorted(hits, key=lambda h: (h.start, h.field, h.label)):
        label = h.label or "plain"
        key = (h.field, label, h.start)
        if key not in seen:
            seen.add(key)
            out.append(CardMatch(h.field, label, h.start, h.end - h.start))
    return out


def _join(outer: str, inner: str) -> str:
    return f"{outer}>{inner}" if inner else outer


def _direct_label(data: bytes, start: int, end: int, depth: int) -> str:
    text = data[start:end]
    label = "url" if (b"%" in text or b"+" in text) else \
        "separated" if not text.isdigit() else "plain"
    if depth:
        return "url" if label == "url" else ""
    return container_label(data, start) or label


def _scan(data: bytes, card: Card, pats: CardPatterns, depth: int,
          hits: list[tuple[int, int]] | None = None, ctx: SearchContext | None = None) -> list[_Hit]:
    """Matches in `data`, which sits `depth` decoding layers below the captured bytes."""
    if hits is None:
        hits = pats.scan([data])
    found: list[_Hit] = []
    numbers: list[_Hit] = []
    keyed: dict[tuple[str, int], _Hit] = {}
    done: list[tuple[str, int, int]] = []  # regions decoded so far: (layer, start, end)
    for pid, end in sorted(hits, key=lambda h: h[1]):
        info = pats.infos[pid]
        if info.kind == "digest":
            start = end - info.length
            if start >= 0 and data[start:end] == info.literal:
                found.append(_Hit("number", info.layer, start, end))
        elif info.kind == "direct":
            span = _confirm(data, info.regex, end, info.max_len)
            if span is None:
                continue
            if info.field == "number":
                numbers.append(_Hit("number", _direct_label(data, *span, depth), *span))
            elif not data[end:end + 1].isdigit():  # the key's value is the whole CVC/expiry
                v0 = _value_start(data, span, end, info.field, card)
                label = "" if depth else (container_label(data, v0) or
                                          ("url" if b"%" in data[span[0]:span[1]] else "plain"))
                keyed[(info.field, v0)] = _Hit(info.field, label, v0, end)
        elif info.kind == "shape":
            continue  # the search below looks at the whole layer
        elif info.kind == "substituted":
            span = substituted_span(data, end, pats.digits)
            if span is not None:
                found.append(_Hit("number", "substituted", *span))
        elif depth < MAX_DEPTH:
            found.extend(_decode_trigger(data, card, pats, depth, info.layer, end, info.length, done, ctx))
    if not numbers and not found:
        if depth == 0 and ctx is not None:
            spans = ctx.split if ctx.split is not None else split_spans(data, pats.digits, ctx.cut)
        else:
            spans = split_spans(data, pats.digits, None)
        numbers = [_Hit("number", "split", s, e) for s, e in spans]
    found.extend(numbers)
    for num in numbers:
        for field, s, e in near_number(data, num.start, num.end, card):
            keyed[(field, s)] = _Hit(field, num.label, s, e)
    found.extend(keyed.values())
    if depth < MAX_DEPTH and looks_compressed(data):
        dec = decompress(data)
        if dec is not None:
            if ctx is not None and len(dec.data) >= MAX_DECOMPRESSED:
                ctx.budget.note(f"{dec.layer} body inflated only to its first {MAX_DECOMPRESSED} bytes")
            for h in _scan(dec.data, card, pats, depth + 1, None, ctx):
                found.append(_Hit(h.field, _join(dec.layer, h.label), dec.start, dec.end))
    # A substituted number does not end the search: XOR with a small key of a whole layer also
    # maps digits to digits, and the search names that layer exactly.
    if ctx is not None and depth < MAX_LAYERS and \
            not any(h.field == "number" and h.label != "substituted" for h in found):
        for layer in expand(data, ctx, depth == 0):
            for h in _scan(layer.data, card, pats, depth + 1, None, ctx):
                found.append(_Hit(h.field, _join(layer.label, h.label), layer.start, layer.end))
    return found


def _decode_trigger(data: bytes, card: Card, pats: CardPatterns, depth: int, layer: str,
                    end: int, length: int, done: list[tuple[str, int, int]],
                    ctx: SearchContext | None) -> list[_Hit]:
    """Decode the region around one trigger and search it again."""
    start = end - length if length else max(0, end - 16)
    if start < 0:
        return []
    if layer == "base64" and base64_in_url(data, start, end):
        layer = "url"
    grid = {"base64": 4, "hex": 2, "ascii85": 5, "base85": 5, "z85": 5}.get(layer, 1)  # characters per unit
    for d_layer, d_start, d_end in done:
        # Another trigger already decoded this region on the same grid: its hits are in.
        if d_layer == layer and d_start <= start and end <= d_end and (start - d_start) % grid == 0:
            return []
    dec = REGION_DECODERS[layer](data, start, end)
    if dec is None or not dec.data:
        return []
    done.append((layer, dec.start, dec.end))
    out: list[_Hit] = []
    for h in _scan(dec.data, card, pats, depth + 1, None, ctx):
        s, e = dec.to_outer(h.start, h.end)
        out.append(_Hit(h.field, _join(dec.layer, h.label), s, e))
    return out


# -- a number in pieces inside one payload ------------------------------------------------------
# Between two pieces: anything but digits, and digits that belong to a key or an index (`cc2=`,
# `card[1]=`), at most this many bytes.
SPLIT_GAP = 64
_GAP = rb"(?:[^0-9]|(?<=[A-Za-z_\[])[0-9]{1,3}){1,%d}?" % SPLIT_GAP
_ALONE_AFTER = rb"(?![0-9])"


@lru_cache(maxsize=16)
def _split_regex(digits: str) -> re.Pattern[bytes]:
    """The number cut where people and forms cut it: into its printed groups (four boxes, a field
    per group) and into halves, each piece a number of its own (no digit touching it; letters may:
    `4000_0566`, a JSON `\\n` between pieces). The first piece is a literal, so the scan runs at C
    speed."""
    cuts = [number_groups(digits), [digits[:len(digits) // 2], digits[len(digits) // 2:]]]
    alternatives = []
    for pieces in cuts:
        head = pieces[0].encode()
        expr = head + rb"(?<![0-9]" + head + rb")" + _ALONE_AFTER
        for piece in pieces[1:]:
            expr += _GAP + rb"(?<![0-9])" + piece.encode() + _ALONE_AFTER
        alternatives.append(b"(?:" + expr + b")")
    return re.compile(b"|".join(alternatives))


def split_spans(data: bytes, digits: str, cut: bool | None = None) -> list[tuple[int, int]]:
    """Spans where the number stands in pieces in one payload: its printed groups or halves
    (`cc1=4000&cc2=0566&cc3=5566&cc4=5556`, `{"a":"40000566","b":"55665556"}`, `[4000,0566,...]`)
    or any other cut (`{"a":"40000","b":"566556","c":"65556"}`, a digit per field). Only a key's
    digits may stand between the pieces, so the groups out of order, a BIN and last four, or a
    masked number never match. `cut`: `cut_flags`' answer for a captured body, None for a layer
    it did not look at (the groups and halves under numbered keys, and any cut with no digit
    between the pieces, are then looked for here)."""
    if cut is None:
        spans = [m.span() for m in _split_regex(digits).finditer(data)]
        if spans:
            return spans
        cut = digits.encode() in data.translate(None, _NOT_DIGIT)
    if not cut:
        return []
    return [m.span() for m in _any_cut_regex(digits).finditer(data) if not m.group().isdigit()]


_NOT_DIGIT = bytes(b for b in range(256) if not 0x30 <= b <= 0x39)
# Digits of a key between two pieces (`p2=`, `"c3":`, `card[2]=`): after a letter, before the key's end.
_KEY_DIGITS = rb"(?<=[A-Za-z_\[])[0-9]{1,3}(?=[\]\"'=:])"


@lru_cache(maxsize=16)
def _any_cut_regex(digits: str) -> re.Pattern[bytes]:
    """The number with a gap of at most SPLIT_GAP non-digits or key digits, or none, between any
    two of its digits."""
    gap = rb"(?:(?:[^0-9]|%s){1,%d}?)?" % (_KEY_DIGITS, SPLIT_GAP)
    return re.compile(rb"(?<![0-9])" + gap.join(d.encode() for d in digits) + _ALONE_AFTER)


def cut_flags(bufs: Sequence[bytes], pats: CardPatterns) -> list[bool | None]:
    """For each captured body, whether its digits, read in order, may spell the number in pieces
    with a key's few digits between some of them (`p1=40000&p2=566556&p3=65556`, the printed
    groups as `cc1=4000&cc2=0566&...`): one hyperscan pass over the bodies' digits, laid end to
    end. None for every body without hyperscan (`split_spans` then looks at each itself)."""
    if not pats.scans_digits:
        return [None] * len(bufs)
    laid = _laid([b.translate(None, _NOT_DIGIT) for b in bufs])
    flags: list[bool | None] = [False] * len(bufs)
    for i, _end in _in_items(laid, pats.scan_digits(laid)):
        if i >= 0:
            flags[i] = True
    return flags


def _confirm(data: bytes, rx: re.Pattern[bytes] | None, end: int, max_len: int) -> tuple[int, int] | None:
    """The span of the match of `rx` that ends exactly at `end`, if any."""
    if rx is None:
        return None
    lo = max(0, end - max_len)
    for m in rx.finditer(data, lo, end):
        if m.end() == end:
            return m.start(), m.end()
    # A match starting before the first one finditer tried (overlap): try each start in turn.
    for s in range(lo, end):
        m = rx.match(data, s, end)
        if m and m.end() == end:
            return s, end
    return None


def _value_start(data: bytes, span: tuple[int, int], end: int, field: str, card: Card) -> int:
    """Where the value (not its key) begins in a `key: value` match ending at `end`."""
    rx = context_patterns(card).cvc if field == "cvc" else context_patterns(card).expiry
    if rx is not None:
        for s in range(end - 1, span[0] - 1, -1):
            m = rx.match(data, s, end)
            if m and m.end() == end:
                return s
    return span[0]


# -- numbers split over several payloads ---------------------------------------------------------
def groups_distinct(number: str) -> bool:
    """True when every digit group of the number differs from the others (4000 0566 5566 5556),
    so finding the groups in order over separate payloads is evidence; 4242 4242 ... is not."""
    digits = re.sub(r"\D", "", number)
    groups = number_groups(digits) if digits else []
    return len(groups) > 1 and len(set(groups)) == len(groups)


def find_split_number(chunks: Sequence[bytes | str], card: Card) -> list[tuple[int, ...]]:
    """Index tuples (one index per digit group, in group order) of chunks that together carry the
    number's groups in order, each group as a standalone number. Chunks holding the whole number
    are `find_card`'s business and are not returned here."""
    digits = card_digits(card)
    if not groups_distinct(digits):
        return []
    rxs = [re.compile(rb"(?<!\d)" + g.encode() + rb"(?!\d)") for g in number_groups(digits)]
    out: list[tuple[int, ...]] = []
    picked: list[int] = []
    for i, chunk in enumerate(chunks):
        data = _as_bytes(chunk)
        pos = 0
        while True:  # one chunk may carry several groups in a row
            m = rxs[len(picked)].search(data, pos)
            if m is None:
                break
            picked.append(i)
            pos = m.end()
            if len(picked) == len(rxs):
                if len(set(picked)) > 1:
                    out.append(tuple(picked))
                picked = []
    return out
