"""The number spelled out digit by digit (UTF-16 text, arrays of characters or character codes,
HTML references, JavaScript escapes, full-width digits, invisible characters between the digits),
written as one integer in another base, or cut into pieces inside one payload."""

from __future__ import annotations

import json

import pytest

from audit.evidence import Card
from audit.detect.match import find_card

CARD = Card("4000056655665556")
N = CARD.number


@pytest.mark.parametrize("data, encoding", [
    (N.encode("utf-16-le"), "utf16"),
    (b"\xff\xfe" + N.encode("utf-16-le") + b"\x00\x00", "utf16"),
    (N.encode("utf-16-be"), "utf16"),
    (json.dumps({"k": list(N)}).encode(), "char-array"),
    (json.dumps(list(N), separators=(",", ":")).encode(), "char-array"),
    (json.dumps([int(d) for d in N]).encode(), "char-array"),
    (("<i>" + "".join(f"&#{ord(d)};" for d in N) + "</i>").encode(), "html-entities"),
    ("".join(f"&#x{ord(d):x};" for d in N).encode(), "html-entities"),
    # `charCodeAt` joined by whatever the page chose, decimal or hex
    ("d=" + ",".join(str(ord(c)) for c in N), "char-codes"),
    ("d=" + "-".join(str(ord(c)) for c in N) + "&t=1", "char-codes"),
    ("|".join(str(ord(c)) for c in N), "char-codes"),
    ("x " + " ".join(str(ord(c)) for c in N), "char-codes"),
    (",".join(f"0x{ord(c):x}" for c in N), "char-codes"),
    ('"' + "".join(f"\\x{ord(c):02x}" for c in N) + '"', "js-escapes"),
    ("".join(f"\\u{{{ord(c):x}}}" for c in N), "js-escapes"),
    (json.dumps({"n": "".join(chr(0xFF10 + int(c)) for c in N)}, ensure_ascii=False), "fullwidth"),
    ("\u200b".join(N), "zero-width"),
    ("\u2060".join(N), "zero-width"),
    ("\u00ad".join(N), "zero-width"),
    # BigInt(number).toString(radix)
    (json.dumps({"id": hex(int(N))[2:]}), "radix16"),
    (json.dumps({"id": hex(int(N))[2:].upper()}), "radix16"),
    ("k=" + format(int(N), "b"), "radix2"),
    ("k=" + format(int(N), "o"), "radix8"),
])
def test_spelled_out_numbers_are_found(data, encoding):
    data = data.encode() if isinstance(data, str) else data
    assert ("number", encoding) in {(m.field, m.encoding) for m in find_card(data, CARD)}


@pytest.mark.parametrize("data", [
    json.dumps(list("4242424242424242")).encode(),        # another card, spelled out
    json.dumps([int(d) for d in N[:12]]).encode(),        # a prefix only
    "5556".encode("utf-16-le"),                           # last four
    b"[1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6]",
    ",".join(str(ord(c)) for c in "4242424242424242").encode(),  # another card's character codes
    ",".join(str(ord(c)) for c in N[:12]).encode(),               # a prefix's character codes
    hex(int("4242424242424242"))[2:].encode(),                    # another card as an integer
    "\u200b".join(N[:6] + "******" + N[-4:]).encode(),           # a masked number, spaced out
])
def test_spelled_out_look_alikes_stay_clean(data):
    assert not [m for m in find_card(data, CARD) if m.field == "number"]


def _base36(value: int) -> str:
    out = ""
    while value:
        value, d = divmod(value, 36)
        out = "0123456789abcdefghijklmnopqrstuvwxyz"[d] + out
    return out


def test_the_number_as_a_base_36_integer_is_found():
    # What `BigInt('4000056655665556').toString(36)` gives in a browser: the digits, then a-z.
    text = _base36(int(N))
    assert int(text, 36) == int(N)
    for body in (f"u={text}".encode(), f"u={text.upper()}".encode()):
        assert ("number", "radix36") in {(m.field, m.encoding) for m in find_card(body, CARD)}


# -- the number cut into pieces inside one payload ---------------------------------------------
@pytest.mark.parametrize("data", [
    b"cc1=4000&cc2=0566&cc3=5566&cc4=5556&exp=12%2F34",              # a form of four boxes
    b"card[0]=4000&card[1]=0566&card[2]=5566&card[3]=5556",          # indexed keys
    json.dumps({"a": "4000", "b": "0566", "c": "5566", "d": "5556"}).encode(),
    json.dumps(["4000", "0566", "5566", "5556"]).encode(),
    json.dumps({"p1": "40000566", "p2": "55665556"}).encode(),          # halves
    b"<td>4000</td><td>0566</td><td>5566</td><td>5556</td>",
    b"4000_0566_5566_5556", "4000\u00a00566\u00a05566\u00a05556".encode(), b"4000|0566|5566|5556",
    json.dumps({"v": "4000\n0566\n5566\n5556"}).encode(),                   # a JSON \n between pieces
])
def test_number_in_pieces_of_one_payload_is_found(data):
    assert ("number", "split") in {(m.field, m.encoding) for m in find_card(data, CARD)}


@pytest.mark.parametrize("data", [b"n=4000%5F0566%5F5566%5F5556", b"n=4000%090566%095566%095556&t=1",
                                  b"n=4000%2C%200566%2C%205566%2C%205556"])
def test_number_in_pieces_behind_url_escapes_is_found(data):
    assert ("number", "url>split") in {(m.field, m.encoding) for m in find_card(data, CARD)}


def test_number_in_pieces_inside_base64_names_the_chain():
    import base64
    body = b"d=" + base64.b64encode(b"cc1=4000&cc2=0566&cc3=5566&cc4=5556")
    assert ("number", "base64>split") in {(m.field, m.encoding) for m in find_card(body, CARD)}


@pytest.mark.parametrize("data", [
    b"cc1=4000&cc2=5566&cc3=0566&cc4=5556",                  # groups out of order
    b"bin=400005&last4=5556",                                # BIN and last four
    "4000 05•• •••• 5556".encode(),                          # masked, as a receipt shows it
    b"cc1=4000&cc2=0566&qty=7731&cc3=5566&cc4=5556",         # another number between the pieces
    b"a=4000&b=0566&c=5566&d=5557",                          # the last group differs
    b"a=14000&b=0566&c=5566&d=5556",                         # the first piece is part of a longer number
    b"a=4000&b=05660&c=5566&d=5556",                         # a piece with a digit more
    json.dumps({"a": "4000", "pad": "x" * 200, "b": "0566", "c": "5566", "d": "5556"}).encode(),  # too far apart
])
def test_pieces_that_do_not_spell_the_number_stay_clean(data):
    assert not [m for m in find_card(data, CARD) if m.field == "number"]
