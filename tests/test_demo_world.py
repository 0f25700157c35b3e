"""The demo world driven by a real headless Chromium: payments complete, and the card number
reaches exactly the hosts each variant sends it to (and nothing leaves the machine)."""

from __future__ import annotations

import base64
import binascii
import http.client
import json
import re
import ssl
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, unquote_plus

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from audit.demo import CARD_DATA_HOSTS, DEMO_HOSTNAMES, DemoWorld, ReceivedRequest
from audit.demo.cards import brand_label, card_brand, expiry_parts, luhn_ok
from audit.demo.tls import san_names

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium")

CVC, EXPIRY, POSTAL = "123", "1234", "94107"


# -- finding the card number in what the server received ---------------------------------------
def _decoded_views(text: str) -> list[str]:
    """The text, URL-decoded, plus every base64 or hex token in those decoded: where a number hides."""
    views = [text, unquote(text), unquote_plus(text)]
    for view in list(views):
        for token in re.findall(r"[A-Za-z0-9+/_-]{16,}={0,2}", view):
            alphabet = b"-_" if re.search(r"[-_]", token) else None
            try:
                views.append(base64.b64decode(token + "=" * (-len(token) % 4), altchars=alphabet)
                             .decode("utf-8", "replace"))
            except (binascii.Error, ValueError):
                pass
        for token in re.findall(r"(?:[0-9a-fA-F]{2}){8,}", view):
            views.append(bytes.fromhex(token).decode("utf-8", "replace"))
    return views


def carries(request: ReceivedRequest, number: str) -> bool:
    return any(number in re.sub(r"[\s-]", "", view) for view in _decoded_views(request.text))


def hosts_with(world: DemoWorld, number: str) -> set[str]:
    return {r.host for r in world.received if carries(r, number)}


@pytest.mark.parametrize(("request_text", "number", "expected"), [
    ("card[number]=4242424242424242", "4242424242424242", True),
    ("cc=4242%204242%204242%204242", "4242424242424242", True),
    ('{"forms":"' + base64.b64encode(b'{"cardnumber":"4242 4242 4242 4242"}').decode() + '"}',
     "4242424242424242", True),
    ("d=" + b'{"n":"4242424242424242"}'.hex(), "4242424242424242", True),
    ("events=%5B%7B%22n%22%3A%22NDI0MjQyNDI0MjQyNDI0Mg%3D%3D%22%7D%5D", "4242424242424242", True),
    ("last4=4242&brand=visa", "4242424242424242", False),
])
def test_carries_finds_number_in_any_encoding(request_text: str, number: str, expected: bool) -> None:
    request = ReceivedRequest("h.example", "POST", "/", {}, request_text.encode())
    assert carries(request, number) is expected


# -- pure card arithmetic of the emulated processors -----------------------------------------
@pytest.mark.parametrize(("number", "luhn", "brand"), [
    ("4242 4242 4242 4242", True, "visa"),            # https://stripe.com/testing
    ("4000056655665556", True, "visa"),
    ("5555555555554444", True, "mastercard"),
    ("2223000048400011", True, "mastercard"),          # 2-series, PayPal sandbox
    ("378282246310005", True, "amex"),
    ("6011111111111117", True, "discover"),
    ("4242424242424241", False, "visa"),
    ("1234", False, "unknown"),
])
def test_luhn_and_brand(number: str, luhn: bool, brand: str) -> None:
    assert luhn_ok(number) is luhn
    assert card_brand(number) == brand


@pytest.mark.parametrize(("raw", "label"), [("visa", "Visa"), ("VISA", "Visa"), ("MASTERCARD", "Mastercard"),
                                            ("AMERICAN_EXPRESS", "American Express"), ("amex", "American Express")])
def test_brand_label(raw: str, label: str) -> None:
    assert brand_label(raw) == label


@pytest.mark.parametrize(("raw", "parts"), [("12 / 34", (12, 2034)), ("12/2034", (12, 2034)),
                                            ("1234", (12, 2034)), ("13/34", None), ("1", None)])
def test_expiry_parts(raw: str, parts: tuple[int, int] | None) -> None:
    assert expiry_parts(raw) == parts


def test_certificate_names_cover_every_host_and_stripe_subdomains() -> None:
    names = san_names(DEMO_HOSTNAMES)
    assert set(DEMO_HOSTNAMES) <= set(names)
    assert {"*.stripe.com", "*.js.stripe.com", "*.paypal.com", "*.squarecdn.com"} <= set(names)


