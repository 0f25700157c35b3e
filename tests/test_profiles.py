"""Processor profiles: the built-in data is consistent with its sources, user profiles validate
with line numbers, and every card-field selector is valid CSS in a real Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from audit import hosts
from audit.errors import InputError
from audit.profiles import (BUILTIN_PROFILES, HOST_LISTS, ProcessorProfile, builtin_profile,
                            load_profile)
from audit.profiles.fields import luhn_ok

# https://docs.stripe.com/ips, "Stripe domains", as listed in the research notes.
STRIPE_DOMAINS = set("""
a.stripecdn.com api.stripe.com atlas.stripe.com auth.stripe.com b.stripecdn.com billing.stripe.com
buy.stripe.com c.stripecdn.com checkout.stripe.com climate.stripe.com connect.stripe.com
connect-js.stripe.com dashboard.stripe.com express.stripe.com f.stripecdn.com files.stripe.com
hcaptcha.com hooks.stripe.com invoice.stripe.com invoicedata.stripe.com js.stripe.com m.stripe.com
m.stripe.network manage.stripe.com merchant-ui-api.stripe.com pay.stripe.com payments.stripe.com
q.stripe.com qr.stripe.com r.stripe.com stripe.com terminal.stripe.com uploads.stripe.com verify.stripe.com
""".split())


@pytest.mark.parametrize("name", BUILTIN_PROFILES)
def test_builtin_profile_is_consistent(name: str) -> None:
    p = builtin_profile(name)
    assert p.name == name and p.extends is None
    assert p.card_data_hosts and p.card_frame_hosts and p.script_hosts and p.card_fields.number
    source_urls = {s.url for s in p.sources}
    for card in p.test_cards:
        assert luhn_ok(card.number)
        assert card.source in source_urls, f"{card.number}: its source is not among the profile's"
        assert len(card.number) == (15 if card.brand == "amex" else 16)
        assert card.cvc_digits == (4 if card.brand == "amex" else 3)
    for host_list in HOST_LISTS:
        for pattern in getattr(p, host_list):
            assert hosts.is_valid_pattern(pattern) and pattern == hosts.normalize_pattern(pattern)
    # The default canary is a documented test card whose four groups are distinct, so pieces of a
    # number sent in parts can be told apart.
    default = p.default_card.number
    assert default in {c.number for c in p.test_cards}
    groups = re.findall(r"\d{4}", default)
    assert len(groups) == 4 and len(set(groups)) == 4
    assert p.processor_hosts == list(dict.fromkeys(h for n in HOST_LISTS for h in getattr(p, n)))


def test_builtin_profiles_are_cached() -> None:
    assert builtin_profile("stripe") is builtin_profile("stripe")
    assert load_profile("stripe", Path("/nonexistent")) is builtin_profile("stripe")


def test_stripe_hosts_split_the_documented_list() -> None:
    p = builtin_profile("stripe")
    assert p.card_data_hosts == ["api.stripe.com"]
    assert p.card_frame_hosts == ["js.stripe.com", "*.js.stripe.com"]
    assert p.script_hosts == ["js.stripe.com", "*.js.stripe.com"]
    assert p.telemetry_hosts == ["r.stripe.com", "q.stripe.com", "m.stripe.com", "m.stripe.network"]
    assert "hcaptcha.com" in p.other_hosts
    # Every documented domain is somewhere, exactly once, and nothing undocumented slipped in.
    exact = [h for n in HOST_LISTS if n != "script_hosts" for h in getattr(p, n) if "*" not in h]
    assert sorted(exact) == sorted(STRIPE_DOMAINS)
    assert p.default_card.number == "4000056655665556"
    assert "https://docs.stripe.com/ips" in {s.url for s in p.sources}


@pytest.mark.parametrize("name, host, list_name, expected", [
    ("stripe", "api.stripe.com", "card_data_hosts", True),
    ("stripe", "abc.js.stripe.com", "card_frame_hosts", True),
    ("stripe", "r.stripe.com", "card_data_hosts", False),
    ("square", "pci-connect.squareup.com", "card_data_hosts", True),
    ("square", "sandbox.web.squarecdn.com", "card_frame_hosts", True),
    ("square", "squarecdn.com", "card_frame_hosts", False),
    ("paypal", "www.paypal.com", "card_data_hosts", True),
    ("paypal", "c.paypal.com", "telemetry_hosts", True),
    ("paypal", "www.paypalobjects.com", "script_hosts", True),
    ("paypal", "www.paypal.com", "popup_hosts", True),
    ("braintree", "api.braintreegateway.com", "card_data_hosts", True),
])
def test_profile_host_lists(name: str, host: str, list_name: str, expected: bool) -> None:
    assert hosts.matches_any(host, getattr(builtin_profile(name), list_name)) is expected


@pytest.mark.parametrize("name, number", [
    ("square", "5105105105105100"), ("paypal", "2223000048400011"), ("braintree", "4500600000000061"),
])
def test_default_cards(name: str, number: str) -> None:
    assert builtin_profile(name).default_card.number == number


def test_unknown_processor() -> None:
    with pytest.raises(InputError) as info:
        load_profile("paypall", Path("."))
    assert info.value.problems == [
        "unknown processor 'paypall': did you mean 'paypal'? use a built-in profile "
        "(stripe, square, paypal, braintree) or a path to a profile YAML"]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_user_profile_extends_and_appends(tmp_path: Path) -> None:
    write(tmp_path, "acme.yaml", """\
