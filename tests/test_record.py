"""`card-audit record`: a person's clicks and typing become a scenario that runs.

The test is the person: it drives the very browser `record` opened (the `drive` hook hands it the
page), clicking and typing through Playwright, which the page receives as trusted input events.
"""

from __future__ import annotations

import yaml
import pytest

from audit.config import load_config
from audit.init import scenario_yaml, write_scenario
from audit.live import Reach
from audit.record import record
from conftest import run_cli

pytestmark = pytest.mark.browser
STRIPE_CANARY = "4000 0566 5566 5556"   # the Stripe profile's default card
PAYPAL_CANARY = "2223 0000 4840 0011"   # the PayPal profile's default card


def pay_with_stripe_elements(page):
    page.get_by_role("button", name="Pay Invoice").click()
    page.get_by_label("Name on card").fill("Canary Cardholder")
    card = page.frame_locator('iframe[name^="__privateStripeFrame"]')
    for selector, value in (('input[name="cardnumber"]', STRIPE_CANARY), ('input[name="exp-date"]', "12/34"),
                            ('input[name="cvc"]', "123"), ('input[name="postal"]', "94107")):
        card.locator(selector).press_sequentially(value, delay=10)
    page.get_by_role("button", name="Pay now").click()
    wait_for_receipt(page, card_frame=card)


def wait_for_receipt(page, card_frame=None):
    """The receipt page, or a failure that says what the payer saw instead."""
    try:
        page.get_by_text("Payment received").wait_for(timeout=30_000)
    except Exception as exc:
        seen = {"url": page.url}
        try:
            seen["card errors"] = page.evaluate("(document.getElementById('card-errors') || {}).textContent")
            seen["pay button disabled"] = page.evaluate("(document.getElementById('submit-payment') || {}).disabled")
            if card_frame is not None:
                for selector in ('input[name="cardnumber"]', 'input[name="exp-date"]', 'input[name="cvc"]', 'input[name="postal"]'):
                    seen[selector] = card_frame.locator(selector).input_value(timeout=2_000)
        except Exception as inner:  # the page itself may be what went wrong
            seen["page"] = str(inner)[:200]
        raise AssertionError(f"no receipt: {seen}") from exc


def pay_in_paypal_popup(page):
    page.get_by_role("button", name="Pay Invoice").click()
    with page.expect_popup() as opened:
        page.frame_locator('iframe[name^="__zoid__paypal_buttons"]').get_by_role(
            "button", name="Debit or Credit Card").click()
    popup = opened.value
    popup.wait_for_load_state()
    for selector, value in (("#cardNumber", PAYPAL_CANARY), ("#cardExpiry", "12/34"), ("#cardCvv", "123")):
        popup.locator(selector).press_sequentially(value, delay=10)
    popup.get_by_role("button", name="Pay Now").click()
    wait_for_receipt(page)


@pytest.mark.parametrize("url,drive,processor,frame", [
    ("https://invoices.example.test/invoice/1001", pay_with_stripe_elements, "stripe", 'iframe[name^="__privateStripeFrame"]'),
    ("https://invoices.example.test/invoice/3001", pay_in_paypal_popup, "paypal", None),
], ids=["stripe-elements-frame", "paypal-popup"])
def test_recorded_flow_is_a_scenario_that_runs(url, drive, processor, frame, tmp_path):
    reach = Reach(demo=True)
    found = record(url, reach, load_config(None), headless=True, drive=drive)
    path = tmp_path / "recorded.yaml"
    write_scenario(scenario_yaml(found, reach, f"card-audit record {url} --demo"), path)
    scenario = yaml.safe_load(path.read_text())
    assert scenario["processor"] == processor
    steps = scenario["steps"]
    assert steps[0] == {"click": 'role=button[name="Pay Invoice"]'}
    fills = [s["fill"] for s in steps if "fill" in s]
    number = next(f for f in fills if f["value"] == "{card.number}")
    assert number.get("frame") == frame
    values = {f["value"] for f in fills}
    assert {"{card.number}", "{card.expiry}", "{card.cvc}"} <= values
    assert not any(v.replace(" ", "") in path.read_text() for v in (STRIPE_CANARY, PAYPAL_CANARY))
    run = run_cli("run", path, out=tmp_path / "out")
    assert run.code == 0, run.stderr[-3000:]
    assert run.result["verdict"] == "pass" and run.result["flow"]["completed"]
    typed = {f for fr in run.result["frames"] for f in fr.get("typed_fields", [])}
    assert {"number", "expiry", "cvc"} <= typed


def test_record_refuses_a_bad_url():
    made = run_cli("record", "invoices.example.test")
    assert made.code == 2 and "not an http(s) URL" in made.stderr
