"""The decoding search: composed encodings, real library formats (rrweb packed events, lz-string),
the base85 family (Ascii85, RFC 1924, Z85), the work budget, and property tests over random chains
of encodings (pure, no browser)."""

from __future__ import annotations

import base64
import gzip
import itertools
import json
import random
import urllib.parse
import zlib
from pathlib import Path

import lzstring
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.detect import search
from audit.detect.match import find_card, scan_card
from audit.evidence import Card

CARD = Card(number="4000056655665556", cvc="123", expiry="12/34")
N = "4000056655665556"
VECTORS = json.loads((Path(__file__).parent / "data" / "lzstring_vectors.json").read_text())["vectors"]


def numbers(data: bytes | str) -> set[str]:
    return {m.encoding for m in find_card(data, CARD) if m.field == "number"}


def b64(data: bytes) -> bytes:
    return base64.b64encode(data)


def xor(data: bytes, key: int) -> bytes:
    return bytes(b ^ key for b in data)


def xor_key(data: bytes, key: bytes) -> bytes:
    return bytes(b ^ key[i % len(key)] for i, b in enumerate(data))


def latin1_json(data: bytes) -> bytes:
    """A binary string as JSON carries it: JSON.stringify of String.fromCharCode(...bytes), sent as UTF-8."""
    return json.dumps(data.decode("latin-1"), ensure_ascii=False).encode("utf-8")


def raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def envelope(data: bytes) -> bytes:
    """What a replay SDK uploads: JSON header lines, then the item's bytes as they are."""
    return b'{"event_id":"e1"}\n{"type":"replay_recording","length":%d}\n{"segment_id":0}\n' % len(data) + data


PAYLOAD = json.dumps({"card": {"number": N, "exp": "12/34"}, "t": 1733000000}).encode()


# -- composed encodings: the chain, outermost first --------------------------------------------
@pytest.mark.parametrize("label,body", [
    ("hex>base64", b'{"d":"' + b64(PAYLOAD).hex().encode() + b'"}'),
    ("hex>base64", b"t=" + b64(PAYLOAD).hex().upper().encode()),
    ("hex>reversed", b"id=" + N[::-1].encode().hex().encode() + b"&e=12%2F34"),
    ("base64>xor", b"sid=1&d=" + b64(xor(PAYLOAD, 0x4B))),
    ("base64>xor", b64(xor(PAYLOAD, 0xA7))),
    ("base64>xor", b64(xor(PAYLOAD, 0x01))),
    ("hex>xor", xor(PAYLOAD, 0x99).hex().encode()),
    ("base64>base64>xor", b64(b64(xor(PAYLOAD, 0x20)))),
    # A repeated key of several bytes, printable or not, at any offset of the number.
    ("base64>xor", b64(xor_key(PAYLOAD, b"k3y"))),
    ("base64>xor", b"d=" + b64(xor_key(b"..." + PAYLOAD, b"secretK"))),
    ("hex>xor", xor_key(PAYLOAD, b"\x91\x02").hex().encode()),
    ("xor", xor_key(PAYLOAD, b"\xff\x80\x7f\x01\xaa")),
    ("json>deflate", b'{"events":[' + latin1_json(zlib.compress(PAYLOAD)) + b"]}"),
    ("json>gzip", b'{"blob":' + latin1_json(gzip.compress(PAYLOAD)) + b"}"),
    ("char-codes>base64", json.dumps([ord(c) for c in b64(PAYLOAD).decode()]).encode()),
    ("utf16>base64", b64(PAYLOAD).decode().encode("utf-16-le")),
    ("lzstring", json.dumps({"data": lzstring.LZString.compressToBase64(PAYLOAD.decode())}).encode()),
    ("lzstring", b"https://e.example/i?d=" + lzstring.LZString.compressToEncodedURIComponent(PAYLOAD.decode()).encode()),
    ("base64>hex>base64", b64(b64(PAYLOAD).hex().encode())),
    # a compressed stream in the middle of a body: a replay envelope (JSON lines, then the zlib
    # stream of the recording), a multipart file, raw deflate after a part's headers
    ("deflate", b'{"event_id":"e1","sent_at":"2026-01-01T00:00:00Z"}\n{"type":"replay_recording","length":80}\n'
                b'{"segment_id":0}\n' + zlib.compress(PAYLOAD)),
    ("gzip", b'--B\r\nContent-Disposition: form-data; name="log"; filename="s.gz"\r\n\r\n' + gzip.compress(PAYLOAD)
             + b"\r\n--B--\r\n"),
    ("deflate", b"--B\r\nContent-Disposition: form-data; name=f\r\n\r\n" + raw_deflate(PAYLOAD) + b"\r\n--B--\r\n"),
    ("base64>deflate", b64(b'{"segment_id":3}\n' + zlib.compress(PAYLOAD))),
    ("base32", base64.b32encode(PAYLOAD)),
    ("base32", b"k=" + base64.b32encode(PAYLOAD).lower().rstrip(b"=")),
    ("base64>base32", b64(base64.b32encode(PAYLOAD))),
    # base32 on the line after a line break, the whole text a JSON string: the run read is `nPMRG...`
    ("base32", json.dumps('{"segment_id":0}\n' + base64.b32encode(PAYLOAD).decode()).encode()),
])
def test_composed_encoding_found_with_its_chain(label: str, body: bytes) -> None:
    assert label in numbers(body)