name: acme
extends: square
card_data_hosts: [vault.acme.test, pci-connect.squareup.com]
telemetry_hosts: ["*.metrics.acme.test"]
card_fields: {number: ["#acme-number"]}
default_card: {postal: "10001"}
sources: [{url: "https://acme.test/pci", what: ACME's card vault}]
""")
    p = load_profile("acme.yaml", tmp_path)
    base = builtin_profile("square")
    assert p.name == "acme" and p.title == base.title and p.extends == "square"
    assert p.card_data_hosts == [*base.card_data_hosts, "vault.acme.test"]  # no repeats
    assert p.telemetry_hosts == ["*.metrics.acme.test"]
    assert p.card_frame_hosts == base.card_frame_hosts
    assert p.card_fields.number == ["#cardNumber", "#acme-number"]
    assert p.card_fields.cvc == base.card_fields.cvc
    assert p.default_card.postal == "10001" and p.default_card.number == base.default_card.number
    assert p.sources[-1].url == "https://acme.test/pci" and len(p.sources) == len(base.sources) + 1
    assert "vault.acme.test" in p.processor_hosts
    assert base.card_data_hosts == ["pci-connect.squareup.com", "pci-connect.squareupsandbox.com"]


def test_user_profile_replace(tmp_path: Path) -> None:
    write(tmp_path, "only.yaml", "name: only\nextends: stripe\nreplace: true\n"
                                 "card_data_hosts: [vault.acme.test]\ncard_fields: {cvc: ['#cvc']}\n")
    p = load_profile(str(tmp_path / "only.yaml"), Path("/elsewhere"))  # absolute path
    assert p.card_data_hosts == ["vault.acme.test"]
    assert p.card_fields.cvc == ["#cvc"]
    assert p.card_fields.number == builtin_profile("stripe").card_fields.number  # not given: kept
    assert p.card_frame_hosts == builtin_profile("stripe").card_frame_hosts


def test_standalone_user_profile(tmp_path: Path) -> None:
    write(tmp_path, "own.yml", """\
name: own
title: In-house vault
card_data_hosts: [vault.acme.test]
card_frame_hosts: [fields.acme.test]
default_card: {number: 4111 1111 1111 1111, expiry: 01/30, cvc: 999, name: Test, postal: 1}
""")
    p = load_profile("own.yml", tmp_path)
    assert p.processor_hosts == ["vault.acme.test", "fields.acme.test"]
    assert (p.default_card.number, p.default_card.cvc, p.default_card.postal) == ("4111111111111111", "999", "1")


@pytest.mark.parametrize("text, expected", [
    ("name: x\nextends: stripe\ncard_data_hosts: [ok.test, 'bad host']\n",
     ["{f}:3: card_data_hosts[1]: 'bad host' is not a host name"]),
    ("name: x\nextends: strype\ncard_data_host: [a.test]\n",
     ["{f}:2: extends: must be a built-in profile (stripe, square, paypal, braintree), got 'strype'",
      "{f}:3: card_data_host: unknown field (did you mean 'card_data_hosts'?)"]),
    ("title: t\ndefault_card:\n  number: '4111 1111 1111 1112'\n  expiry: 12/34\n",
     ["{f}:1: name: required field is missing",
      "{f}:3: default_card.number: card number fails the Luhn check (a typo?); use a processor test card",
      "{f}:2: default_card.cvc: required field is missing",
      "{f}:2: default_card.name: required field is missing",
      "{f}:2: default_card.postal: required field is missing"]),
    ("name: x\nextends: stripe\ntest_cards:\n  - {number: '4242424242424242', brand: visa, cvc_digits: 5, source: x}\n",
     ["{f}:4: test_cards[0].cvc_digits: input should be 3 or 4, got 5",
      "{f}:4: test_cards[0].source: expected an http(s) URL with a host, got 'x'"]),
    ("name: x\nextends: stripe\nname: y\n", ["{f}:3: name: duplicate key (first at line 1); YAML keeps only the last one"]),
])
def test_bad_user_profile_lines(tmp_path: Path, text: str, expected: list[str]) -> None:
    path = write(tmp_path, "p.yaml", text)
    with pytest.raises(InputError) as info:
        load_profile("p.yaml", tmp_path)
    assert sorted(info.value.problems) == sorted(e.format(f=path) for e in expected)


def test_missing_profile_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_profile("profiles/none.yaml", tmp_path)
    assert info.value.problems == [f"{tmp_path / 'profiles/none.yaml'}: cannot read: no such file"]


# Markup in the shape of each processor's card-entry DOM (attribute names as the real inputs carry
# them), with the card fields the profile's selectors must find there. Every selector must parse in
# Chromium, and a field is found when any of its selectors matches.
CARD_DOM = {
    "stripe-card-element": ("stripe", '<input name="cardnumber" autocomplete="cc-number">'
                            '<input name="exp-date" autocomplete="cc-exp">'
                            '<input name="cvc" autocomplete="cc-csc">'
                            '<input name="postal" autocomplete="postal-code">',
                            {"number", "expiry", "cvc", "postal"}),
    "stripe-payment-element": ("stripe", '<input name="number"><input name="expiry"><input name="cvc">'
                               '<input name="postalCode">', {"number", "expiry", "cvc", "postal"}),
    "square": ("square", '<input id="cardNumber"><input id="expirationDate"><input id="cvv">'
               '<input id="postalCode">', {"number", "expiry", "cvc", "postal"}),
    "paypal-card-fields": ("paypal", '<input name="number"><input name="expiry"><input name="cvv">'
                           '<input name="name">', {"number", "expiry", "cvc", "name"}),
    "paypal-popup": ("paypal", '<input id="cardNumber"><input id="cardExpiry"><input id="cardCvv">',
                     {"number", "expiry", "cvc"}),
    "braintree": ("braintree", '<input name="credit-card-number"><input name="expiration">'
                  '<input name="cvv"><input name="cardholder-name"><input name="postal-code">',
                  {"number", "expiry", "cvc", "name", "postal"}),
    "unrelated-form": ("stripe", '<input name="email"><input name="amount">', set()),
}


@pytest.mark.parametrize("dom", sorted(CARD_DOM))
def test_card_field_selectors_in_chromium(dom: str) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    name, markup, expected = CARD_DOM[dom]
    chromium = Path("/usr/bin/chromium")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(chromium) if chromium.exists() else None,
            args=["--disable-background-networking", "--disable-component-update", "--no-first-run"])
        try:
            page = browser.new_page()
            page.set_content(f"<form>{markup}</form>")
            found = page.evaluate(
                """(fields) => Object.entries(fields)
                       .filter(([, selectors]) => selectors.some(s => document.querySelector(s) !== null))
                       .map(([field]) => field)""",
                builtin_profile(name).card_fields.model_dump())
        finally:
            browser.close()
    assert set(found) == expected


def test_profile_model_forbids_unknown_fields() -> None:
    data = builtin_profile("stripe").model_dump()
    data["card_hosts"] = []
    with pytest.raises(Exception, match="card_hosts"):
        ProcessorProfile.model_validate(data)
