"""Emulated PayPal hosts: www.paypal.com (JS SDK, smart buttons, card fields, the checkout popup
and the Orders API), c.paypal.com (FraudNet telemetry) and www.paypalobjects.com (static assets).

SDK surface from https://developer.paypal.com/sdk/js/reference/ (paypal.Buttons,
paypal.CardFields); Orders v2 confirm-payment-source from
https://developer.paypal.com/docs/api/orders/v2/#orders_confirm ; test cards from
https://developer.paypal.com/tools/sandbox/card-testing/ .
"""

from __future__ import annotations

import html
import re

from audit.demo.cards import digits, luhn_ok
from audit.demo.invoices import MERCHANT
from audit.demo.ledger import CardOnFile, Ledger
from audit.demo.web import (PIXEL_GIF, Request, Response, cors_headers, file_response,
                            json_response, not_found, preflight, text_response)

HOST = "www.paypal.com"

# The <input> each hosted card field frame holds, shaped like PayPal's card fields.
CARD_FIELD_INPUTS = {
    "number": ('name="number" autocomplete="cc-number" inputmode="numeric" '
               'placeholder="Card number" aria-label="Card number" maxlength="23"'),
    "expiry": ('name="expiry" autocomplete="cc-exp" inputmode="numeric" placeholder="MM / YY" '
               'aria-label="Expiration date" maxlength="7"'),
    "cvv": ('name="cvv" autocomplete="cc-csc" inputmode="numeric" placeholder="CVV" '
            'aria-label="Security code" maxlength="4"'),
    "name": 'name="name" autocomplete="cc-name" placeholder="Cardholder name" aria-label="Cardholder name"',
}
PAYPAL_BRANDS = {"visa": "VISA", "mastercard": "MASTERCARD", "amex": "AMEX", "discover": "DISCOVER",
                 "diners": "DINERS", "jcb": "JCB", "unionpay": "CHINA_UNION_PAY", "unknown": "UNKNOWN"}


def _invalid(field: str, issue: str, description: str) -> Response:
    return json_response({"name": "UNPROCESSABLE_ENTITY", "message": "The requested action could not be performed.",
                          "details": [{"field": f"/payment_source/card/{field}", "issue": issue,
                                       "description": description}]}, 422)


def confirm_payment_source(order_id: str, request: Request, ledger: Ledger) -> Response:
    order = ledger.order(order_id)
    if order is None:
        return json_response({"name": "RESOURCE_NOT_FOUND", "details": [{"issue": "INVALID_RESOURCE_ID"}]}, 404)
    body = request.json()
    card = body.get("payment_source", {}).get("card") if isinstance(body, dict) else None
    if not isinstance(card, dict):
        return _invalid("number", "MISSING_REQUIRED_PARAMETER", "A card is required.")
    number = digits(str(card.get("number", "")))
    if not luhn_ok(number):
        return _invalid("number", "INVALID_PARAMETER_VALUE", "The card number is invalid.")
    match = re.fullmatch(r"(\d{4})-(\d{2})", str(card.get("expiry", "")))  # PayPal wants YYYY-MM
    if not match or not 1 <= int(match.group(2)) <= 12:
        return _invalid("expiry", "INVALID_PARAMETER_VALUE", "The expiry date is invalid.")
    if not re.fullmatch(r"\d{3,4}", str(card.get("security_code", ""))):
        return _invalid("security_code", "INVALID_PARAMETER_VALUE", "The security code is invalid.")
    on_file = CardOnFile.from_number(number, int(match.group(2)), int(match.group(1)))
    order = ledger.update_order(order_id, status="APPROVED", card=on_file)
    return json_response({
        "id": order.id, "status": order.status,
        "payment_source": {"card": {"brand": PAYPAL_BRANDS[on_file.brand], "last_digits": on_file.last4,
                                    "expiry": f"{on_file.exp_year}-{on_file.exp_month:02d}"}},
        "links": [{"href": f"https://api.paypal.com/v2/checkout/orders/{order.id}", "rel": "self",
                   "method": "GET"}]})


def www(request: Request, ledger: Ledger) -> Response:
    route = request.route
    if route == "/sdk/js":
        client_id = request.query.get("client-id", "")
        if not re.fullmatch(r"[\w-]{10,100}", client_id):
            return text_response('throw new Error("SDK Validation error: \'Expected client-id to be passed\'");',
                                 400, "text/javascript; charset=utf-8")
        components = request.query.get("components", "buttons")
        return file_response(HOST, "sdk/sdk.js", {"Cache-Control": "max-age=3600"},
                             {"client_id": client_id, "components": re.sub(r"[^\w,-]", "", components)})
    if route == "/smart/buttons":
        return file_response(HOST, "smart/buttons.html")
    if route == "/smart/card-field":
        kind = request.query.get("type", "")
        if kind not in CARD_FIELD_INPUTS:
            return not_found()
        return file_response(HOST, "smart/card-field.html", values={"type": kind, "input": CARD_FIELD_INPUTS[kind]})
    if route == "/checkoutnow":
        order = ledger.order(request.query.get("token", ""))
        if order is None:
            return text_response("<!doctype html><title>PayPal</title><h1>Things don't appear to be working "
                                 "at the moment.</h1>", 404, "text/html; charset=utf-8")
        return file_response(HOST, "checkoutnow/checkoutnow.html", {"Cache-Control": "no-store"},
                             {"order_id": order.id, "amount": html.escape(f"${order.amount} {order.currency}"),
                              "merchant": html.escape(MERCHANT)})
    if route == "/xoplatform/logger/api/logger":  # the SDK's event logger: no card data
        if request.method == "OPTIONS":
            return preflight(request)
        return json_response({}, 200, cors_headers(request))
    match = re.fullmatch(r"/v2/checkout/orders/(\w+)/confirm-payment-source", route)
    if match and request.method == "POST":
        return confirm_payment_source(match.group(1), request, ledger)
    if request.method in ("GET", "HEAD"):
        return file_response(HOST, route)
    return not_found()


def fraudnet(request: Request, ledger: Ledger) -> Response:
    """c.paypal.com: FraudNet device data (https://developer.paypal.com/limited-release/fraudnet/)."""
    if request.method == "OPTIONS":
        return preflight(request)
    if request.method == "GET":
        return Response(200, PIXEL_GIF, {"Content-Type": "image/gif"})
    return json_response({"status": "ok"}, 200, cors_headers(request))


def objects(request: Request, ledger: Ledger) -> Response:
    return file_response("www.paypalobjects.com", request.route,
                         {"Access-Control-Allow-Origin": "*", "Cache-Control": "max-age=86400"})
