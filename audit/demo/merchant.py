"""invoices.example.test, the merchant's invoicing site (in the spirit of 17hats), and
cdn.example.test, its static assets.

Pages are Jinja2 templates under sites/invoices.example.test/templates; behaviour lives in the
real script files under sites/invoices.example.test/static, so a page reads like a real site.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape

from audit.demo.cards import brand_label
from audit.demo.invoices import INVOICES, MERCHANT, PROCESSORS, VARIANTS, Invoice, Variant, money
from audit.demo.ledger import CardOnFile, Ledger
from audit.demo.web import (SITES_DIR, Request, Response, file_response, json_response,
                            not_found, text_response)

HOST = "invoices.example.test"
CDN = "cdn.example.test"

# Publishable / client-side identifiers, shaped like each processor's (never secrets).
STRIPE_PK = "pk_test_51BrightLightsDemoKey0000000000000000000000000000000000000000000000000000"
SQUARE_APP_ID = "sq0idp-BrightLightsDemoApp"
SQUARE_LOCATION_ID = "L8BRIGHTLIGHTS1"
PAYPAL_CLIENT_ID = "AbRightLightsDemoClientId0000000000000000000000000000000000000000000000000000000"

# What each processor tells merchants to allow in their Content-Security-Policy.
PROCESSOR_CSP: dict[str, dict[str, tuple[str, ...]]] = {
    # https://docs.stripe.com/security/guide (Content Security Policy section)
    "stripe": {"script-src": ("https://js.stripe.com", "https://*.js.stripe.com"),
               "frame-src": ("https://js.stripe.com", "https://*.js.stripe.com",
                             "https://hooks.stripe.com"),
               # m.stripe.com: Stripe.js's fraud signals from the merchant's page (stripe.js's
               # sendSignals); the merchant allows it, as EasyPrivacy's rule for it
               # (`||m.stripe.com^$third-party,domain=~stripe.network`) expects of merchants' pages.
               "connect-src": ("https://api.stripe.com", "https://m.stripe.com")},
    # https://developer.squareup.com/docs/web-payments/content-security-policy
    "square": {"script-src": ("https://*.squarecdn.com",),
               "frame-src": ("https://*.squarecdn.com",),
               "connect-src": ("https://pci-connect.squareup.com", "https://*.squarecdn.com")},
    # https://developer.paypal.com/sdk/js/best-practices (CSP section)
    "paypal": {key: ("*.paypal.com", "*.paypalobjects.com", "*.venmo.com")
               for key in ("script-src", "frame-src", "child-src", "connect-src", "img-src")},
}

_env = Environment(loader=FileSystemLoader(SITES_DIR / HOST / "templates"),
                   autoescape=select_autoescape(["html"]))
_env.globals.update(merchant=MERCHANT, money=money, cdn=f"https://{CDN}")


def content_security_policy(variant: Variant) -> str:
    extra = tuple(f"https://{host}" for host in variant.third_parties)
    proc = PROCESSOR_CSP[variant.processor]
    directives: dict[str, tuple[str, ...]] = {
        "default-src": ("'self'",),
        "script-src": ("'self'", *proc["script-src"], *extra),
        "style-src": ("'self'", f"https://{CDN}"),
        "img-src": ("'self'", "data:", f"https://{CDN}", *proc.get("img-src", ()), *extra),
        "font-src": (f"https://{CDN}",),
        "connect-src": ("'self'", *proc["connect-src"], *extra),
        "frame-src": proc["frame-src"],
        "child-src": proc.get("child-src", proc["frame-src"]),
        "form-action": ("'self'",),
        "base-uri": ("'self'",),
        "object-src": ("'none'",),
        "frame-ancestors": ("'self'",),
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


PAGE_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cache-Control": "no-store",
}


def _page(template: str, status: int = 200, csp: str | None = None, **values: object) -> Response:
    headers = {**PAGE_HEADERS, "Content-Type": "text/html; charset=utf-8",
               "Content-Security-Policy": csp or content_security_policy(VARIANTS["stripe-elements"])}
    return Response(status, _env.get_template(template).render(**values).encode("utf-8"), headers)


def processor_for(invoice: Invoice, request: Request) -> str:
    """The processor picked on the Invoice Options page (a cookie) wins over the invoice's own."""
    chosen = request.cookies().get(f"processor_{invoice.id}")
    return chosen if chosen in PROCESSORS else invoice.processor


def _script_urls(variant: Variant) -> list[str]:
    urls = list(variant.scripts)
    if variant.processor == "paypal":
        # https://developer.paypal.com/sdk/js/configuration/ : client-id, components, currency
        query = urlencode({"client-id": PAYPAL_CLIENT_ID, "components": "buttons,card-fields",
                           "currency": "USD"})
        urls.insert(0, f"https://www.paypal.com/sdk/js?{query}")
    return urls


