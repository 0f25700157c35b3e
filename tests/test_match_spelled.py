"""The number spelled out digit by digit (UTF-16 text, arrays of characters or character codes,
HTML references, JavaScript escapes, full-width digits, invisible characters between the digits),
written as one integer in another base, cut into pieces inside one payload, or under a substitution
of its digits."""

from __future__ import annotations

import base64
import json
import struct

import pytest

from audit.evidence import Card
from audit.detect.match import find_card, find_card_batch
from audit.detect.needles import patterns_for
from audit.detect.substitution import MAX_CHANCE, chance

CARD = Card("4000056655665556")
N = CARD.number


@pytest.mark.parametrize("data, encoding", [
    (N.encode("utf-16-le"), "utf16"),
    (b"\xff\xfe" + N.encode("utf-16-le") + b"\x00\x00", "utf16"),
    (N.encode("utf-16-be"), "utf16"),
    (json.dumps({"k": list(N)}).encode(), "char-array"),
    (json.dumps(list(N), separators=(",", ":")).encode(), "char-array"),
    (json.dumps([int(d) for d in N]).encode(), "char-array"),
    (json.dumps({"c": dict(enumerate(N))}, separators=(",", ":")).encode(), "char-array"),  # {...number}
    (("<i>" + "".join(f"&#{ord(d)};" for d in N) + "</i>").encode(), "html-entities"),
    ("".join(f"&#x{ord(d):x};" for d in N).encode(), "html-entities"),
    # `charCodeAt` joined by whatever the page chose, decimal or hex
    ("d=" + ",".join(str(ord(c)) for c in N), "char-codes"),
    ("d=" + "-".join(str(ord(c)) for c in N) + "&t=1", "char-codes"),
    ("|".join(str(ord(c)) for c in N), "char-codes"),
    ("x " + " ".join(str(ord(c)) for c in N), "char-codes"),
    (",".join(f"0x{ord(c):x}" for c in N), "char-codes"),
    ("h=" + " ".join(f"{ord(c):x}" for c in N), "char-codes"),       # charCodeAt(i).toString(16)
    (":".join(f"{ord(c):X}" for c in N), "char-codes"),
    ('"' + "".join(f"\\x{ord(c):02x}" for c in N) + '"', "js-escapes"),
    ("".join(f"\\u{{{ord(c):x}}}" for c in N), "js-escapes"),
    (json.dumps({"e": "".join(f"\\x{ord(c):02x}" for c in N)}), "js-escapes"),  # the escapes as JSON text
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
    # Cut elsewhere: uneven pieces, thirds, a digit per element or between letters.
    json.dumps({"a": "40000", "b": "566556", "c": "65556"}).encode(),
    json.dumps({"x": "4000056", "y": "655665556"}).encode(),
    json.dumps({"d": [N[:5], N[5:10], N[10:]]}).encode(),
    json.dumps(list(N)).replace(", ", ",").replace('"', "'").encode(),
    "".join(d + "x" for d in N).encode(),
    b"<span>400</span><span>00566</span><span>5566555</span><span>6</span>",
    # ...and under numbered keys.
    b"p1=40000&p2=566556&p3=65556",
    json.dumps({"c1": "4000056", "c2": "655665556"}).encode(),
    b"x=1&card[0]=40&card[1]=00056655&card[2]=665556",
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
    # Uneven cuts: the same rules.
    json.dumps({"a": "40000", "b": "566", "n": 7, "c": "55665556"}).encode(),  # another number between
    json.dumps({"a": "14000", "b": "05665", "c": "5665556"}).encode(),         # the first piece is longer
    json.dumps({"a": "40000", "b": "566556", "c": "655560"}).encode(),         # a digit more
    json.dumps({"a": "40000", "pad": "x" * 70, "b": "566556", "c": "65556"}).encode(),  # too far apart
    json.dumps({"b": "566556", "a": "40000", "c": "65556"}).encode(),          # out of order
    b"p1=40000&p2=566556&q=7&p3=65556",                      # a value, not a key, between pieces
    b"p1=40000&p2=566556&p3=65557",                          # the last piece differs
    b"p1=40000&p22222=566556&p3=65556",                      # a key's digits are at most three
])
def test_pieces_that_do_not_spell_the_number_stay_clean(data):
    assert not [m for m in find_card(data, CARD) if m.field == "number"]