# -- the emulated APIs, called directly ----------------------------------------------------
def call(world: DemoWorld, host: str, method: str, path: str, body: bytes = b"",
         content_type: str = "application/json") -> tuple[int, dict]:
    context = ssl.create_default_context(cadata=world.ca_pem.decode())
    context.check_hostname = False  # connecting to 127.0.0.1; the leaf is checked against the CA
    connection = http.client.HTTPSConnection("127.0.0.1", world.port, context=context, timeout=5)
    connection.request(method, path, body, {"Host": host, "Content-Type": content_type})
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    return response.status, json.loads(payload or b"{}")


STRIPE_KEY = "key=pk_test_demo&card[exp_month]=12&card[exp_year]=34&card[cvc]=123&card[number]="


@pytest.mark.parametrize(("host", "path", "body", "form", "status", "check"), [
    ("api.stripe.com", "/v1/payment_methods", STRIPE_KEY + "4242424242424242", True, 200,
     lambda j: j["id"].startswith("pm_") and j["card"]["brand"] == "visa" and j["card"]["last4"] == "4242"),
    ("api.stripe.com", "/v1/payment_methods", STRIPE_KEY + "4242424242424241", True, 402,
     lambda j: j["error"]["code"] == "incorrect_number"),
    ("api.stripe.com", "/v1/payment_methods", "card[number]=4242424242424242", True, 401,
     lambda j: j["error"]["type"] == "invalid_request_error"),
    ("api.stripe.com", "/v1/tokens", STRIPE_KEY + "5555555555554444", True, 200,
     lambda j: j["id"].startswith("tok_") and j["card"]["brand"] == "Mastercard"),
    ("pci-connect.squareup.com", "/v2/card-nonce", json.dumps({"client_id": "sq0idp-x", "card_data": {
        "number": "4111111111111111", "exp_month": 12, "exp_year": 2034, "cvv": "111"}}), False, 200,
     lambda j: j["token"].startswith("cnon:") and j["details"]["card"] == {
         "brand": "VISA", "last4": "1111", "expMonth": 12, "expYear": 2034, "cardType": "CREDIT"}),
    ("pci-connect.squareup.com", "/v2/card-nonce", json.dumps({"client_id": "sq0idp-x", "card_data": {
        "number": "4111111111111112", "exp_month": 12, "exp_year": 2034, "cvv": "111"}}), False, 400,
     lambda j: j["errors"][0]["field"] == "cardNumber"),
    ("www.paypal.com", "/v2/checkout/orders/NOSUCHORDER/confirm-payment-source", "{}", False, 404,
     lambda j: j["name"] == "RESOURCE_NOT_FOUND"),
])
def test_emulated_apis(world: DemoWorld, host: str, path: str, body: str, form: bool, status: int,
                       check: object) -> None:
    got, payload = call(world, host, "POST", path, body.encode(),
                        "application/x-www-form-urlencoded" if form else "application/json")
    assert got == status
    assert check(payload)  # type: ignore[operator]


def test_merchant_receives_only_brand_and_last4(world: DemoWorld) -> None:
    """The pay endpoint redeems a processor token; the receipt shows brand and last four only."""
    _, token = call(world, "api.stripe.com", "POST", "/v1/tokens", (STRIPE_KEY + "4000056655665556").encode(),
                    "application/x-www-form-urlencoded")
    status, paid = call(world, "invoices.example.test", "POST", "/invoice/1003/pay",
                        json.dumps({"processor": "stripe", "token": token["id"]}).encode())
    assert status == 200 and paid["ok"] and paid["redirect"].startswith("/invoice/1003/receipt?payment=pay_")
    status, declined = call(world, "invoices.example.test", "POST", "/invoice/1003/pay",
                            json.dumps({"processor": "stripe", "token": call(
                                world, "api.stripe.com", "POST", "/v1/tokens",
                                (STRIPE_KEY + "4000000000000002").encode(),
                                "application/x-www-form-urlencoded")[1]["id"]}).encode())
    assert status == 402 and declined == {"ok": False, "error": "Your card was declined."}


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world() -> Iterator[DemoWorld]:
    with DemoWorld() as running:
        yield running


@pytest.fixture(scope="module")
def chromium(world: DemoWorld) -> Iterator[Browser]:
    # A module-scoped Playwright, stopped when this module ends: a session-wide one (as
    # pytest-playwright's `playwright` fixture) would keep an event loop running that makes every
    # later sync_playwright() in the session fail.
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[
            f"--host-resolver-rules={world.resolver_rules()}",
            f"--ignore-certificate-errors-spki-list={world.spki_sha256}",
            "--disable-background-networking", "--disable-component-update", "--no-first-run",
        ])
        yield browser
        browser.close()