def invoice_page(invoice: Invoice, request: Request, ledger: Ledger) -> Response:
    variant = invoice.variant_for(processor_for(invoice, request))
    config: dict[str, str] = {"invoice": invoice.id, "processor": variant.processor,
                              "variant": variant.name, "amount": str(invoice.total_cents)}
    if variant.processor == "stripe":
        config["stripe-key"] = STRIPE_PK
        if variant.template == "stripe-elements.html":
            # The merchant server creates the PaymentIntent and hands only its client secret
            # to the page (https://docs.stripe.com/payments/payment-intents).
            config["client-secret"] = ledger.create_intent(invoice.total_cents, "usd").client_secret
    elif variant.processor == "square":
        config.update({"square-app-id": SQUARE_APP_ID, "square-location-id": SQUARE_LOCATION_ID})
    return _page("invoice.html", csp=content_security_policy(variant), invoice=invoice,
                 variant=variant, config=config, scripts=_script_urls(variant))


def _charge(invoice: Invoice, processor: str, data: dict, ledger: Ledger) -> tuple[CardOnFile | None, str]:
    """Look the payment up at the processor, as a merchant back end does. (card, error)."""
    if processor == "stripe" and data.get("payment_intent"):
        intent = ledger.intent(str(data["payment_intent"]))
        if intent is None or intent.status != "succeeded" or not intent.payment_method:
            return None, "The payment has not been confirmed."
        return ledger.card(intent.payment_method), ""
    if processor == "stripe" and data.get("token"):
        card = ledger.card(str(data["token"]))
        if card is not None and card.declines:
            return None, "Your card was declined."
        return card, "" if card else "Unknown card token."
    if processor == "square" and data.get("source_id"):
        card = ledger.card(str(data["source_id"]))
        return card, "" if card else "Unknown card nonce."
    if processor == "paypal" and data.get("order_id"):
        order = ledger.order(str(data["order_id"]))
        if order is None or order.status != "APPROVED" or order.card is None:
            return None, "The order has not been approved."
        ledger.update_order(order.id, status="COMPLETED")  # capture
        return order.card, ""
    return None, "Missing payment reference."


def pay(invoice: Invoice, request: Request, ledger: Ledger) -> Response:
    data = request.json()
    if not isinstance(data, dict):
        return json_response({"ok": False, "error": "Expected a JSON object."}, 400)
    processor = str(data.get("processor") or processor_for(invoice, request))
    card, error = _charge(invoice, processor, data, ledger)
    if card is None:
        return json_response({"ok": False, "error": error or "Payment failed."}, 402)
    payment = ledger.record_payment(invoice.id, processor, card, invoice.total_cents)
    return json_response({"ok": True, "redirect": f"/invoice/{invoice.id}/receipt?payment={payment.id}"})


def receipt(invoice: Invoice, request: Request, ledger: Ledger) -> Response:
    wanted = request.query.get("payment")
    payment = ledger.payment(wanted) if wanted else ledger.latest_payment(invoice.id)
    if payment is None or payment.invoice_id != invoice.id:
        return _page("receipt.html", 404, invoice=invoice, payment=None)
    return _page("receipt.html", invoice=invoice, payment=payment, brand=brand_label(payment.brand))


def options(invoice: Invoice, request: Request) -> Response:
    if request.method == "POST":
        chosen = request.form().get("processor", "")
        if chosen not in PROCESSORS:
            return _page("options.html", 400, invoice=invoice, current=processor_for(invoice, request),
                         processors=PROCESSORS, error="Choose Stripe, Square or PayPal.")
        cookie = (f"processor_{invoice.id}={chosen}; Path=/; Max-Age=31536000; Secure; "
                  "SameSite=Lax")
        return Response(303, b"", {"Location": f"/invoice/{invoice.id}", "Cache-Control": "no-store"},
                        [cookie])
    return _page("options.html", invoice=invoice, current=processor_for(invoice, request),
                 processors=PROCESSORS, error=None)


def paypal_order(invoice: Invoice, ledger: Ledger) -> Response:
    """The merchant server creates the PayPal order (https://developer.paypal.com/docs/api/orders/v2/)."""
    order = ledger.create_order(f"{invoice.total_cents / 100:.2f}", "USD")
    return json_response({"id": order.id, "status": order.status})


_INVOICE_ROUTE = re.compile(r"^/invoice/(\d+)(/[a-z/]*)?$")


def handle(request: Request, ledger: Ledger) -> Response:
    route = request.route
    if route == "/":
        return _page("index.html", invoices=list(INVOICES.values()), variants=VARIANTS)
    if route.startswith("/static/"):
        return file_response(HOST, route, {"Cache-Control": "public, max-age=300"})
    match = _INVOICE_ROUTE.match(route)
    invoice = INVOICES.get(match.group(1)) if match else None
    if invoice is None:
        return _page("notfound.html", 404)
    action = (match.group(2) or "").rstrip("/")
    if action == "" and request.method == "GET":
        return invoice_page(invoice, request, ledger)
    if action == "/options":
        return options(invoice, request)
    if action == "/pay" and request.method == "POST":
        return pay(invoice, request, ledger)
    if action == "/paypal/order" and request.method == "POST":
        return paypal_order(invoice, ledger)
    if action == "/receipt":
        return receipt(invoice, request, ledger)
    return text_response("Method Not Allowed\n", 405)


def handle_cdn(request: Request, ledger: Ledger) -> Response:
    response = file_response(CDN, request.route, {"Cache-Control": "public, max-age=86400",
                                                  "Access-Control-Allow-Origin": "*"})
    return response if request.method in ("GET", "HEAD") else not_found()