def test_url_encoded_lz_string_is_unescaped_first() -> None:
    text = lzstring.LZString.compressToBase64(json.dumps([{"event": "pay", "props": {"n": N, "pad": "x" * 7}}]))
    assert "+" in text or "/" in text or text.endswith("=")
    body = b"data=" + urllib.parse.quote(text, safe="").encode()
    assert numbers(body) & {"url>lzstring", "lzstring"}


# -- lz-string: the PyPI port, checked against vectors made by the JavaScript original ---------
@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["input"][:20] or "empty")
def test_lz_string_matches_the_javascript_original(vector: dict[str, str]) -> None:
    expected = vector["input"]
    assert lzstring.LZString.compressToBase64(expected) == vector["base64"] or not expected.isascii()
    for key, alphabet, reset, shift in (("base64", lzstring.keyStrBase64, 32, 0),
                                        ("uri", lzstring.keyStrUriSafe, 32, 0)):
        values = [alphabet.index(c) for c in vector[key].rstrip("=" if key == "base64" else "")]
        got = search.lz_decompress(values, reset) or ""
        assert search._lz_text(got).decode() == expected, key
    utf16 = [ord(c) - 32 for c in vector["utf16"]]
    assert search._lz_text(search.lz_decompress(utf16, 16384) or "").decode() == expected
    raw = list(vector["raw"].encode("utf-16-le", "surrogatepass"))
    units = [raw[i] | raw[i + 1] << 8 for i in range(0, len(raw), 2)]
    assert search._lz_text(search.lz_decompress(units, 32768) or "").decode() == expected


def _port_probe(values: list[int], reset: int) -> bool:
    """What the lz-string port itself says of the probe window: a valid stream, or one cut short."""
    out, ran_out = search._lz_read(values[:search.LZ_PROBE], reset)
    return bool(out) or ran_out


def _lz_values(text: str, reset: int) -> list[int]:
    if reset == 32:
        return [lzstring.keyStrBase64.index(c) for c in lzstring.LZString.compressToBase64(text).rstrip("=")]
    if reset == 32768:
        return [ord(c) for c in lzstring.LZString.compress(text)]
    return [ord(c) - 32 for c in lzstring.LZString.compressToUTF16(text)[:-1]]


@settings(max_examples=400, deadline=None)
@given(reset=st.sampled_from([32, 32768, 16384]), data=st.data())
def test_lz_probe_reads_as_the_port_does(reset: int, data) -> None:
    """The quick probe that turns random text away before decompression agrees with the port on
    the probe's window, for real streams (whole or cut) and for random values alike."""
    width = reset.bit_length()
    if data.draw(st.booleans()):
        values = _lz_values(data.draw(st.text(max_size=40)), reset)
        values = values[:data.draw(st.integers(1, max(1, len(values))))]
    else:
        values = data.draw(st.lists(st.integers(0, (1 << width) - 1), min_size=1, max_size=20))
    if values:
        assert search._lz_probe(values, reset) == _port_probe(values, reset)