def test_hex_and_mixed_ids_never_read_as_the_number_in_pieces():
    # Letters and digits alternate in hex ids: the pieces' rules (a key's digits only before
    # `=`, `"`, `:` or `]`) keep their digits from spelling the number.
    import random
    rng = random.Random(11)
    for _ in range(2000):
        body = json.dumps({"ids": [rng.randbytes(16).hex() for _ in range(20)],
                           "k": "".join(rng.choice("0123456789abcdefxyz_=:[]\"") for _ in range(400))}).encode()
        assert not [m for m in find_card(body, CARD) if m.field == "number" and m.encoding == "split"]


# -- the number under a substitution of its digits ---------------------------------------------
def _mapped(table: dict[str, str], number: str = N) -> str:
    return "".join(table[d] for d in number)


def _shift(k: int, number: str = N) -> str:
    return _mapped({str(d): str((d + k) % 10) for d in range(10)}, number)


def _grouped(text: str, sep: str) -> str:
    return sep.join(text[i:i + 4] for i in range(0, len(text), 4))


_SHUFFLED = dict(zip("0123456789", "qxmtbzkwrd"))


@pytest.mark.parametrize("data, encoding", [
    *[(f"n={_shift(k)}&t=1", "substituted") for k in range(1, 10)],     # (d + k) % 10
    (json.dumps({"n": _grouped(_shift(3), " ")}), "substituted"),         # printed groups kept
    ("c=" + _grouped(_shift(9), "-"), "substituted"),
    (_grouped(_shift(5), "."), "substituted"),
    (_mapped({d: "abcdefghij"[int(d)] for d in "0123456789"}), "substituted"),      # 0 -> a
    (_mapped({d: "ABCDEFGHIJ"[int(d)] for d in "0123456789"}), "substituted"),
    (json.dumps({"v": _mapped(_SHUFFLED)}), "substituted"),                          # a shuffled table
    # XOR digit by digit: the digit's value with a key, written in hex (`(d ^ 7).toString(16)`),
    # and the character code with a key (`charCodeAt(i) ^ 0x5a` lands on letters)
    (_mapped({d: format(int(d) ^ 7, "x") for d in "0123456789"}), "substituted"),
    (_mapped({d: format(int(d) ^ 13, "x") for d in "0123456789"}), "substituted"),
    (_mapped({d: chr(ord(d) ^ 0x5A) for d in "0123456789"}), "substituted"),
    # inside decoded layers
    ("d=" + base64.b64encode(json.dumps({"cc": _shift(4), "exp": "12/34"}).encode()).decode(), "base64>substituted"),
    ("n=" + "%20".join(_grouped(_shift(2), " ").split(" ")) + "&x=1", "url>substituted"),
])
def test_number_under_a_digit_substitution_is_found(data, encoding):
    data = data.encode() if isinstance(data, str) else data
    assert ("number", encoding) in {(m.field, m.encoding) for m in find_card(data, CARD)}


def test_substituted_number_is_located():
    body = b'{"a":1,"n":"' + _shift(1).encode() + b'"}'
    (match,) = [m for m in find_card(body, CARD) if m.field == "number"]
    assert body[match.offset:match.offset + match.length] == _shift(1).encode()


@pytest.mark.parametrize("data", [
    "4242424242424242", "4111111111111111", "5555555555554444", "6011111111111117",  # other cards
    "4000056655665564", "378282246310005",
    "4000 05•• •••• 5556", "•••• •••• •••• 5556",          # masked, as receipts show it
    "1733000000000000", "ts=1733130000123456", "2026-12-02T08:00:00.000Z", "ORD-2026-000123-0001",
    _shift(1)[:-1] + "0",                                  # one symbol off the pattern
    "5111167766776666",                                    # two digits onto one symbol: not one-to-one
    _shift(1) + "7", "7" + _shift(1), "x" + _shift(1),     # part of a longer token
    _shift(1)[:15],                                        # one symbol short
    "5111 1677-6677 6667",                                 # groups joined by different separators
    "5111 16776677 6667",
    _mapped({d: "abcdefghij"[int(d)] for d in "0123456789"}, "4242424242424242"),  # another card, as letters
])
def test_substitution_look_alikes_stay_clean(data):
    assert not [m for m in find_card(data.encode(), CARD) if m.field == "number"], data


