"""Card arithmetic the emulated processors need: Luhn, brand from the BIN, display names.

Brand ranges follow the public IIN tables the processors document with their test cards
(https://stripe.com/testing, https://developer.paypal.com/tools/sandbox/card-testing/).
"""

from __future__ import annotations

import re

from audit.redact import luhn_ok as _luhn

BRAND_NAMES = {"visa": "Visa", "mastercard": "Mastercard", "amex": "American Express",
               "discover": "Discover", "diners": "Diners Club", "jcb": "JCB",
               "unionpay": "UnionPay", "unknown": "Card"}


def digits(value: str) -> str:
    return re.sub(r"\D", "", value or "")


def luhn_ok(number: str) -> bool:
    number = digits(number)
    return 12 <= len(number) <= 19 and _luhn(number)


def card_brand(number: str) -> str:
    """Lower-case brand id as Stripe names it (visa, mastercard, amex, discover, ...)."""
    n = digits(number)
    if n.startswith("4"):
        return "visa"
    if n[:2] in {"34", "37"}:
        return "amex"
    if n[:2] in {"51", "52", "53", "54", "55"} or (n[:4].isdigit() and 2221 <= int(n[:4]) <= 2720):
        return "mastercard"
    if n.startswith("6011") or n.startswith("65") or n[:3] in {"644", "645", "646", "647", "648", "649"}:
        return "discover"
    if n[:2] in {"36", "38"} or n[:3] in {"300", "301", "302", "303", "304", "305"}:
        return "diners"
    if n[:4].isdigit() and 3528 <= int(n[:4]) <= 3589:
        return "jcb"
    if n.startswith("62"):
        return "unionpay"
    return "unknown"


def brand_label(brand: str) -> str:
    """'visa', 'VISA' or 'Visa' -> 'Visa', for receipts."""
    key = brand.lower().replace(" ", "")
    key = {"americanexpress": "amex", "american_express": "amex", "master_card": "mastercard"}.get(key, key)
    return BRAND_NAMES.get(key, brand.title())


def expiry_parts(value: str) -> tuple[int, int] | None:
    """'12 / 34', '12/2034', '1234' -> (12, 2034); None when it is not a month/year."""
    d = digits(value)
    if len(d) == 4:
        month, year = int(d[:2]), 2000 + int(d[2:])
    elif len(d) == 6:
        month, year = int(d[:2]), int(d[2:])
    else:
        return None
    return (month, year) if 1 <= month <= 12 else None
