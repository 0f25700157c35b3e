"""What the emulated processors and the merchant remember between requests, for one world.

The merchant server "calls the processor's API" by reading this ledger, the way a real merchant
back end retrieves a PaymentMethod, redeems a Square nonce or captures a PayPal order: only
brand, last four and expiry ever reach the merchant side, never the full number.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field, replace

from audit.demo.cards import card_brand, digits

# Stripe's documented decline test card (https://stripe.com/testing): tokenises, then declines.
DECLINING_NUMBERS = frozenset({"4000000000000002"})


@dataclass(frozen=True)
class CardOnFile:
    """A processor's view of a tokenised card: what it hands back to merchants."""

    brand: str
    last4: str
    exp_month: int
    exp_year: int
    declines: bool = False

    @classmethod
    def from_number(cls, number: str, exp_month: int, exp_year: int) -> "CardOnFile":
        n = digits(number)
        return cls(card_brand(n), n[-4:], exp_month, exp_year, n in DECLINING_NUMBERS)


@dataclass(frozen=True)
class PaymentIntent:
    id: str
    client_secret: str
    amount: int                   # minor units, as processors count
    currency: str
    status: str = "requires_payment_method"
    payment_method: str | None = None


@dataclass(frozen=True)
class PayPalOrder:
    id: str
    amount: str                   # "1250.00": PayPal sends decimal strings
    currency: str
    status: str = "CREATED"
    card: CardOnFile | None = None


@dataclass(frozen=True)
class Payment:
    id: str
    invoice_id: str
    processor: str
    brand: str
    last4: str
    amount_cents: int


@dataclass
class Ledger:
    _lock: threading.Lock = field(default_factory=threading.Lock)
    cards: dict[str, CardOnFile] = field(default_factory=dict)        # pm_, tok_, cnon: ids
    intents: dict[str, PaymentIntent] = field(default_factory=dict)
    orders: dict[str, PayPalOrder] = field(default_factory=dict)
    payments: dict[str, Payment] = field(default_factory=dict)

    @staticmethod
    def new_id(prefix: str, size: int = 12) -> str:
        return prefix + secrets.token_hex(size)[:size * 2]

    def add_card(self, prefix: str, card: CardOnFile) -> str:
        card_id = self.new_id(prefix)
        with self._lock:
            self.cards[card_id] = card
        return card_id

    def card(self, card_id: str) -> CardOnFile | None:
        with self._lock:
            return self.cards.get(card_id)

    def create_intent(self, amount: int, currency: str) -> PaymentIntent:
        pi_id = self.new_id("pi_")
        intent = PaymentIntent(pi_id, f"{pi_id}_secret_{secrets.token_hex(8)}", amount, currency)
        with self._lock:
            self.intents[pi_id] = intent
        return intent

    def update_intent(self, pi_id: str, **changes: object) -> PaymentIntent:
        with self._lock:
            intent = replace(self.intents[pi_id], **changes)
            self.intents[pi_id] = intent
            return intent

    def intent(self, pi_id: str) -> PaymentIntent | None:
        with self._lock:
            return self.intents.get(pi_id)

    def create_order(self, amount: str, currency: str) -> PayPalOrder:
        # PayPal order ids are 17 upper-case alphanumerics, e.g. 5O190127TN364715T.
        order = PayPalOrder(secrets.token_hex(9).upper()[:17], amount, currency)
        with self._lock:
            self.orders[order.id] = order
        return order

    def update_order(self, order_id: str, **changes: object) -> PayPalOrder:
        with self._lock:
            order = replace(self.orders[order_id], **changes)
            self.orders[order_id] = order
            return order

    def order(self, order_id: str) -> PayPalOrder | None:
        with self._lock:
            return self.orders.get(order_id)

    def record_payment(self, invoice_id: str, processor: str, card: CardOnFile,
                       amount_cents: int) -> Payment:
        payment = Payment(self.new_id("pay_", 8), invoice_id, processor, card.brand, card.last4,
                          amount_cents)
        with self._lock:
            self.payments[payment.id] = payment
        return payment

    def payment(self, payment_id: str) -> Payment | None:
        with self._lock:
            return self.payments.get(payment_id)

    def latest_payment(self, invoice_id: str) -> Payment | None:
        with self._lock:
            mine = [p for p in self.payments.values() if p.invoice_id == invoice_id]
        return mine[-1] if mine else None