@pytest.fixture
def payer(chromium: Browser, world: DemoWorld) -> Iterator[Page]:
    # No ignore_https_errors: the SPKI flag alone must make Chromium accept the world's cert.
    context = chromium.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    world.clear_received()
    yield page
    context.close()


def open_invoice(page: Page, world: DemoWorld, invoice: str) -> None:
    page.goto(world.url(f"/invoice/{invoice}"))
    page.get_by_role("button", name="Pay Invoice").click()
    # A payer starts typing once the form has appeared, not 50 ms after the click.
    page.wait_for_load_state("networkidle")


def expect_receipt(page: Page, paid_with: str) -> None:
    page.wait_for_url(re.compile(r"/invoice/\d+/receipt\?payment=pay_"))
    expect(page.get_by_role("heading", name="Payment received")).to_be_visible()
    expect(page.locator("#paid-with")).to_have_text(paid_with)


def settle(world: DemoWorld) -> None:
    """Let late beacons land: wait for a request that never comes, briefly."""
    world.wait_for(lambda r: False, timeout=0.7)


# -- the world itself -------------------------------------------------------------------------
def test_host_map_covers_every_host(world: DemoWorld) -> None:
    assert set(world.host_map()) == set(DEMO_HOSTNAMES)
    assert all(addr == f"127.0.0.1:{world.port}" for addr in world.host_map().values())
    assert world.url("/invoice/1001") == "https://invoices.example.test/invoice/1001"


def test_unknown_host_is_404_and_recorded(world: DemoWorld) -> None:
    context = ssl.create_default_context(cadata=world.ca_pem.decode())
    context.check_hostname = False  # the request goes to 127.0.0.1 with a foreign Host header
    req = urllib.request.Request(f"https://127.0.0.1:{world.port}/x?y=1", headers={"Host": "evil.example.com"})
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(req, context=context, timeout=5)
    assert error.value.code == 404
    assert world.wait_for(lambda r: r.host == "evil.example.com" and r.path == "/x?y=1" and r.status == 404)


def test_chromium_reaches_nothing_outside_the_world(payer: Page) -> None:
    with pytest.raises(Exception, match="ERR_NAME_NOT_RESOLVED"):
        payer.goto("https://example.com/")


@pytest.mark.parametrize(("invoice", "processor_frames"), [
    ("1001", True), ("1002", False), ("1003", False), ("2001", True), ("2002", False),
    ("3001", True), ("3002", True), ("3003", True)])
def test_invoice_page_is_self_contained(payer: Page, world: DemoWorld, invoice: str,
                                        processor_frames: bool) -> None:
    """Every resource of every payment page is served by the world, and the page's own CSP lets
    all of it load: no failed request, no error status, no console error (CSP violations are)."""
    failed: list[str] = []
    payer.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}"))
    payer.on("response", lambda r: failed.append(f"{r.url} {r.status}") if r.status >= 400 else None)
    payer.on("console", lambda m: failed.append(m.text) if m.type == "error" else None)
    payer.on("pageerror", lambda e: failed.append(str(e)))
    open_invoice(payer, world, invoice)
    # Card entry is in the processor's frames, or (leaky variants) on the merchant page itself.
    assert (len(payer.frames) > 1) is processor_frames
    if not processor_frames:
        expect(payer.locator("input[autocomplete=cc-number]")).to_be_visible()
    assert failed == []
    assert {r.host for r in world.received} <= set(DEMO_HOSTNAMES)


# -- clean payments: the number goes to the processor's card-data host only ---------------------
def test_1001_stripe_elements(payer: Page, world: DemoWorld) -> None:
    number = "4000056655665556"
    open_invoice(payer, world, "1001")
    payer.fill("#cardholder-name", "Canary Cardholder")
    card = payer.frame_locator("iframe[name^=__privateStripeFrame]")
    card.locator("input[name=cardnumber][autocomplete=cc-number][inputmode=numeric]").press_sequentially(number)
    expect(card.locator("input[name=cardnumber]")).to_have_value("4000 0566 5566 5556")
    card.locator("input[name=exp-date][autocomplete=cc-exp]").press_sequentially(EXPIRY)
    expect(card.locator("input[name=exp-date]")).to_have_value("12 / 34")
    card.locator("input[name=cvc][autocomplete=cc-csc]").press_sequentially(CVC)
    card.locator("input[name=postal]").press_sequentially(POSTAL)
    payer.get_by_role("button", name="Pay now").click()
    expect_receipt(payer, "Visa •••• 5556")
    settle(world)
    assert hosts_with(world, number) == set(CARD_DATA_HOSTS["stripe"])
    posted = [r for r in world.received if r.host == "api.stripe.com" and r.path == "/v1/payment_methods"]
    assert len(posted) == 1 and "card[number]=4000056655665556" in unquote(posted[0].body.decode())
    assert any(r.host == "api.stripe.com" and r.path.endswith("/confirm") for r in world.received)
    assert {"r.stripe.com", "q.stripe.com", "m.stripe.com", "m.stripe.network"} <= {r.host for r in world.received}


