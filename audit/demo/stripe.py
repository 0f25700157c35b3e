"""Emulated Stripe hosts: js.stripe.com (Stripe.js v3 and v2), api.stripe.com, and the telemetry
hosts r.stripe.com, q.stripe.com, m.stripe.com and m.stripe.network.

Domains from https://docs.stripe.com/ips; API shapes from https://docs.stripe.com/api
(PaymentMethods, Tokens, PaymentIntents confirm); test cards from https://stripe.com/testing.
"""

from __future__ import annotations

import re

from audit.demo.cards import digits, luhn_ok
from audit.demo.ledger import CardOnFile, Ledger
from audit.demo.web import (PIXEL_GIF, Request, Response, cors_headers, file_response,
                            json_response, not_found, preflight)

# Stripe serves Stripe.js from a fixed entry URL; its frames are content-hashed files.
INNER_CARD_HASH = "3f4a6a0c9b1d2e7f5a8c0d1e2f3a4b5c"
_ENTRY_POINTS = {"/v3": "v3/stripe.js", "/v3/": "v3/stripe.js", "/v2": "v2/stripe.js",
                 "/v2/": "v2/stripe.js"}


def _error(status: int, type_: str, message: str, code: str = "", param: str = "") -> Response:
    error = {"type": type_, "message": message}
    if code:
        error.update(code=code, doc_url=f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}")
    if param:
        error["param"] = param
    return json_response({"error": error}, status)


def _card_from_form(form: dict[str, str]) -> tuple[CardOnFile | None, Response | None]:
    number = digits(form.get("card[number]", ""))
    if not luhn_ok(number):
        return None, _error(402, "card_error", "Your card number is incorrect.", "incorrect_number",
                            "number")
    try:
        month, year = int(form.get("card[exp_month]", "")), int(form.get("card[exp_year]", ""))
    except ValueError:
        return None, _error(402, "card_error", "Your card's expiration date is incomplete.",
                            "incomplete_expiry", "exp_month")
    year = year + 2000 if year < 100 else year
    if not 1 <= month <= 12:
        return None, _error(402, "card_error", "Your card's expiration month is invalid.",
                            "invalid_expiry_month", "exp_month")
    if not re.fullmatch(r"\d{3,4}", form.get("card[cvc]", "")):
        return None, _error(402, "card_error", "Your card's security code is incomplete.",
                            "incomplete_cvc", "cvc")
    return CardOnFile.from_number(number, month, year), None


def _key_problem(form: dict[str, str], request: Request) -> Response | None:
    key = form.get("key") or request.headers.get("authorization", "").removeprefix("Bearer ")
    if key.startswith("pk_"):
        return None
    return _error(401, "invalid_request_error", "Invalid API Key provided: " + (key[:8] or "(none)"))


def _card_json(card_id: str, card: CardOnFile, capitalised: bool = False) -> dict:
    brand = {"amex": "American Express"}.get(card.brand, card.brand.title()) if capitalised else card.brand
    return {"brand": brand, "last4": card.last4, "exp_month": card.exp_month,
            "exp_year": card.exp_year, "funding": "credit", "country": "US",
            "fingerprint": card_id[-16:]}


def api(request: Request, ledger: Ledger) -> Response:
    if request.method == "OPTIONS":
        return preflight(request)
    cors = cors_headers(request)
    response = _api(request, ledger)
    response.headers.update(cors)
    response.headers["Request-Id"] = ledger.new_id("req_", 7)
    return response


