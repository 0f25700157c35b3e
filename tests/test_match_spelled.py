"""The number spelled out digit by digit: UTF-16 text, arrays of characters, HTML references."""

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
])
def test_spelled_out_numbers_are_found(data, encoding):
    assert ("number", encoding) in {(m.field, m.encoding) for m in find_card(data, CARD)}


@pytest.mark.parametrize("data", [
    json.dumps(list("4242424242424242")).encode(),        # another card, spelled out
    json.dumps([int(d) for d in N[:12]]).encode(),        # a prefix only
    "5556".encode("utf-16-le"),                           # last four
    b"[1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6]",
])
def test_spelled_out_look_alikes_stay_clean(data):
    assert not [m for m in find_card(data, CARD) if m.field == "number"]
