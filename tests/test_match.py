"""Table tests for the card matcher: every encoding that must be found, and every near miss that
must stay clean."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import random
import urllib.parse
import zlib

import brotli
import pytest

from audit.evidence import Card
from audit.detect.match import CardMatch, find_card, find_card_batch, find_split_number, groups_distinct

CARD = Card(number="4000056655665556", cvc="123", expiry="12/34", name="Canary Cardholder",
            postal="94107")
N = b"4000056655665556"
SPACED = b"4000 0566 5566 5556"
AMEX = Card(number="378282246310005", cvc="1234")

b64 = base64.b64encode


def b64url(data: bytes, pad: bool = True) -> bytes:
    out = base64.urlsafe_b64encode(data)
    return out if pad else out.rstrip(b"=")


def rot13(data: bytes) -> bytes:
    up = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    low = up.lower()
    return data.translate(bytes.maketrans(up + low, up[13:] + up[:13] + low[13:] + low[:13]))


def json_escaped(text: bytes) -> bytes:
    return b"".join(b"\\u%04x" % c for c in text)


def raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(wbits=-15)
    return c.compress(data) + c.flush()


def encodings(found: list[CardMatch], field: str = "number") -> set[str]:
    return {m.encoding for m in found if m.field == field}


# (case id, captured bytes, an encoding label that must be reported for the number)
NUMBER_FOUND = [
    ("plain", b"https://stats.example.net/c?n=" + N, "plain"),
    ("plain-in-text", b"card " + N + b" typed", "plain"),
    ("space", b"cc: " + SPACED + b";", "separated"),
    ("dash", b"cc: 4000-0566-5566-5556;", "separated"),
    ("dot", b"cc: 4000.0566.5566.5556;", "separated"),
    ("mixed", b"cc: 4000 0566-5566.5556;", "separated"),
    ("amex-groups", None, "separated"),  # filled in below for the Amex card
    ("url-%20", b"https://x.example/c?n=4000%200566%205566%205556", "url"),
    ("url-plus", b"https://x.example/c?n=4000+0566+5566+5556", "url"),
    ("url-double", b"https://x.example/c?n=4000%25200566%25205566%25205556", "url>url"),
    ("url-digits", b"https://x.example/c?n=" + b"".join(b"%%%02X" % c for c in N), "url"),
    ("form", b"card%5Bnumber%5D=" + N + b"&card%5Bcvc%5D=123", "form"),
    ("form-spaced", b"email=a%40b.c&cc=4000+0566+5566+5556", "form"),
    ("multipart", b"--b\r\nContent-Disposition: form-data; name=\"cc\"\r\n\r\n" + N + b"\r\n--b--\r\n",
     "multipart"),
    ("json-escaped", b'{"n":"' + json_escaped(N) + b'"}', "json"),
    ("json-escaped-some", b'{"n":"40\\u00300056655665556"}', "json"),
    ("base64-whole", b64(N), "base64"),
    ("base64-nopad", b64(N).rstrip(b"="), "base64"),
    ("base64-align1", b"d=" + b64(b"x" + N + b"tail"), "base64"),
    ("base64-align2", b"d=" + b64(b"xy" + N + b"tail"), "base64"),
    ("base64-align0-in-json", b"d=" + b64(b'{"cc":"' + N + b'","a":1}'), "base64"),
    ("base64-spaced", b"d=" + b64(b"k " + SPACED + b" end"), "base64"),
    ("base64-dashed", b"d=" + b64(b"4000-0566-5566-5556"), "base64"),
    ("base64url", b"d=" + b64url(b"\xfb\xff" + N + b"\xfb\xff?"), "base64url"),
    ("base64url-nopad", b"d=" + b64url(b"\xff" + N, pad=False), "base64url"),
    ("base64x2", b"d=" + b64(b64(b"ab" + N)), "base64>base64"),
    ("base64x3", b"d=" + b64(b64(b64(b"q" + N + b"zz"))), "base64>base64>base64"),
    ("base64-json-base64", b64(json.dumps({"v": b64(b"p" + N).decode(), "t": 1}).encode()),
     "base64>base64"),
    ("url-base64", b"c?d=" + urllib.parse.quote(b64(b"\xfb\xef" + N).decode(), safe="").encode(),
     "url>base64"),
    ("hex-lower", b"h=" + N.hex().encode(), "hex"),
    ("hex-upper-spaced", b"h=" + SPACED.hex().upper().encode(), "hex"),
    ("hex-lower-dashed", b"h=" + b"4000-0566-5566-5556".hex().encode(), "hex"),
    ("reversed", b"r=" + N[::-1], "reversed"),
    ("reversed-spaced", b"r=" + SPACED[::-1], "reversed"),
    ("reversed-then-base64", b"r=" + b64(N[::-1]), "base64>reversed"),
    ("rot13-base64", b"r=" + rot13(b64(b"ab" + N)), "rot13>base64"),
    ("gzip", gzip.compress(b'{"cc":"' + N + b'"}'), "gzip"),
    ("deflate-zlib", zlib.compress(b"cc=" + N), "deflate"),
    ("deflate-raw", raw_deflate(b'{"cc":"' + N + b'","x":"\xc3\xa9"}' * 3), "deflate"),
    ("brotli", brotli.compress(b'{"cc":"' + SPACED + b'"}' * 5), "brotli"),
    ("base64-gzip", b"p=" + b64(gzip.compress(b"n=" + N)), "base64>gzip"),
    ("md5-hex", hashlib.md5(N).hexdigest().encode(), "md5"),
    ("sha1-hex-upper", hashlib.sha1(N).hexdigest().upper().encode(), "sha1"),
    ("sha256-spaced", b"h=" + hashlib.sha256(SPACED).hexdigest().encode(), "sha256"),
    ("sha512-hex", hashlib.sha512(N).hexdigest().encode(), "sha512"),
    ("sha256-base64", b64(hashlib.sha256(N).digest()), "base64>sha256"),
    ("md5-base64url", b64url(hashlib.md5(SPACED).digest(), pad=False), "base64url>md5"),
]


@pytest.mark.parametrize("case,data,label", NUMBER_FOUND, ids=[c[0] for c in NUMBER_FOUND])
def test_number_found(case: str, data: bytes | None, label: str) -> None:
    card = CARD
    if case == "amex-groups":
        card, data = AMEX, b"amex 3782 822463 10005 x"
    assert data is not None
    found = find_card(data, card)
    assert label in encodings(found), found
    for m in found:  # every reported span lies inside the searched data
        assert 0 <= m.offset and m.offset + m.length <= len(data)


@pytest.mark.parametrize("data,text", [
    (b"x=" + N + b"&y=1", N),
    (b"cc: 4000 0566-5566.5556;", b"4000 0566-5566.5556"),
    (b"c?n=4000%200566%205566%205556&z", b"4000%200566%205566%205556"),
    (b"h=" + N.hex().encode() + b";", N.hex().encode()),
])
def test_offset_points_at_encoded_form(data: bytes, text: bytes) -> None:
    number = [m for m in find_card(data, CARD) if m.field == "number"]
    assert [(m.offset, m.length) for m in number] == [(data.index(text), len(text))]


def test_base64_span_covers_the_encoded_number() -> None:
    blob = b64(b"prefix-bytes:" + N + b":suffix")
    data = b"data=" + blob
    (m,) = [m for m in find_card(data, CARD) if m.field == "number"]
    assert N in base64.b64decode(data[m.offset - (m.offset - 5) % 4:m.offset + m.length] + b"==")


def test_str_input_and_batch_agree_with_single() -> None:
    items = [N.decode(), b"nothing here", b64(b"zz" + N), b"", gzip.compress(N)]
    batch = find_card_batch(items, CARD)
    assert batch == [find_card(x, CARD) for x in items]
    assert [bool(r) for r in batch] == [True, False, True, False, True]


# Near misses: none of these may yield any match at all.
CLEAN = [
    ("last-four", b"Visa ending in 5556"),
    ("masked-last-four", "•••• 5556".encode()),
    ("masked-middle", "4000 05•• •••• 5556".encode()),
    ("bin", b'{"bin":"400005","iin":"40000566","brand":"visa","last4":"5556"}'),
    ("brand-names", b"Visa Mastercard American Express Discover"),
    ("other-card", b"4242424242424242 4242 4242 4242 4242 5555555555554444"),
    ("long-shared-prefix", b"4000056655665557 400005665566555 40000566556655"),
    ("shared-prefix-base64", b64(b"4000056655665557") + b" " + b64(b"xx4000056655665550yy")),
    ("shared-prefix-hex", b"4000056655665557".hex().encode()),
    ("random-base64", b" ".join(b64(random.Random(7).randbytes(3000)) for _ in range(3))),
    ("price-equals-cvc", b'{"total":"$123.00","id":123,"qty":"123"}'),
    ("date-equals-expiry", b'{"due":"12/34","note":"invoice 12/34 due 2034-12-01"}'),
    ("cvc-alone-in-query", b"https://x.example/p?item=123&page=123"),
    ("name-and-postal-alone", b"Canary Cardholder, 94107 San Francisco"),
    ("digest-of-other-card", hashlib.sha256(b"4000056655665557").hexdigest().encode()),
    ("empty", b""),
]


@pytest.mark.parametrize("case,data", CLEAN, ids=[c[0] for c in CLEAN])
def test_precision(case: str, data: bytes) -> None:
    assert find_card(data, CARD) == []


# (case id, data, field, label) for the other card fields, each in card context.
CONTEXT_FOUND = [
    ("cvc-json-key", b'{"cardCvc":"123"}', "cvc", "plain"),
    ("cvc-key-number-value", b'{"cvv": 123, "x": 1}', "cvc", "plain"),
    ("cvc-form-key", b"card%5Bcvc%5D=123&x=1", "cvc", "form"),
    ("cvc-query-key", b"https://x.example/p?security_code=123", "cvc", "plain"),
    ("cvc-key-case-dashes", b"Card-CVV2=123", "cvc", "form"),
    ("cvc-next-to-number", b"n=" + N + b"|c=123", "cvc", "form"),
    ("cvc-in-base64-with-number", b"d=" + b64(b'{"n":"' + N + b'","c":"123"}'), "cvc", "base64"),
    ("expiry-next-to-number", b"cc " + SPACED + b" 12/34", "expiry", "separated"),
    ("expiry-key", b'{"expiry":"12/2034"}', "expiry", "plain"),
    ("expiry-key-urlencoded", b"exp=12%2F34", "expiry", "form"),
    ("name-next-to-number", b'{"n":"' + N + b'","holder":"CANARY CARDHOLDER"}', "name", "plain"),
    ("postal-next-to-number", b"n=" + N + b"&zip=94107", "postal", "form"),
]


@pytest.mark.parametrize("case,data,field,label", CONTEXT_FOUND, ids=[c[0] for c in CONTEXT_FOUND])
def test_card_context_found(case: str, data: bytes, field: str, label: str) -> None:
    found = find_card(data, CARD)
    assert label in encodings(found, field), found
    assert all(m.context_ok for m in found)


def test_cvc_far_from_number_is_not_reported() -> None:
    data = b"n=" + N + b"&" + b"x" * 200 + b"&qty=123"
    assert encodings(find_card(data, CARD), "cvc") == set()


def test_one_match_per_field_encoding_offset() -> None:
    data = b"n=" + N + b"&cvc=123"
    found = find_card(data, CARD)
    keys = [(m.field, m.encoding, m.offset) for m in found]
    assert len(keys) == len(set(keys))
    assert sorted(m.field for m in found) == ["cvc", "number"]


def test_never_raises_on_arbitrary_bytes() -> None:
    rng = random.Random(1234)
    alphabet = b"4000056655665556%25\\u0034H4sI=+/-_ \x1f\x8b\x78\x9c"
    for _ in range(300):
        n = rng.randrange(0, 400)
        data = bytes(rng.choice(alphabet) for _ in range(n)) if rng.random() < 0.5 else rng.randbytes(n)
        find_card(data, CARD)
    # Truncated streams behind real magic bytes.
    for blob in (gzip.compress(N * 50), zlib.compress(N * 50), brotli.compress(N * 50)):
        for cut in (2, 10, len(blob) // 2):
            find_card(blob[:cut], CARD)


def test_decompression_is_bounded() -> None:
    bomb = gzip.compress(b"\0" * (60 * 1024 * 1024) + N)
    assert find_card(bomb, CARD) == []  # the number sits past the 50 MB limit: never inflated


def test_gzip_number_within_limit_found() -> None:
    assert "gzip" in encodings(find_card(gzip.compress(b"\0" * 1_000_000 + N), CARD))


@pytest.mark.parametrize("number,distinct", [
    ("4000056655665556", True), ("4242424242424242", False), ("5555555555554444", False),
    ("378282246310005", True), ("6011111111111117", False), ("4000 0566 5566 5556", True),
])
def test_groups_distinct(number: str, distinct: bool) -> None:
    assert groups_distinct(number) is distinct


@pytest.mark.parametrize("chunks,expected", [
    ([b"g=4000", b"g=0566", b"g=5566", b"g=5556"], [(0, 1, 2, 3)]),
    (["a=4000&b=0566", "noise", "c=5566", "d=5556"], [(0, 0, 2, 3)]),
    ([b"g=4000", b"g=5566", b"g=0566", b"g=5556"], []),                   # out of order
    ([b"g=4000", b"g=0566", b"g=5566"], []),                              # incomplete
    ([b"id=40001", b"g=0566", b"g=5566", b"g=5556"], []),                 # part of a longer number
    ([N], []),                                                            # whole number: not split
    ([b"4000", b"0566", b"5566", b"5556", b"4000", b"0566", b"5566", b"5556"],
     [(0, 1, 2, 3), (4, 5, 6, 7)]),
])
def test_find_split_number(chunks: list[bytes | str], expected: list[tuple[int, ...]]) -> None:
    assert find_split_number(chunks, CARD) == expected


def test_split_number_needs_distinct_groups() -> None:
    card = Card(number="4242424242424242")
    assert find_split_number([b"4242", b"4242", b"4242", b"4242"], card) == []


@pytest.mark.parametrize("form", [N, SPACED, b"4000-0566-5566-5556"], ids=["digits", "spaced", "dashed"])
@pytest.mark.parametrize("urlsafe", [False, True], ids=["std", "url"])
def test_base64_every_alignment(form: bytes, urlsafe: bool) -> None:
    """The number inside a larger blob, after 0..5 prefix bytes and before 0..3 suffix bytes."""
    enc = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    for before in range(6):
        for after in range(4):
            raw = b"\xfb\xff\xfe"[:before % 3] + b"<" * (before - before % 3) + form + b"\xff" * after
            for data in (enc(raw), enc(raw).rstrip(b"="), b'{"d":"' + enc(raw) + b'"}'):
                labels = encodings(find_card(data, CARD))
                assert labels & {"base64", "base64url"}, (before, after, data)


def test_nested_offsets_point_into_outer_blob() -> None:
    inner = b64(b64(b"ab" + N + b"cd"))
    data = b'{"x":1,"payload":"' + inner + b'"}'
    (m,) = [m for m in find_card(data, CARD) if m.field == "number"]
    start = data.index(inner)
    assert m.encoding == "base64>base64"
    assert start <= m.offset and m.offset + m.length <= start + len(inner)


def test_python_scanner_agrees_with_hyperscan() -> None:
    """Without hyperscan the matcher falls back to Python regexes; both must see the same hits."""
    from audit.detect.needles import CardPatterns, hyperscan

    if hyperscan is None:
        pytest.skip("hyperscan not installed: the fallback is the only scanner")
    pats = CardPatterns(CARD)
    samples = [data for _, data, _ in NUMBER_FOUND if data is not None and data.isascii()]
    for data in samples:
        assert set(pats.scan([data])) >= set(pats._scan_python([data])), data


def test_batch_from_threads() -> None:
    """The scanner's scratch space is per thread: parallel callers get correct, separate results."""
    from concurrent.futures import ThreadPoolExecutor

    items = [b"n=" + N, b"nothing", b64(b"x" + N)] * 50
    expected = find_card_batch(items, CARD)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: find_card_batch(items, CARD), range(8)))
    assert all(r == expected for r in results)


@pytest.mark.parametrize("key", ["cvc", "CVV", "cvv2", "csc", "cvn", "security_code", "securityCode",
                                 "security-code", "card[cvc]", "card%5Bcvc%5D", "cardCvc", "card_cvv",
                                 "payment.cvc", "cc-csc"])
@pytest.mark.parametrize("syntax", ['{{"{k}":"123"}}', '{{"{k}": 123}}', "a=1&{k}=123",
                                    "https://x.example/p?{k}=123&z=1"])
def test_cvc_under_card_key(key: str, syntax: str) -> None:
    data = syntax.format(k=key).encode()
    assert encodings(find_card(data, CARD), "cvc"), data


@pytest.mark.parametrize("data", [b'{"cvc":"1234"}', b'{"cvc":"0123"}', b'{"cvc_check":"123"}',
                                  b'{"price":"123"}', b"cvc=12", b'{"order_id":123,"cvcx":1}'])
def test_cvc_key_precision(data: bytes) -> None:
    assert encodings(find_card(data, CARD), "cvc") == set()
