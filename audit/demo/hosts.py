"""Which site answers for which hostname: the one table of the demo world."""

from __future__ import annotations

from typing import Callable

from audit.demo import merchant, paypal, square, stripe, thirdparty
from audit.demo.ledger import Ledger
from audit.demo.web import Request, Response

Site = Callable[[Request, Ledger], Response]

SITES: dict[str, Site] = {
    # the merchant
    "invoices.example.test": merchant.handle,
    "cdn.example.test": merchant.handle_cdn,
    # Stripe (https://docs.stripe.com/ips)
    "js.stripe.com": stripe.js,
    "api.stripe.com": stripe.api,
    "r.stripe.com": stripe.r_stripe,
    "q.stripe.com": stripe.q_stripe,
    "m.stripe.com": stripe.m_stripe,
    "m.stripe.network": stripe.m_stripe_network,
    # Square (https://developer.squareup.com/docs/web-payments/content-security-policy)
    "web.squarecdn.com": square.cdn,
    "pci-connect.squareup.com": square.pci_connect,
    # PayPal (https://developer.paypal.com/sdk/js/best-practices)
    "www.paypal.com": paypal.www,
    "c.paypal.com": paypal.fraudnet,
    "www.paypalobjects.com": paypal.objects,
    # third parties
    "stats.example.net": thirdparty.collector("stats.example.net"),
    "cdn.example-analytics.net": thirdparty.collector("cdn.example-analytics.net"),
}

DEMO_HOSTNAMES: tuple[str, ...] = tuple(SITES)

# The hosts that legitimately receive card data in this world, per processor.
CARD_DATA_HOSTS = {"stripe": ("api.stripe.com",), "square": ("pci-connect.squareup.com",),
                   "paypal": ("www.paypal.com",)}
