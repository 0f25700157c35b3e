"""The invoices of the demo merchant, and which payment variant each one shows.

Each variant is a page shape seen in the wild, from clean (card inputs only inside the processor's
frames) to leaky (a merchant-hosted card form, a session-replay script, a skimmer).
"""

from __future__ import annotations

from dataclasses import dataclass

MERCHANT = "Bright Lights Photography"
PROCESSORS = ("stripe", "square", "paypal")


@dataclass(frozen=True)
class LineItem:
    description: str
    quantity: int
    unit_cents: int

    @property
    def total_cents(self) -> int:
        return self.quantity * self.unit_cents


@dataclass(frozen=True)
class Variant:
    name: str
    processor: str
    template: str                       # the payment fragment under templates/pay/
    scripts: tuple[str, ...]            # script URLs, in page order
    third_parties: tuple[str, ...] = ()  # hosts the merchant added to its CSP for them
    summary: str = ""


STATS = "https://stats.example.net"
SKIMMER = "https://cdn.example-analytics.net"

VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant("stripe-elements", "stripe", "stripe-elements.html",
            ("https://js.stripe.com/v3/", "/static/pay-stripe-elements.js"),
            summary="Stripe Elements: card inputs inside js.stripe.com frames"),
    Variant("stripe-elements-analytics", "stripe", "stripe-elements.html",
            ("https://js.stripe.com/v3/", f"{STATS}/pageview.js", "/static/pay-stripe-elements.js"),
            ("stats.example.net",),
            "Stripe Elements and a page-view analytics script that reads no form field"),
    Variant("stripe-v2-leaky", "stripe", "merchant-card-form.html",
            ("https://js.stripe.com/v2/", f"{STATS}/capture.js", "/static/pay-stripe-v2-legacy.js"),
            ("stats.example.net",),
            "merchant-hosted card form, Stripe.js v2 tokens, a session-replay script and the raw "
            "number sent to the merchant"),
    Variant("stripe-v2", "stripe", "merchant-card-form.html",
            ("https://js.stripe.com/v2/", "/static/pay-stripe-v2.js"),
            summary="merchant-hosted card form tokenised with Stripe.js v2, nothing else"),
    Variant("square-card", "square", "square-card.html",
            ("https://web.squarecdn.com/v1/square.js", "/static/pay-square-card.js"),
            summary="Square Web Payments SDK card: inputs inside web.squarecdn.com frames"),
    Variant("square-form-leaky", "square", "merchant-card-form.html",
            (f"{STATS}/beacon.js", "/static/pay-square-form.js"), ("stats.example.net",),
            "merchant-hosted card form posting to Square's nonce endpoint, plus an analytics "
            "beacon carrying the number"),
    Variant("paypal-buttons", "paypal", "paypal-buttons.html",
            ("/static/pay-paypal-buttons.js",),
            summary="PayPal buttons; the card is entered in a www.paypal.com popup"),
    Variant("paypal-card-fields", "paypal", "paypal-card-fields.html",
            ("/static/pay-paypal-card-fields.js",),
            summary="PayPal card fields: each input in its own www.paypal.com frame"),
    Variant("paypal-card-fields-skimmed", "paypal", "paypal-card-fields.html",
            (f"{SKIMMER}/js/analytics.min.js", "/static/pay-paypal-card-fields.js"),
            ("cdn.example-analytics.net",),
            "PayPal card fields, but a skimmer shows a look-alike card form on the merchant page "
            "first and posts what is typed there"),
)}

# The clean variant used when the merchant switches an invoice to another processor.
DEFAULT_VARIANT = {"stripe": "stripe-elements", "square": "square-card", "paypal": "paypal-buttons"}


@dataclass(frozen=True)
class Invoice:
    id: str
    client: str
    client_email: str
    issued: str
    due: str
    items: tuple[LineItem, ...]
    variant: str

    @property
    def processor(self) -> str:
        return VARIANTS[self.variant].processor

    @property
    def total_cents(self) -> int:
        return sum(item.total_cents for item in self.items)

    def variant_for(self, processor: str) -> Variant:
        """The invoice's own variant for its processor, the clean one for any other."""
        if processor == self.processor:
            return VARIANTS[self.variant]
        return VARIANTS[DEFAULT_VARIANT[processor]]


def _inv(id: str, client: str, email: str, items: tuple[LineItem, ...], variant: str) -> Invoice:
    return Invoice(id, client, email, "2026-11-02", "2026-12-02", items, variant)


_WEDDING = (LineItem("Wedding photography, full day", 1, 180000),
            LineItem("Second shooter", 8, 7500), LineItem("Fine-art album, 30 pages", 1, 45000))
_PORTRAIT = (LineItem("Family portrait session", 1, 35000), LineItem("Retouched prints 8x10", 6, 2500))
_HEADSHOTS = (LineItem("Corporate headshots", 12, 9500), LineItem("Travel fee", 1, 6000))

INVOICES: dict[str, Invoice] = {i.id: i for i in (
    _inv("1001", "Avery & Jordan Lee", "avery.lee@example.org", _WEDDING, "stripe-elements"),
    _inv("1002", "Morgan Patel", "morgan.patel@example.org", _PORTRAIT, "stripe-v2-leaky"),
    _inv("1003", "Riley Chen", "riley.chen@example.org", _PORTRAIT, "stripe-v2"),
    _inv("1004", "Jamie Alvarez", "jamie.alvarez@example.org", _HEADSHOTS, "stripe-elements-analytics"),
    _inv("2001", "Northwind Traders", "ap@northwind.example.org", _HEADSHOTS, "square-card"),
    _inv("2002", "Casey Romero", "casey.romero@example.org", _PORTRAIT, "square-form-leaky"),
    _inv("3001", "Sam Okafor", "sam.okafor@example.org", _PORTRAIT, "paypal-buttons"),
    _inv("3002", "Blue Heron Cafe", "owner@blueheron.example.org", _HEADSHOTS, "paypal-card-fields"),
    _inv("3003", "Dana Whitfield", "dana.w@example.org", _PORTRAIT, "paypal-card-fields-skimmed"),
)}


def money(cents: int) -> str:
    return f"${cents / 100:,.2f}"
