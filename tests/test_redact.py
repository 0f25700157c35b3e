"""Table tests for masking foreign card numbers and redacting credential headers."""

from __future__ import annotations

import pytest

from audit.redact import luhn_ok, mask_foreign_cards, redact_headers

CANARY = "4000056655665556"


@pytest.mark.parametrize("text,expected", [
    ("card 4242424242424242 used", "card 4242 •••• •••• 4242 used"),
    ("card 4242 4242 4242 4242.", "card 4242 •••• •••• 4242."),
    ("card 5555-5555-5555-4444", "card 5555 •••• •••• 4444"),
    ("amex 378282246310005", "amex 3782 •••• •••• 0005"),
    ("amex 3782 822463 10005", "amex 3782 •••• •••• 0005"),
    ("19 digits 6011111111111111110", "19 digits 6011 •••• •••• 1110"),
    ("two 4242424242424242 and 5555555555554444",
     "two 4242 •••• •••• 4242 and 5555 •••• •••• 4444"),
    ('{"n":"4111111111111111","exp":"12/34"}', '{"n":"4111 •••• •••• 1111","exp":"12/34"}'),
    ("card 4242 4242 4242 4242 2034", "card 4242 •••• •••• 4242 2034"),
])
def test_foreign_cards_masked(text: str, expected: str) -> None:
    assert mask_foreign_cards(text, CANARY) == expected


@pytest.mark.parametrize("text", [
    "canary 4000056655665556 stays",
    "canary 4000 0566 5566 5556 stays",
    "canary 4000-0566-5566-5556 stays",
    "not luhn 4242424242424241",
    "too short 424242424242",
    "timestamp 1718000000000 and 1718000000009",
    "order 2024-06-01 total 123.45",
    "ids 12345 678901",
    "",
])
def test_left_alone(text: str) -> None:
    assert mask_foreign_cards(text, CANARY) == text


@pytest.mark.parametrize("digits,ok", [
    ("4242424242424242", True), ("4000056655665556", True), ("378282246310005", True),
    ("4242424242424241", False), ("0", True), ("18", True), ("19", False),
])
def test_luhn(digits: str, ok: bool) -> None:
    assert luhn_ok(digits) is ok


def test_redact_headers() -> None:
    headers = {"Cookie": "sid=1", "set-cookie": "a=b", "AUTHORIZATION": "Bearer x",
               "Proxy-Authorization": "Basic y", "content-type": "text/html", "x-cookie-hint": "z"}
    out = redact_headers(headers)
    assert out == {"Cookie": "[redacted]", "set-cookie": "[redacted]", "AUTHORIZATION": "[redacted]",
                   "Proxy-Authorization": "[redacted]", "content-type": "text/html",
                   "x-cookie-hint": "z"}
    assert headers["Cookie"] == "sid=1"  # the input is not modified
