"""Stable selectors: generated names become prefix matches, names people wrote stay whole."""

from __future__ import annotations

import random
import string

import pytest

from audit.record import CanaryValues
from audit.selectors import element_candidates, is_generated, stable_prefix


@pytest.mark.parametrize("value,generated,prefix", [
    ("__privateStripeFrame5371", True, "__privateStripeFrame"),
    ("__zoid__paypal_buttons__uid_k3j9x2ab1c", True, "__zoid__paypal_buttons__uid_"),
    # Math.random().toString(36) ids that start with four letters and a digit: all random
    ("__zoid__paypal_buttons__uid_rfxz8k2m1q", True, "__zoid__paypal_buttons__uid_"),
    ("__zoid__paypal_buttons__uid_zyhx0abcde", True, "__zoid__paypal_buttons__uid_"),
    ("__zoid__paypal_buttons__uid_rfxz1234", True, "__zoid__paypal_buttons__uid_"),
    ("__zoid__paypal_buttons__uid_owfihelgvw", True, "__zoid__paypal_buttons__uid_"),  # letters only
    ("paypal-card-field-uid_edtrivqyrp-number", True, "paypal-card-field-uid_"),
    ("paypal_card_number_field", False, None),
    ("sq-card-0", False, None),
    ("pay-invoice", False, None),
    ("cardNumber", False, None),
    ("field2", False, None),
    ("a1b2c3d4", True, None),
    (":r3:", True, None),
])
def test_generated_names(value, generated, prefix):
    assert is_generated(value) is generated
    assert stable_prefix(value) == prefix


def test_math_random_ids_always_give_the_same_prefix():
    """The demo's PayPal SDK names its frames `__zoid__paypal_buttons__uid_` + 10 characters of
    Math.random().toString(36); a recorded or initialised scenario must find them on every load."""
    rng = random.Random(7)
    chars = string.digits + string.ascii_lowercase
    for _ in range(5_000):
        uid = "".join(rng.choice(chars) for _ in range(10))
        assert stable_prefix("__zoid__paypal_buttons__uid_" + uid) == "__zoid__paypal_buttons__uid_", uid


def test_element_candidates_prefer_what_the_payer_sees():
    info = {"role": "button", "name": "Pay Invoice", "id": "pay-invoice", "tag": "button", "attr_name": "",
            "testid": "", "autocomplete": "", "href": ""}
    assert element_candidates(info)[:2] == ['role=button[name="Pay Invoice"]', "#pay-invoice"]
    info = {**info, "name": "", "id": "btn-8f3a9c2d11"}
    assert element_candidates(info) == []


@pytest.mark.parametrize("value,label,placeholder", [
    ("4000 0566 5566 5556", "cardnumber", "{card.number}"),
    ("2223000048400011", "", "{card.number}"),
    ("12 / 34", "exp-date mm / yy", "{card.expiry}"),
    ("123", "cvc", "{card.cvc}"),
    ("123", "apartment", None),
    ("94107", "postal zip", "{card.postal}"),
    ("Canary Cardholder", "name", "{card.name}"),
    ("4242 4242 4242 4242", "cardnumber", None),   # a card, but not a canary
])
def test_canary_values_become_placeholders(value, label, placeholder):
    assert CanaryValues().placeholder(value, label) == placeholder
