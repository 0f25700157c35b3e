"""Emulated Square Web Payments SDK hosts: web.squarecdn.com (square.js and the card frame) and
pci-connect.squareup.com (card to nonce).

SDK surface from https://developer.squareup.com/docs/web-payments/overview and
https://developer.squareup.com/reference/sdks/web/payments ; sandbox test cards from
https://developer.squareup.com/docs/devtools/sandbox/payments .
"""

from __future__ import annotations

import re

from audit.demo.cards import digits, luhn_ok
from audit.demo.ledger import CardOnFile, Ledger
from audit.demo.web import (Request, Response, cors_headers, file_response, json_response,
                            preflight)

# Square's brand names in tokenize() details (the Card brand enum of the Web Payments SDK).
SQUARE_BRANDS = {"visa": "VISA", "mastercard": "MASTERCARD", "amex": "AMERICAN_EXPRESS",
                 "discover": "DISCOVER", "diners": "DISCOVER_DINERS", "jcb": "JCB",
                 "unionpay": "CHINA_UNIONPAY", "unknown": "OTHER_BRAND"}


def cdn(request: Request, ledger: Ledger) -> Response:
    return file_response("web.squarecdn.com", request.route,
                         {"Access-Control-Allow-Origin": "*", "Cache-Control": "max-age=300"})


def _invalid(field: str, detail: str) -> Response:
    return json_response({"errors": [{"category": "INVALID_REQUEST_ERROR", "code": "INVALID_CARD_DATA",
                                      "field": field, "detail": detail}]}, 400)


def pci_connect(request: Request, ledger: Ledger) -> Response:
    if request.method == "OPTIONS":
        return preflight(request)
    response = _pci_connect(request, ledger)
    response.headers.update(cors_headers(request))
    return response


def _pci_connect(request: Request, ledger: Ledger) -> Response:
    if request.method != "POST" or request.route != "/v2/card-nonce":
        return json_response({"errors": [{"category": "INVALID_REQUEST_ERROR", "code": "NOT_FOUND"}]}, 404)
    data = request.json()
    card_data = data.get("card_data") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not str(data.get("client_id", "")).startswith(("sq0idp-", "sandbox-sq0idb-")):
        return json_response({"errors": [{"category": "AUTHENTICATION_ERROR", "code": "UNAUTHORIZED",
                                          "detail": "Invalid application id."}]}, 401)
    if not isinstance(card_data, dict):
        return _invalid("cardNumber", "Card data is missing.")
    number = digits(str(card_data.get("number", "")))
    if not luhn_ok(number):
        return _invalid("cardNumber", "Credit card number is not valid")
    try:
        month, year = int(card_data.get("exp_month")), int(card_data.get("exp_year"))
    except (TypeError, ValueError):
        return _invalid("expirationDate", "Expiration date is not valid")
    year = year + 2000 if year < 100 else year
    if not 1 <= month <= 12:
        return _invalid("expirationDate", "Expiration date is not valid")
    if not re.fullmatch(r"\d{3,4}", str(card_data.get("cvv", ""))):
        return _invalid("cvv", "CVV is not valid")
    card = CardOnFile.from_number(number, month, year)
    # Nonces look like cnon:CBASE... ; the merchant server redeems them with CreatePayment.
    token = ledger.add_card("cnon:CBASE", card)
    return json_response({"token": token, "details": {
        "method": "Card", "card": {"brand": SQUARE_BRANDS[card.brand], "last4": card.last4,
                                   "expMonth": month, "expYear": year, "cardType": "CREDIT"},
        "billing": {"postalCode": str(card_data.get("billing_postal_code", ""))}}})