def test_lz_string_utf16_forms_in_json_found() -> None:
    text = json.dumps({"card": N})
    for packed in (lzstring.LZString.compressToUTF16(text), ):
        body = json.dumps({"q": packed}).encode()
        assert "lzstring" in numbers(body)


def lz_uint8(text: str) -> bytes:
    """lz-string 1.5.0's compressToUint8Array (libs/lz-string.js): compress()'s UTF-16 string as
    bytes, two per character, high byte first."""
    return lzstring.LZString.compress(text).encode("utf-16-be", "surrogatepass")


@pytest.mark.parametrize("label,wrap", [
    ("lzstring", lambda raw: raw),                                  # fetch(url, {body: uint8array})
    ("hex>lzstring", lambda raw: raw.hex().encode()),                # the bytes as hex text
])
def test_lz_string_uint8array_form_found(label, wrap) -> None:
    raw = lz_uint8(json.dumps([{"event": "pay", "props": {"card": N, "pad": "x" * 40}}]))
    assert label in numbers(wrap(raw))


def zip_archive(members: dict[str, bytes], method: int = 8) -> bytes:
    """A ZIP archive (PKWARE APPNOTE 4.3.7: local file header, then the member's data), as
    fflate's zipSync writes one (fflate 0.8.3): deflated members by default."""
    import io
    import zipfile
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED if method == 8 else zipfile.ZIP_STORED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize("label,body", [
    ("zip", zip_archive({"events.json": PAYLOAD})),
    ("zip", zip_archive({"meta.json": b'{"v":1}', "events.json": PAYLOAD})),   # the second member
    ("base64>zip", b'{"archive":"' + b64(zip_archive({"e.json": PAYLOAD})) + b'"}'),
    ("zip", b"--B\r\nContent-Disposition: form-data; name=f; filename=s.zip\r\n\r\n"
            + zip_archive({"events.json": PAYLOAD}) + b"\r\n--B--\r\n"),
])
def test_zip_archive_members_found(label: str, body: bytes) -> None:
    assert label in numbers(body)


def test_zip_archive_without_the_card_stays_clean() -> None:
    body = zip_archive({"events.json": json.dumps({"card": {"last4": "5556", "brand": "visa"}}).encode()})
    assert find_card(body, CARD) == []


# -- session replay (rrweb's event format) -----------------------------------------------------
def rrweb_input(node: int, text: str, t: int) -> dict:
    """An IncrementalSnapshot (type 3) of source Input (5): rrweb records the field's whole value."""
    return {"type": 3, "data": {"source": 5, "text": text, "isChecked": False, "id": node}, "timestamp": t}


def typed(node: int, value: str) -> list[dict]:
    return [rrweb_input(node, value[:i], 1733000000000 + i) for i in range(1, len(value) + 1)]


def pack(event: dict) -> str:
    """@rrweb/packer's pack: strFromU8(zlibSync(strToU8(JSON.stringify({...event, v: MARK}))), true)."""
    return zlib.compress(json.dumps({**event, "v": "v1"}, separators=(",", ":")).encode()).decode("latin-1")


CARD_TYPING = typed(31, "4000 0566 5566 5556") + typed(32, "12 / 34") + typed(33, "123")


def test_rrweb_plain_events_caught() -> None:
    assert numbers(json.dumps({"events": CARD_TYPING}).encode())


def test_rrweb_packed_events_caught() -> None:
    body = json.dumps({"events": [pack(e) for e in CARD_TYPING]}, ensure_ascii=False).encode()
    assert "json>deflate" in numbers(body)
    ascii_body = json.dumps({"events": [pack(e) for e in CARD_TYPING]}).encode()  # \u00XX everywhere
    assert "json>deflate" in numbers(ascii_body)