def test_1001_rejects_a_bad_luhn_number(payer: Page, world: DemoWorld) -> None:
    open_invoice(payer, world, "1001")
    card = payer.frame_locator("iframe[name^=__privateStripeFrame]")
    card.locator("input[name=cardnumber]").press_sequentially("4242424242424241")
    expect(card.locator("input[name=cardnumber]")).to_have_value("4242 4242 4242 4241")
    expect(card.locator("input[name=cardnumber]")).to_have_attribute("aria-invalid", "true")
    expect(payer.locator("#card-errors")).to_have_text("Your card number is invalid.")


def test_2001_square_card(payer: Page, world: DemoWorld) -> None:
    number = "4111111111111111"
    open_invoice(payer, world, "2001")
    card = payer.frame_locator("iframe.sq-card-component")
    card.locator("input#cardNumber[name=cardNumber][autocomplete=cc-number]").press_sequentially(number)
    card.locator("input#expirationDate[autocomplete=cc-exp]").press_sequentially(EXPIRY)
    card.locator("input#cvv[autocomplete=cc-csc]").press_sequentially(CVC)
    card.locator("input#postalCode").press_sequentially(POSTAL)
    payer.get_by_role("button", name="Pay now").click()
    expect_receipt(payer, "Visa •••• 1111")
    settle(world)
    assert hosts_with(world, number) == set(CARD_DATA_HOSTS["square"])
    nonce = [r for r in world.received if r.host == "pci-connect.squareup.com" and r.method == "POST"]
    assert json.loads(nonce[0].body)["card_data"]["number"] == number


def test_3001_paypal_buttons_popup(payer: Page, world: DemoWorld) -> None:
    number = "4005519200000004"
    open_invoice(payer, world, "3001")
    buttons = payer.frame_locator("iframe[title=PayPal]")
    with payer.expect_popup() as opened:
        buttons.get_by_role("button", name="Debit or Credit Card").click()
    popup = opened.value
    popup.wait_for_url(re.compile(r"^https://www\.paypal\.com/checkoutnow\?token="))
    popup.locator("input#cardNumber[autocomplete=cc-number]").press_sequentially(number)
    popup.locator("#cardExpiry").press_sequentially(EXPIRY)
    popup.locator("#cardCvv").press_sequentially(CVC)
    popup.locator("#billingPostalCode").press_sequentially(POSTAL)
    popup.get_by_role("button", name="Pay Now").click()
    popup.wait_for_event("close")
    expect_receipt(payer, "Visa •••• 0004")
    settle(world)
    assert hosts_with(world, number) == set(CARD_DATA_HOSTS["paypal"])
    confirm = [r for r in world.received if r.path.endswith("/confirm-payment-source")]
    assert len(confirm) == 1 and confirm[0].host == "www.paypal.com"


def pay_with_paypal_card_fields(page: Page, number: str) -> None:
    page.frame_locator("iframe[title=paypal_card_number_field]").locator(
        "input[name=number][autocomplete=cc-number]").press_sequentially(number)
    page.frame_locator("iframe[title=paypal_card_expiry_field]").locator(
        "input[name=expiry][autocomplete=cc-exp]").press_sequentially(EXPIRY)
    page.frame_locator("iframe[title=paypal_card_cvv_field]").locator(
        "input[name=cvv][autocomplete=cc-csc]").press_sequentially(CVC)
    page.get_by_role("button", name="Pay now").click()


def test_3002_paypal_card_fields(payer: Page, world: DemoWorld) -> None:
    number = "2223000048400011"
    open_invoice(payer, world, "3002")
    payer.fill("#cardholder-name", "Canary Cardholder")
    pay_with_paypal_card_fields(payer, number)
    expect_receipt(payer, "Mastercard •••• 0011")
    settle(world)
    assert hosts_with(world, number) == {"www.paypal.com"}


