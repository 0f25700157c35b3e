"""The bundled demo world: local HTTPS sites (a merchant, emulated Stripe, Square and PayPal, and
a few third parties) that the demo and the browser tests audit. See `DemoWorld`."""

from audit.demo.hosts import CARD_DATA_HOSTS, DEMO_HOSTNAMES
from audit.demo.server import DemoWorld, ReceivedRequest

__all__ = ["CARD_DATA_HOSTS", "DEMO_HOSTNAMES", "DemoWorld", "ReceivedRequest"]