def test_rrweb_masked_recording_clean() -> None:
    masked = typed(31, "*" * 19) + typed(32, "*" * 7) + typed(33, "***") + typed(12, "Jo Payer")
    for body in (json.dumps({"events": masked}).encode(),
                 json.dumps({"events": [pack(e) for e in masked]}, ensure_ascii=False).encode()):
        assert find_card(body, CARD) == []


def test_rrweb_recording_of_processor_frame_page_clean() -> None:
    """Card fields in the processor's cross-origin iframe: the recorder sees an iframe node and the
    page's own fields, never the card."""
    snapshot = {"type": 2, "data": {"node": {"type": 0, "childNodes": [
        {"type": 2, "tagName": "iframe", "attributes": {"src": "https://js.stripe.com/v3/elements-inner-card.html",
                                                       "name": "__privateStripeFrame5"}, "childNodes": [], "id": 40}],
        "id": 1}}, "timestamp": 1733000000000}
    events = [snapshot] + typed(12, "Jo Payer") + typed(13, "jo@example.com") + \
        [{"type": 3, "data": {"source": 2, "type": 2, "id": 40, "x": 120, "y": 300}, "timestamp": 1733000000900}]
    for body in (json.dumps({"events": events}).encode(),
                 json.dumps({"events": [pack(e) for e in events]}, ensure_ascii=False).encode()):
        assert find_card(body, CARD) == []


# -- the budget ---------------------------------------------------------------------------------
def test_budget_exhaustion_is_reported_not_silent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "BUDGET_FLOOR", 4096)
    monkeypatch.setattr(search, "BUDGET_FACTOR", 1)
    body = b64(b64(b64(random.Random(3).randbytes(6000))))
    scan = scan_card(body, CARD)
    assert scan.matches == [] and scan.unsearched
    assert "budget" in " ".join(scan.unsearched)


def test_ordinary_bodies_fit_the_budget() -> None:
    rng = random.Random(5)
    for body in (b64(rng.randbytes(750_000)), json.dumps({"v": [rng.random() for _ in range(5000)]}).encode(),
                 gzip.compress(b64(rng.randbytes(100_000)))):
        assert scan_card(body, CARD).unsearched == ()


# -- property tests -----------------------------------------------------------------------------
def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# name -> (transform, needs text input, may be the outermost layer); XOR is applied in `apply`
TRANSFORMS = {
    "base64": (b64, False, True),
    "base64url": (lambda d: base64.urlsafe_b64encode(d).rstrip(b"="), False, True),
    "hex": (lambda d: d.hex().encode(), False, True),
    "url": (lambda d: urllib.parse.quote_from_bytes(d).encode(), False, True),
    "deflate": (zlib.compress, False, True),
    "gzip": (gzip.compress, False, True),
    "json-latin1": (latin1_json, False, True),
    "lzstring": (lambda d: lzstring.LZString.compressToBase64(d.decode()).encode(), True, True),
    "char-codes": (lambda d: json.dumps([ord(c) for c in d.decode()]).encode(), True, True),
    "base32": (base64.b32encode, False, True),
    "envelope": (envelope, False, True),
    "xor": (None, False, False),
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=12),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=6), kids, max_size=4),
    max_leaves=8)


@st.composite
def chains(draw) -> list[tuple[str, int]]:
    names = draw(st.lists(st.sampled_from(sorted(set(TRANSFORMS) - {"xor"})), min_size=1, max_size=3))
    if draw(st.booleans()) and len(names) < 3 and names[0] in ("base64", "hex", "base64url"):
        # XOR straight over the data (a key is accepted when its output shows the number), sent
        # inside a text encoding, never raw
        names.insert(0, "xor")
    keys = [draw(st.integers(1, 255)) for _ in names]
    return list(zip(names, keys))


def apply(chain: list[tuple[str, int]], data: bytes) -> bytes:
    for name, key in chain:
        fn, needs_text, _ = TRANSFORMS[name]
        if name == "xor":
            data = xor(data, key)
        elif needs_text and not _is_utf8(data):
            data = fn(b64(data))  # lz-string and character codes take text: base64 first, as a page would
        else:
            data = fn(data)
    return data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=json_values, chain=chains(), spaced=st.booleans(), reverse=st.booleans())
