"""Scenario loading: every bad file yields its exact problem line; good files normalise their steps."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from audit.errors import InputError
from audit.evidence import Card
from audit.scenario import (ClickStep, FillCardStep, FillStep, GotoStep, PressStep, ScreenshotStep,
                            SelectStep, TypeStep, WaitForStep, expand, has_card_placeholder,
                            load_policy_file, load_scenario, load_scenarios, normalize_step)

DATA = Path(__file__).parent / "data" / "scenarios"
# Paths as a user would type them, relative to the working directory: the problems repeat them.
REL = Path(os.path.relpath(DATA))


def problems_of(path: Path) -> list[str]:
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert info.value.exit_code == 2
    return info.value.problems


@pytest.mark.parametrize("name, expected", [
    ("bad-yaml-syntax.yaml",
     ["{f}:7: (yaml): found unexpected end of stream (while scanning a quoted scalar started at line 5)"]),
    ("bad-unknown-key.yaml", ["{f}:5: tls.ignore_error: unknown field (did you mean 'ignore_errors'?)"]),
    ("bad-missing-name.yaml", ["{f}:1: name: required field is missing"]),
    ("bad-missing-steps.yaml", ["{f}:1: steps: required field is missing"]),
    ("bad-step-action.yaml",
     ["{f}:6: steps[1].fil_card: unknown action 'fil_card': did you mean 'fill_card'? "
      "actions are goto, click, fill, type, fill_card, press, select, wait_for, screenshot"]),
    ("bad-wait-for-two-keys.yaml",
     ["{f}:6: steps[1].wait_for: give exactly one of text, selector, url; found text, selector"]),
    ("bad-host-value.yaml",
     ["{f}:6: hosts[\"*.stripe.com\"]: 'localhost:8443': expected ADDRESS or ADDRESS:PORT with an IP "
      "address (e.g. 127.0.0.1:8443 or [::1]:8443); names are not resolved"]),
    ("bad-card-luhn.yaml",
     ["{f}:5: card.number: card number fails the Luhn check (a typo?); use a processor test card"]),
    ("bad-cvc.yaml", ["{f}:6: card.cvc: cvc must be 3 or 4 digits, got '12'"]),
    ("bad-placeholder.yaml",
     ["{f}:9: steps[1].fill.value: unknown placeholder {{card.numbr}}: did you mean {{card.number}}? "
      "known: {{card.number}}, {{card.expiry}}, {{card.cvc}}, {{card.name}}, {{card.postal}}, "
      "{{card.exp_month}}, {{card.exp_year}}"]),
    ("bad-filter-list.yaml",
     ["{f}:8: adblock.filter_list: cannot read lists/missing.txt: no such file "
      "(looked for {d}/lists/missing.txt)"]),
    ("bad-processor.yaml",
     ["{f}:2: processor: unknown processor 'strpe': did you mean 'stripe'? use a built-in profile "
      "(stripe, square, paypal, braintree) or a path to a profile YAML"]),
    ("bad-duplicate-key.yaml",
     ["{f}:6: processor: duplicate key (first at line 2); YAML keeps only the last one"]),
    ("bad-many.yaml", [
        "{f}:1: name: must not be empty",
        "{f}:2: processor: profile profiles/bad-profile.yaml does not validate "
        "(its problems are listed under its own file)",
        "{f}:3: start_url: expected an http(s) URL with a host, got 'invoices.example.test/invoice/1001'",
        "{f}:4: settle_ms: input should be less than or equal to 30000",
        "{f}:6: steps[0]: a step holds one action, found 2 keys (click, timeout_ms); "
        "give each action its own list item and its options inside its mapping",
        "{f}:8: steps[1].screenshot.name: name must be a safe file name stem "
        "(letters, digits, '.', '_', '-'), got '../escape'",
        "{f}:9: steps[2].type.value: required field is missing",
        "{f}:10: steps[3].press.timeout_ms: input should be greater than 0",
        "{f}:12: policy.known_hosts[0]: '*.com' covers a whole public suffix; "
        "name the domain (e.g. *.example.com)",
        "{f}:12: policy.known_hosts[1]: 'cdn.*.test': a wildcard is only allowed as a leading '*.' "
        "(e.g. *.stripe.com)",
        "{d}/profiles/bad-profile.yaml:3: card_data_hosts[0]: 'https://api.acme.test/' is a URL or "
        "path, not a host (write just the host, e.g. api.stripe.com)",
    ]),
])
def test_bad_scenario_problem_lines(name: str, expected: list[str]) -> None:
    path = REL / name
    assert problems_of(path) == [e.format(f=path, d=REL) for e in expected]


def test_every_bad_sample_is_covered() -> None:
    """A new bad-*.yaml sample must come with its expected lines in the table above."""
    covered = {"bad-yaml-syntax", "bad-unknown-key", "bad-missing-name", "bad-missing-steps",
               "bad-step-action", "bad-wait-for-two-keys", "bad-host-value", "bad-card-luhn",
               "bad-cvc", "bad-placeholder", "bad-filter-list", "bad-processor",
               "bad-duplicate-key", "bad-many"}
    assert {p.stem for p in DATA.glob("bad-*.yaml")} == covered


def test_good_stripe_scenario() -> None:
    s = load_scenario(REL / "good-stripe.yaml")
    assert s.name == "Invoice 1001 paid with Stripe Elements"
    assert s.source_path == REL / "good-stripe.yaml"
    assert s.profile.name == "stripe"
    assert s.start_host == "invoices.example.test"
    assert s.hosts == {"invoices.example.test": "127.0.0.1:8443", "*.stripe.com": "127.0.0.1:8443"}
    assert s.tls.ignore_errors is True
    assert s.steps == [
        ClickStep(action="click", selector="text=Pay Invoice"),
        FillCardStep(action="fill_card"),
        FillStep(action="fill", selector="input[name=cardnumber]",
                 frame="iframe[name^=__privateStripeFrame]", value="{card.number}"),
        PressStep(action="press", selector="#email", key="Enter"),
        WaitForStep(action="wait_for", text="Payment received"),
        ScreenshotStep(action="screenshot", name="after-payment"),
    ]
    assert [st.describe() for st in s.steps] == [
        "text=Pay Invoice", "card fields",
        "input[name=cardnumber] in frame iframe[name^=__privateStripeFrame]",
        "Enter on #email", "text=Payment received", "after-payment"]
    assert s.policy.card_data_hosts == ["api.stripe.com"]
    assert s.policy.known_hosts == ["cdn.example.test"]
    assert s.adblock is not None and s.adblock.block == ["*.stripe.com"]
    assert s.adblock.filter_list == REL / "lists" / "easylist.txt"
    assert s.adblock.filter_list.read_text().startswith("! test filter list")
    assert s.resolved_card() == Card(number="4242424242424242", expiry="12/34", cvc="123",
                                     name="Canary Cardholder", postal="94107")
    assert (s.settle_ms, s.timeout_ms, s.demo) == (None, None, False)
    assert (s.settle.fast_forward, s.settle.quiet_ms, s.settle.on_bound) == (15 * 60 * 1000, 300, "inconclusive")


def test_good_shorthand_scenario_normalises_every_form() -> None:
    s = load_scenario(REL / "good-shorthand.yaml")
    assert s.steps == [
        GotoStep(action="goto", url="https://shop.example.test/invoice/7"),
        ClickStep(action="click", selector="#pay"),
        FillStep(action="fill", selector="#email", value="payer@example.test"),
        TypeStep(action="type", selector="#zip", value="94107", delay_ms=0),
        FillCardStep(action="fill_card"),
        FillCardStep(action="fill_card"),
        FillCardStep(action="fill_card", fields=["number", "cvc"]),
        PressStep(action="press", key="Enter"),
        PressStep(action="press", selector="#email", key="Tab", frame=["iframe#outer", "iframe.inner"]),
        SelectStep(action="select", selector="#country", value="US"),
        WaitForStep(action="wait_for", selector="#receipt"),
        WaitForStep(action="wait_for", url="**/receipt*", timeout_ms=5000),
        ScreenshotStep(action="screenshot", name="receipt.v2", full_page=True),
        ClickStep(action="click", selector="text=Done"),
    ]
    assert s.steps[8].frames == ("iframe#outer", "iframe.inner")
    assert s.steps[8].describe() == "Tab on #email in frame iframe#outer > iframe.inner"
    assert s.steps[6].describe() == "card fields: number, cvc"
    assert s.steps[11].describe() == "url=**/receipt*"
    # `cvc: 0123` is octal to YAML 1.1 and `postal: 10001` an int: the digits as written are kept.
    assert s.resolved_card() == Card(number="5105105105105100", expiry="12/34", cvc="0123",
                                     name="Canary Cardholder", postal="10001")
    assert (s.settle_ms, s.timeout_ms, s.demo, s.tags) == (500, 8000, True, ["smoke", "square"])
    assert s.merchant_hosts == ["*.example-payments.test"]
    # `adblock: true` blocks the processor's own hosts.
    assert s.adblock is not None and s.adblock.block_processor
    assert s.adblock.blocked_hosts(s.profile) == s.profile.processor_hosts
    assert "pci-connect.squareup.com" in s.adblock.blocked_hosts(s.profile)


def test_user_profile_relative_to_scenario() -> None:
    s = load_scenario(REL / "good-user-profile.yaml")
    assert s.profile.name == "acme-stripe"
    assert s.profile.card_data_hosts == ["api.stripe.com", "vault.acme.test"]
    assert s.profile.card_fields.name == ['input[name="cardholder"]']
    assert s.resolved_card().number == "5555555555554444"
    assert s.resolved_card().cvc == "123"


@pytest.mark.parametrize("raw, expected", [
    ({"goto": "https://a.test/"}, {"action": "goto", "url": "https://a.test/"}),
    ({"click": "text=Pay Invoice"}, {"action": "click", "selector": "text=Pay Invoice"}),
    ({"press": "Enter"}, {"action": "press", "key": "Enter"}),
    ({"wait_for": "#done"}, {"action": "wait_for", "selector": "#done"}),
    ({"wait_for": {"text": "Paid"}}, {"action": "wait_for", "text": "Paid"}),
    ({"screenshot": "after"}, {"action": "screenshot", "name": "after"}),
    ({"screenshot": 2024}, {"action": "screenshot", "name": "2024"}),
    ({"fill_card": {}}, {"action": "fill_card"}),
    ({"fill_card": None}, {"action": "fill_card"}),
    ("fill_card", {"action": "fill_card"}),
    ({"fill_card": ["cvc"]}, {"action": "fill_card", "fields": ["cvc"]}),
    ({"fill": {"selector": "#a", "value": "x"}}, {"action": "fill", "selector": "#a", "value": "x"}),
    ({"action": "click", "selector": "#a"}, {"action": "click", "selector": "#a"}),
])
def test_normalize_step(raw: object, expected: dict[str, object]) -> None:
    assert normalize_step(raw) == expected


@pytest.mark.parametrize("raw, message", [
    ({"clik": "#a"}, "unknown action 'clik': did you mean 'click'?"),
    ("pay", "unknown action 'pay': actions are"),
    ({"click": "#a", "fill": {}}, "a step holds one action, found 2 keys (click, fill)"),
    ({"fill": "#a"}, "fill takes a mapping, e.g. {selector: ..., value: ...}"),
    ({"click": ["#a"]}, "click takes a string (selector) or a mapping"),
    ({"click": {"action": "fill"}}, "'action' is not an argument"),
    (["click"], "a step is a mapping of one action to its arguments"),
])
def test_normalize_step_refuses(raw: object, message: str) -> None:
    with pytest.raises(ValueError) as info:
        normalize_step(raw)
    assert message in str(info.value)


CARD = Card(number="4000056655665556", expiry="12/34", cvc="123", name="Canary Cardholder",
            postal="94107")


@pytest.mark.parametrize("value, expected", [
    ("{card.number}", "4000056655665556"),
    ("exp {card.exp_month}/{card.exp_year} cvc {card.cvc}", "exp 12/34 cvc 123"),
    ("{card.expiry}|{card.name}|{card.postal}", "12/34|Canary Cardholder|94107"),
    ("no placeholder", "no placeholder"),
    ("{card.bogus}", "{card.bogus}"),
    ("{card}", "{card}"),
])
def test_expand(value: str, expected: str) -> None:
    assert expand(value, CARD) == expected


@pytest.mark.parametrize("value, expected", [
    ("{card.number}", True), ("x{card.cvc}y", True), ("{card}", False), ("card.number", False),
    ("{ card.number }", False),
])
def test_has_card_placeholder(value: str, expected: bool) -> None:
    assert has_card_placeholder(value) is expected


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


BASE = "name: n\nprocessor: paypal\nstart_url: https://shop.example.test/\n"
MINIMAL = BASE + "steps: [fill_card]\n"


def test_defaults_come_from_the_profile(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, "s.yaml", MINIMAL))
    assert s.resolved_card() == Card(number="2223000048400011", expiry="12/34", cvc="123",
                                     name="Canary Cardholder", postal="94107")
    assert s.adblock is None and s.hosts == {} and s.policy.known_hosts == []


@pytest.mark.parametrize("text, expected", [
    ("", "{f}:1: (root): the file is empty; expected a mapping of fields"),
    ("- click: x\n", "{f}:1: (root): expected a mapping of fields, found a list"),
    ("just text\n", "{f}:1: (root): expected a mapping of fields, found a single value"),
    ("a: 1\n---\nb: 2\n", "{f}:2: (yaml): expected a single document, found several (---)"),
    (MINIMAL + "steps: []\n", "{f}:5: steps: duplicate key (first at line 4); YAML keeps only the last one"),
    (MINIMAL + "steps: []\n", "{f}:5: steps: at least one step is required"),
    (MINIMAL.replace("[fill_card]", "[]"), "{f}:4: steps: at least one step is required"),
    (MINIMAL + "adblock: {block: [x.test], filter_list: .}\n",
     "{f}:5: adblock.filter_list: cannot read .: it is a directory (looked for {d})"),
    (MINIMAL + "card: {expiry: 13/30}\n", "{f}:5: card.expiry: expiry month must be 01 to 12, got 13"),
    (MINIMAL + "card: {expiry: 1/30}\n", "{f}:5: card.expiry: expiry must be MM/YY or MM/YYYY, got '1/30'"),
    (MINIMAL + "card: {number: 4242-4242-42}\n",
     "{f}:5: card.number: card number must have 13 to 19 digits, this one has 10"),
    (MINIMAL + "card: {number: 4242x4242}\n",
     "{f}:5: card.number: card number must be digits, optionally grouped with spaces or dashes"),
    (MINIMAL + "tls: {ignore_errors: 'yes'}\n", "{f}:5: tls.ignore_errors: input should be a valid boolean, got 'yes'"),
    (MINIMAL + "settle_ms: '500'\n", "{f}:5: settle_ms: input should be a valid integer, got '500'"),
    (MINIMAL + "hosts: {'*.com': 127.0.0.1}\n",
     "{f}:5: hosts[\"*.com\"]: '*.com' covers a whole public suffix; name the domain (e.g. *.example.com)"),
    (MINIMAL + "hosts: {a.test: '[::1]'}\nhosts2: 1\n", "{f}:6: hosts2: unknown field (did you mean 'hosts'?)"),
    (BASE + "steps:\n  - goto: shop.example.test\n",
     "{f}:5: steps[0].goto.url: expected an http(s) URL with a host, got 'shop.example.test'"),
    (BASE + "steps:\n  - click: {selector: '#a', frame: []}\n",
     "{f}:5: steps[0].click.frame: frame must be an iframe selector or a non-empty list of them "
     "(outermost first)"),
    (BASE + "steps:\n  - click: {selectr: '#a'}\n",
     "{f}:5: steps[0].click.selector: required field is missing"),
    (BASE + "steps:\n  - fill_card: [number, pin]\n",
     "{f}:5: steps[0].fill_card.fields[1]: input should be 'number', 'expiry', 'cvc', 'name' or "
     "'postal', got 'pin'"),
    (BASE + "steps:\n  - wait_for: {}\n",
     "{f}:5: steps[0].wait_for: give exactly one of text, selector, url; found none"),
])
def test_more_problem_lines(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, "s.yaml", text)
    problems = problems_of(path)
    assert expected.format(f=path, d=tmp_path) in problems


def test_unknown_step_field_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "s.yaml", BASE + "steps:\n  - click:\n      selector: '#a'\n      delay: 5\n")
    assert problems_of(path) == [f"{path}:7: steps[0].click.delay: unknown field (allowed: frame, "
                                 "timeout_ms, action, selector)"]


@pytest.mark.parametrize("make, reason", [
    (lambda d: d / "missing.yaml", "cannot read: no such file"),
    (lambda d: d, "cannot read: it is a directory"),
])
def test_unreadable_path(tmp_path: Path, make, reason: str) -> None:
    path = make(tmp_path)
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert info.value.problems == [f"{path}: {reason}"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path, "s.yaml", MINIMAL)
    path.chmod(0)
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert info.value.problems == [f"{path}: cannot read: Permission denied"]


def test_load_scenarios_collects_every_file(tmp_path: Path) -> None:
    good = write(tmp_path, "a-good.yaml", MINIMAL)
    write(tmp_path, "b-bad.yml", MINIMAL.replace("name: n\n", ""))
    write(tmp_path, "c-bad.yaml", MINIMAL + "demo: maybe\n")
    write(tmp_path, "notes.txt", "not a scenario")
    other = write(tmp_path, "other.yaml", MINIMAL.replace("name: n", "name: other"))
    with pytest.raises(InputError) as info:
        load_scenarios([tmp_path, tmp_path / "nope.yaml"])
    assert info.value.problems == [
        f"{tmp_path / 'b-bad.yml'}:1: name: required field is missing",
        f"{tmp_path / 'c-bad.yaml'}:5: demo: input should be a valid boolean, got 'maybe'",
        f"{tmp_path / 'nope.yaml'}: cannot read: no such file",
    ]
    loaded = load_scenarios([good, other])
    assert [s.name for s in loaded] == ["n", "other"]
    assert [s.source_path for s in loaded] == [good, other]


def test_load_scenarios_directory_order_and_empty_dir(tmp_path: Path) -> None:
    for name in ("b.yaml", "a.yml", "c.yaml"):
        write(tmp_path, name, MINIMAL.replace("name: n", f"name: {name}"))
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", "d.yaml", MINIMAL)  # not recursive
    assert [s.name for s in load_scenarios([tmp_path])] == ["a.yml", "b.yaml", "c.yaml"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError) as info:
        load_scenarios([empty])
    assert info.value.problems == [f"{empty}: no scenario files (*.yaml, *.yml) in this directory"]


def test_load_policy_file(tmp_path: Path) -> None:
    path = write(tmp_path, "policy.yaml", "known_hosts: [cdn.example.test, '*.Fonts.example.net']\n"
                                          "merchant_hosts: [pay.example.test]\n")
    assert load_policy_file(path) == {"card_data_hosts": [], "card_frame_hosts": [],
                                      "known_hosts": ["cdn.example.test", "*.fonts.example.net"],
                                      "merchant_hosts": ["pay.example.test"]}
    bad = write(tmp_path, "bad.yaml", "known_hosts:\n  - cdn.example.test\n  - https://x.test/\nblock: []\n")
    with pytest.raises(InputError) as info:
        load_policy_file(bad)
    assert info.value.problems == [
        f"{bad}:3: known_hosts[1]: 'https://x.test/' is a URL or path, not a host "
        "(write just the host, e.g. api.stripe.com)",
        f"{bad}:4: block: unknown field (allowed: card_data_hosts, card_frame_hosts, known_hosts, "
        "merchant_hosts)",
    ]


@pytest.mark.parametrize("written, ms", [("15 min", 900000), ("90 s", 90000), ("500 ms", 500), ("1h", 3600000),
                                          ("00:15:00", 900000), ("2:30", 150000), (60000, 60000), (0, 0)])
def test_settle_fast_forward_reads_durations(written, ms, tmp_path: Path) -> None:
    from audit.scenario import SettleSpec
    assert SettleSpec.model_validate({"fast_forward": written}).fast_forward == ms


@pytest.mark.parametrize("settle, problem", [
    ("{fast_forward: soon}", "settle.fast_forward: not a duration: 'soon'"),
    ("{quiet_ms: 60000}", "settle.quiet_ms: input should be less than or equal to 30000"),
    ("{on_bound: ignore}", "settle.on_bound: input should be 'inconclusive' or 'judge'"),
    ("{later: 1}", "settle.later: unknown field"),
])
def test_bad_settle_is_refused_with_its_line(settle: str, problem: str, tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(f"name: x\nprocessor: stripe\nstart_url: https://a.example.test/\nsettle: {settle}\n"
                    "steps:\n  - click: '#a'\n")
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert any(line.startswith(f"{path}:4: {problem}") for line in info.value.problems), info.value.problems