# -- leaky variants: the number reaches where the page sends it ---------------------------------
def fill_merchant_form(page: Page, number: str) -> None:
    page.fill("#cardholder-name", "Canary Cardholder")
    page.locator("input[name=cardnumber][autocomplete=cc-number]").press_sequentially(number)
    page.locator("input[name=exp-date]").press_sequentially("12/34")
    page.locator("input[name=cvc]").press_sequentially(CVC)
    page.locator("input[name=postal]").press_sequentially(POSTAL)
    page.get_by_role("button", name="Pay now").click()


def test_1002_stripe_leaks_to_analytics_and_merchant(payer: Page, world: DemoWorld) -> None:
    number = "4242424242424242"
    open_invoice(payer, world, "1002")
    fill_merchant_form(payer, number)
    expect_receipt(payer, "Visa •••• 4242")
    collected = world.wait_for(lambda r: r.host == "stats.example.net" and r.path == "/collect"
                               and carries(r, number))
    assert collected is not None
    forms = json.loads(base64.b64decode(json.loads(collected.body)["forms"]))
    assert forms["cardnumber"] == number  # base64 inside JSON: not visible as plain digits
    assert number not in collected.body.decode()
    pay = [r for r in world.received if r.host == "invoices.example.test" and r.path == "/invoice/1002/pay"]
    assert len(pay) == 1 and json.loads(pay[0].body)["fraud_screen"]["card_number"] == number
    assert hosts_with(world, number) == {"stats.example.net", "invoices.example.test", "api.stripe.com"}


def test_1003_stripe_merchant_form_posts_only_to_stripe(payer: Page, world: DemoWorld) -> None:
    number = "5555555555554444"
    open_invoice(payer, world, "1003")
    fill_merchant_form(payer, number)
    expect_receipt(payer, "Mastercard •••• 4444")
    settle(world)
    assert hosts_with(world, number) == {"api.stripe.com"}
    assert payer.evaluate("document.querySelector('input[autocomplete=cc-number]')") is None  # receipt


def test_2002_square_form_beacons_the_number(payer: Page, world: DemoWorld) -> None:
    number = "4111111111111111"
    open_invoice(payer, world, "2002")
    fill_merchant_form(payer, number)
    expect_receipt(payer, "Visa •••• 1111")
    beacon = world.wait_for(lambda r: r.host == "stats.example.net" and r.path.startswith("/b?"))
    assert beacon is not None and "f_cardnumber=4111%201111%201111%201111" in beacon.path
    assert hosts_with(world, number) == {"stats.example.net", "pci-connect.squareup.com"}


def test_3003_skimmer_gets_the_first_entry(payer: Page, world: DemoWorld) -> None:
    number = "4012888888881881"
    open_invoice(payer, world, "3003")
    payer.fill("#cardholder-name", "Canary Cardholder")
    fill_skimmer = payer.locator("#card-fields-secure")
    fill_skimmer.locator("input[autocomplete=cc-number]").press_sequentially(number)
    fill_skimmer.locator("input[autocomplete=cc-exp]").press_sequentially("12/34")
    fill_skimmer.locator("input[autocomplete=cc-csc]").press_sequentially(CVC)
    payer.get_by_role("button", name="Pay now").click()
    expect(payer.locator("#payment-error")).to_contain_text("enter your card details again")
    pay_with_paypal_card_fields(payer, number)
    expect_receipt(payer, "Visa •••• 1881")
    stolen = world.wait_for(lambda r: r.host == "cdn.example-analytics.net" and r.path == "/k")
    assert stolen is not None and number.encode().hex() in stolen.body.decode()
    assert hosts_with(world, number) == {"cdn.example-analytics.net", "www.paypal.com"}


# -- Invoice Options -------------------------------------------------------------------------
def test_options_cookie_switches_the_processor(payer: Page, world: DemoWorld) -> None:
    payer.goto(world.url("/invoice/1001/options"))
    payer.get_by_label("Square").check()
    payer.get_by_role("button", name="Save options").click()
    payer.wait_for_url(world.url("/invoice/1001"))
    assert any(c["name"] == "processor_1001" and c["value"] == "square" for c in payer.context.cookies())
    payer.get_by_role("button", name="Pay Invoice").click()
    expect(payer.locator("iframe.sq-card-component")).to_be_visible()
    assert payer.locator("iframe[name^=__privateStripeFrame]").count() == 0