def test_random_chain_over_json_with_the_canary_is_found(doc, chain, spaced, reverse) -> None:
    number = "4000 0566 5566 5556" if spaced else N
    text = json.dumps({"meta": doc, "cc": number[::-1] if reverse else number})
    body = apply(chain, text.encode())
    assert numbers(body), (chain, body[:200])


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


@st.composite
def other_luhn_numbers(draw) -> str:
    body = draw(st.text("0123456789", min_size=15, max_size=15))
    for last in "0123456789":
        if _luhn_ok(body + last) and body + last != N:
            return body + last
    return "4242424242424242"


near_misses = st.one_of(
    other_luhn_numbers(),
    st.permutations(["4000", "0566", "5566", "5556"]).filter(lambda g: g != ["4000", "0566", "5566", "5556"])
      .map("".join),
    st.just("400005******5556"), st.just("400005 5556"), st.just("4000 05•• •••• 5556"),
    st.just("exp 12/34 cvc 123"),
    st.lists(st.integers(0, 10**12), min_size=1, max_size=20).map(json.dumps),
)


@pytest.mark.parametrize("order", [p for p in itertools.permutations(range(4)) if p != (0, 1, 2, 3)])
def test_groups_out_of_order_are_no_number_under_any_repeated_xor_key(order) -> None:
    # A repeated key may hold zero bytes where two orders agree: swapping groups then reads as the
    # number through such a "key", and was a false finding before keys with a zero byte were refused.
    # Eight-byte keys are therefore not tried: with one, 3 orders of 23 read as the number at
    # every offset.
    groups = ["4000", "0566", "5566", "5556"]
    miss = "".join(groups[i] for i in order)
    for offset in range(8):
        body = json.dumps({"value": "x" * offset + miss, "total": "$123.00"}).encode()
        for data in (base64.b32encode(body), b64(body), b64(xor_key(body, b"k3y")), xor_key(body, b"\x91\x02\x33"),
                     b64(xor_key(body, b"secretK!")), b64(xor_key(body, b"abcd")), b64(xor_key(body, b"secretK"))):
            assert not numbers(data), (miss, offset, data[:40])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(miss=near_misses, doc=json_values, chain=chains())
def test_near_misses_stay_clean(miss, doc, chain) -> None:
    body = apply(chain, json.dumps({"meta": doc, "value": miss, "total": "$123.00", "due": "12/34"}).encode())
    assert not numbers(body), (miss, chain)


def test_unsearched_body_is_in_result_json_and_makes_a_clean_run_inconclusive(monkeypatch) -> None:
    from audit.detect.policy import HostPolicy
    from audit.evidence import Evidence, FrameRecord, RequestRecord, StepRecord
    from audit.result import build_result

    monkeypatch.setattr(search, "BUDGET_FLOOR", 4096)
    monkeypatch.setattr(search, "BUDGET_FACTOR", 1)
    body = b64(b64(b64(random.Random(3).randbytes(6000))))
    req = RequestRecord("r1", "POST", "https://stats.example.net/c", "stats.example.net", "fetch",
                        "https://shop.example.test/pay", "page", body_b64=base64.b64encode(body).decode())
    frames = (FrameRecord(0, "https://shop.example.test/pay", "shop.example.test", None),
              FrameRecord(1, "https://js.stripe.com/v3/card.html", "js.stripe.com", 0,
                          card_inputs=("number",), typed_fields=("number",)))
    evidence = Evidence("s", "s.yaml", "stripe", "https://shop.example.test/pay", CARD, "2026-11-27T00:00:00Z",
                        completed=True, steps=(StepRecord("goto", "https://shop.example.test/pay", True),),
                        frames=frames, requests=(req,))
    policy = HostPolicy(card_data_hosts=("api.stripe.com",), card_frame_hosts=("js.stripe.com",),
                        processor_hosts=("api.stripe.com", "js.stripe.com"), merchant_domain="example.test")
    result = build_result(evidence, policy)
    (entry,) = result["search"]["unsearched"]
    assert entry["request_id"] == "r1" and entry["location"] == "body" and "budget" in entry["reason"]
    assert result["verdict"] == "inconclusive"
    assert any("not searched to the end" in e["message"] for e in result["errors"])
    assert result["requests"][0]["card_fields"] == []