def _api(request: Request, ledger: Ledger) -> Response:
    route, form = request.route, request.form()
    if request.method != "POST":
        return _error(404, "invalid_request_error", f"Unrecognized request URL (GET: {route}).")
    if (problem := _key_problem(form, request)) is not None:
        return problem
    if route == "/v1/payment_methods":
        card, problem = _card_from_form(form)
        if card is None:
            return problem  # type: ignore[return-value]
        pm_id = ledger.add_card("pm_", card)
        return json_response({
            "id": pm_id, "object": "payment_method", "type": "card", "livemode": False,
            "card": _card_json(pm_id, card),
            "billing_details": {"name": form.get("billing_details[name]"),
                                "address": {"postal_code": form.get("billing_details[address][postal_code]")}},
        })
    if route == "/v1/tokens":  # Stripe.js v2 Stripe.card.createToken
        card, problem = _card_from_form(form)
        if card is None:
            return problem  # type: ignore[return-value]
        tok_id = ledger.add_card("tok_", card)
        return json_response({"id": tok_id, "object": "token", "type": "card", "livemode": False,
                              "card": {"id": ledger.new_id("card_"), "object": "card",
                                       **_card_json(tok_id, card, capitalised=True)}})
    match = re.fullmatch(r"/v1/payment_intents/(pi_\w+?)/confirm", route)
    if match:
        return _confirm(match.group(1), form, ledger)
    return _error(404, "invalid_request_error", f"Unrecognized request URL (POST: {route}).")


def _confirm(pi_id: str, form: dict[str, str], ledger: Ledger) -> Response:
    intent = ledger.intent(pi_id)
    if intent is None or form.get("client_secret") != intent.client_secret:
        return _error(404, "invalid_request_error", f"No such payment_intent: '{pi_id}'",
                      "resource_missing")
    pm_id = form.get("payment_method", "")
    card = ledger.card(pm_id) if pm_id.startswith("pm_") else None
    if card is None:
        return _error(400, "invalid_request_error", f"No such PaymentMethod: '{pm_id}'",
                      "resource_missing", "payment_method")
    if card.declines:
        ledger.update_intent(pi_id, status="requires_payment_method")
        return _error(402, "card_error", "Your card was declined.", "card_declined")
    intent = ledger.update_intent(pi_id, status="succeeded", payment_method=pm_id)
    return json_response({"id": intent.id, "object": "payment_intent", "amount": intent.amount,
                          "currency": intent.currency, "status": intent.status,
                          "payment_method": pm_id, "livemode": False})


def js(request: Request, ledger: Ledger) -> Response:
    route = request.route
    relative = _ENTRY_POINTS.get(route, route)
    headers = {"Access-Control-Allow-Origin": "*", "Cache-Control": "max-age=60"}
    if route.startswith("/v3/elements-inner-card-"):
        relative = "v3/elements-inner-card.html"
        headers = {"Cache-Control": "max-age=31536000"}
    elif (match := re.fullmatch(r"/v3/fingerprinted/(?:js|css)/elements-inner-card-\w+\.(js|css)", route)):
        relative = f"v3/elements-inner-card.{match.group(1)}"
        headers = {"Cache-Control": "max-age=31536000", "Access-Control-Allow-Origin": "*"}
    return file_response("js.stripe.com", relative, headers, values={"inner_card_hash": INNER_CARD_HASH})


def r_stripe(request: Request, ledger: Ledger) -> Response:
    """r.stripe.com/b: Stripe.js event telemetry (no card data)."""
    if request.method == "OPTIONS":
        return preflight(request)
    return json_response({}, 200, cors_headers(request))


def q_stripe(request: Request, ledger: Ledger) -> Response:
    return Response(200, PIXEL_GIF, {"Content-Type": "image/gif", "Cache-Control": "no-store"})


def m_stripe(request: Request, ledger: Ledger) -> Response:
    """m.stripe.com/6: device signals from the m.stripe.network frame, answered with ids."""
    if request.method == "OPTIONS":
        return preflight(request)
    if request.method == "POST" and request.route == "/6":
        return json_response({"muid": ledger.new_id("", 16), "guid": ledger.new_id("", 16),
                              "sid": ledger.new_id("", 16)}, 200, cors_headers(request))
    return not_found()


def m_stripe_network(request: Request, ledger: Ledger) -> Response:
    return file_response("m.stripe.network", request.route if request.route != "/" else "/inner.html")