def test_the_number_itself_is_plain_not_substituted():
    for body in (N, _grouped(N, " "), _grouped(N, "-")):
        assert "substituted" not in {m.encoding for m in find_card(body.encode(), CARD)}


def test_random_digit_strings_never_read_as_the_substituted_number():
    import random
    rng = random.Random(7)
    bodies = [json.dumps({"ref": "%016d" % rng.randrange(10 ** 16), "id": "%016x" % rng.getrandbits(64)}).encode()
              for _ in range(5000)]
    assert not any(find_card_batch(bodies, CARD))


def test_a_number_with_a_weak_pattern_gets_no_substitution_check():
    # Nine distinct digits in fifteen: one random 15-digit string in 300 million has this pattern.
    amex = Card("378282246310005")
    assert chance(amex.number) > MAX_CHANCE
    assert patterns_for(amex).substituted_id == -1
    shifted = "".join(str((int(d) + 1) % 10) for d in amex.number)
    assert not [m for m in find_card(shifted.encode(), amex) if m.field == "number"]
    # The default canaries' patterns are specific: a random digit string matches about once in 1e12.
    assert chance(N) < 1e-12 and chance("4242424242424242") < 1e-12
    assert patterns_for(CARD).substituted_id >= 0


@pytest.mark.parametrize("number, lookalike", [
    ("4111111111111111", b'{"limit":1000000000000000}'),            # a round number
    ("4242424242424242", b'{"pad":"3030303030303030"}'),            # the hex of "00000000"
    ("5555555555554444", b'{"mask":"000000000000ffff"}'),           # a mask
    ("4500600000000061", b'{"id":"1200300000000031"}'),             # a long run of zeros
    ("5105105105105100", b'{"seq":"abcabcabcabcabca"}'),            # a repeating unit
])
def test_a_number_whose_pattern_is_common_in_real_traffic_gets_no_substitution_check(number, lookalike):
    # Few distinct digits, a long run of one digit or a repeating unit: round numbers, masks and
    # repeated units of ordinary traffic have that pattern, whatever a random digit string does.
    card = Card(number)
    assert patterns_for(card).substituted_id == -1
    assert not [m for m in find_card(lookalike, card) if m.field == "number"]


def test_the_default_canaries_pattern_is_checked():
    from audit.detect.substitution import specific
    assert specific(N) and specific("2223000048400011")
    assert not specific("1234123412341234") and not specific("4000000000000002")


# -- the number as a binary integer or double -------------------------------------------------
@pytest.mark.parametrize("raw,label", [
    (int(N).to_bytes(8, "big"), "int64"), (int(N).to_bytes(8, "little"), "int64"),
    (struct.pack("<d", float(N)), "float64"), (struct.pack(">d", float(N)), "float64"),
])
def test_the_number_as_binary_bytes_is_found(raw, label):
    # What `DataView.setBigUint64` / `setFloat64` or a typed array writes, amid other binary fields.
    blob = struct.pack("<I", 7) + b"\x01\x02sess" + raw + struct.pack("<HH", 12, 34) + bytes(range(200, 220))
    assert ("number", label) in {(m.field, m.encoding) for m in find_card(blob, CARD)}
    assert ("number", f"base64>{label}") in {(m.field, m.encoding) for m in find_card(base64.b64encode(blob), CARD)}


def test_other_numbers_as_binary_bytes_stay_clean():
    for other in (int(N) + 1, int(N) - 10, 4000056655665557, 5556566500004000):
        blob = b"\x00\x01" + other.to_bytes(8, "big") + other.to_bytes(8, "little") + struct.pack("<d", float(other))
        assert not [m for m in find_card(blob, CARD) if m.field == "number"], other