# -- the base85 family: Ascii85, RFC 1924 (Python's b85encode), Z85 ----------------------------
from audit.detect import base85  # noqa: E402

ALPHABETS = ("ascii85", "base85", "z85")
SPACED_N = b"4000 0566 5566 5556"


def enc85(name: str, data: bytes) -> bytes:
    """Each alphabet as a reference encoder writes it: Python's a85encode and b85encode, and Z85
    as the ZeroMQ reference spells it (checked against the specification's test vector)."""
    if name == "ascii85":
        return base64.a85encode(data)
    if name == "base85":
        return base64.b85encode(data)
    return base64.b85encode(data).translate(bytes.maketrans(
        b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~",
        b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"))


def test_z85_matches_the_specification_vector() -> None:
    # ZeroMQ RFC 32/Z85: 0x86 0x4F 0xD2 0x6F 0xB5 0x59 0xF7 0x5B is "HelloWorld".
    assert enc85("z85", bytes.fromhex("864FD26FB559F75B")) == b"HelloWorld"
    assert base85.decode("z85", b"HelloWorld") == bytes.fromhex("864FD26FB559F75B")


@pytest.mark.parametrize("name", ALPHABETS)
@pytest.mark.parametrize("prefix", [b"", b"{", b'{"n":"', b"\x00\x01\x02"])
@pytest.mark.parametrize("form", [N.encode(), SPACED_N])
def test_number_in_base85_at_any_alignment_is_found(name: str, prefix: bytes, form: bytes) -> None:
    text = enc85(name, prefix + form + b'","exp":"12/34"}')
    assert name in numbers(text)
    assert name in numbers(b"d=" + text + b"&t=1") | numbers(b"d=" + text)


@pytest.mark.parametrize("label,body", [
    # the number itself, as skimmers carry base85 text
    ("ascii85", json.dumps({"d": base64.a85encode(PAYLOAD).decode()}).encode()),  # \" and \\ escapes
    ("ascii85", b"<~" + base64.a85encode(PAYLOAD, wrapcol=40, adobe=False) + b"~>"),
    ("url>z85", b"https://c.example/p?d=" + urllib.parse.quote(enc85("z85", PAYLOAD).decode(), safe="").encode()),
    ("base64>base85", b64(enc85("base85", PAYLOAD))),
    # composed: base85 around what no needle foresees (decoders of the search)
    ("z85>gzip", enc85("z85", gzip.compress(PAYLOAD))),
    ("base85>deflate", json.dumps({"sid": "x", "blob": enc85("base85", zlib.compress(PAYLOAD)).decode()},
                                  separators=(",", ":")).encode()),
    ("ascii85>deflate", json.dumps({"id": "x", "data": base64.a85encode(zlib.compress(PAYLOAD)).decode()},
                                   separators=(",", ":")).encode()),
    ("ascii85>gzip", base64.a85encode(gzip.compress(PAYLOAD), wrapcol=64, adobe=True)),
    ("ascii85>xor", base64.a85encode(xor(PAYLOAD, 0x4B))),
    ("z85>xor", enc85("z85", xor(PAYLOAD, 0x21))),
    ("z85>base64", enc85("z85", b64(PAYLOAD))),
    ("url>base85>gzip", b"q=" + urllib.parse.quote(enc85("base85", gzip.compress(PAYLOAD)).decode(), safe="").encode()),
])
def test_base85_found_with_its_chain(label: str, body: bytes) -> None:
    assert label in numbers(body)


@pytest.mark.parametrize("body", [
    *[enc85(name, b'{"n":"4242424242424242","exp":"12/34"}') for name in ALPHABETS],   # another card
    *[enc85(name, "4000 05•• •••• 5556".encode()) for name in ALPHABETS],            # a masked number
    *[enc85(name, gzip.compress(b'{"bin":"40000566","last4":"5556"}')) for name in ALPHABETS],
    enc85("z85", N[:12].encode() + b"0000"),                                         # a prefix of it
])
def test_base85_look_alikes_stay_clean(body: bytes) -> None:
    assert not numbers(body)


@pytest.mark.parametrize("text", [
    b64(random.Random(5).randbytes(300)),                                 # base64: the alphabets spell it
    random.Random(6).randbytes(200).hex().encode(),                       # hex too
    b"event=view&page=%2Finvoice%2F7&f0=0.5377%20x+y&f1=0.25%20x+y&f2=0.75%20x+y&utm_source=mail",
    json.dumps({"invoice": 1001, "items": [{"sku": 1, "price": "$12.00", "ref": "0123456789012345"}]},
               separators=(",", ":")).encode(),
    b"[0.8630420851299673,0.02172794511255771,0.08719505566049923,0.25161115240277987]",
    b"https://invoices.example.test/invoice/1001?utm_source=newsletter&utm_medium=email#pay",
    b"2026-12-02T08:00:00.000Z|2026-12-02T08:00:01.000Z|2026-12-02T08:00:02.000Z",
    b"function(a,b){return(a+b)*2;}if(!window.__x){window.__x=[];}__x.push({t:Date.now()});",
])
def test_ordinary_text_is_not_taken_for_base85(text: bytes) -> None:
    # The shape test turns it away before any decoding, or its first groups decode to noise.
    for s, e in base85.runs(text):
        for name in ALPHABETS:
            if base85.looks_base85(name, text[s:e]):
                assert not base85.candidates(name, text[s:e]), name
    assert not numbers(text)


def test_text_with_spaces_is_not_searched_for_base85_runs() -> None:
    body = b"Invoice 1001 paid " + enc85("z85", gzip.compress(PAYLOAD)) + b" thanks"
    assert not base85.worth_a_search(body)
    assert base85.worth_a_search(enc85("z85", gzip.compress(PAYLOAD)))
    assert base85.worth_a_search(b"x <~" + base64.a85encode(gzip.compress(PAYLOAD)) + b"~> y")


@pytest.mark.parametrize("name", ALPHABETS)
def test_base85_decoders_round_trip(name: str) -> None:
    rng = random.Random(11)
    for size in range(0, 40):
        data = rng.randbytes(size)
        assert base85.decode(name, enc85(name, data)) == data


# -- where the search looks, told by the needle scan ---------------------------------------------
def _url_seed_ends(data: bytes) -> list[int]:
    """The end offsets the needle scan reports for URL_SEED in `data` alone."""
    from audit.detect.needles import patterns_for
    pats = patterns_for(CARD)
    return [end for pid, end in pats.scan([data]) if pid == pats.url_seed_id]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from([b"%", b"%2F", b"%2b", b"%3D", b"%24", b"%c3", b"%20", b"%41", b"&", b"=",
                                 b"x", b"+", b".", b"0", b"9", b'"', b" ", b"\x0b", b"\n", b"\xc3"]),
                max_size=60))
def test_url_regions_are_ruled_out_only_when_there_are_none(pieces: list[bytes]) -> None:
    """`url_runs_possible` answers from the needle scan's URL_SEED ends; when it says no, the
    regex pass of `_url_runs` finds no region either."""
    data = b"".join(pieces)
    if not search.url_runs_possible(data, _url_seed_ends(data)):
        assert not list(search._url_runs(data))


def test_url_seed_reads_every_byte_as_python_does() -> None:
    """The needle scan and Python's regex agree on URL_SEED byte by byte (its `\\s` in particular),
    so a match `_url_runs` would walk always has its end among the scan's hits."""
    import re
    for b in range(256):
        data = b"%41" + bytes([b]) + b"%41"
        python = {m.end() for m in re.finditer(search.URL_SEED, data)}
        assert python <= set(_url_seed_ends(data)), b
