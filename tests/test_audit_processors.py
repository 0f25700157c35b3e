"""End to end: Square and PayPal flows, popups, and the ad-blocker view (issue: processors)."""

from __future__ import annotations

import json

import pytest

from audit.hosts import matches_any
from conftest import ROOT, run_cli, write_scenario

SCENARIOS = ROOT / "scenarios"


@pytest.mark.parametrize("stem, card_host", [
    ("demo-square", "pci-connect.squareup.com"),
    ("demo-paypal-card-fields", "www.paypal.com"),
])
def test_clean_processor_scenarios_pass(stem, card_host, tmp_path):
    run = run_cli("run", SCENARIOS / f"{stem}.yaml", out=tmp_path)
    assert run.code == 0, run.stderr
    result = run.result
    assert {r["host"] for r in result["requests"] if "number" in r["card_fields"]} == {card_host}
    typed = {f["host"] for f in result["frames"] if "number" in f["typed_fields"]}
    assert typed and all(matches_any(h, result["policy"]["card_frame_hosts"]) for h in typed)
    assert all(f["allowed"] for f in result["frames"] if f["typed_fields"])


@pytest.mark.parametrize("stem, host, channel, encoding", [
    ("demo-square-leaky", "stats.example.net", "beacon", "url"),
    ("demo-paypal-skimmed", "cdn.example-analytics.net", "http", "hex"),
])
def test_leaky_processor_scenarios_fail_naming_the_receiver(stem, host, channel, encoding, tmp_path):
    run = run_cli("run", SCENARIOS / f"{stem}.yaml", out=tmp_path)
    assert run.code == 1, run.stderr
    egress = [f for f in run.result["findings"] if f["rule"] == "card-data-egress" and f["field"] == "number"]
    assert [(f["host"], f["channel"], f["encoding"]) for f in egress] == [(host, channel, encoding)]
    assert host in run.stderr


def test_paypal_popup_card_entry_is_attributed_to_the_popup(tmp_path):
    run = run_cli("run", SCENARIOS / "demo-paypal.yaml", out=tmp_path)
    assert run.code == 0, run.stderr
    result = run.result
    typed = [f for f in result["frames"] if "number" in f["typed_fields"]]
    assert [(f["host"], f["page"], f["parent"]) for f in typed] == [("www.paypal.com", 1, None)]
    carriers = [r for r in result["requests"] if "number" in r["card_fields"]]
    assert carriers and all(r["host"] == "www.paypal.com" and r["from"] == "popup" and r["page"] == 1
                            for r in carriers)
    assert any(r["page"] == 0 and r["from"] == "page" for r in result["requests"])
    assert "popup opened" in run.stderr


def test_adblocked_stripe_run_lists_blocked_urls_and_never_passes(tmp_path):
    run = run_cli("run", SCENARIOS / "demo-stripe.yaml", "--adblock", "processor", out=tmp_path)
    assert run.code == 1, run.stderr  # the payment could not complete: a high finding, never 0
    result = run.result
    blocked = [r for r in result["requests"] if r["blocked_by_client"]]
    assert blocked and all(r["host"].endswith("stripe.com") for r in blocked)
    assert "https://js.stripe.com/v3/" in {r["url"] for r in blocked}
    assert all("ERR_BLOCKED_BY_CLIENT" in r["failure"] for r in blocked)
    rules = {f["rule"]: f for f in result["findings"]}
    assert rules["processor-blocked-by-client"]["severity"] == "high"
    assert rules["processor-blocked-by-client"]["host"] == "js.stripe.com"
    assert any(c["blocked_by_client"] for c in result["console"])
    assert not result["flow"]["completed"]
    html = (tmp_path / "report.html").read_text()
    assert "js.stripe.com/v3/" in html and "ERR_BLOCKED_BY_CLIENT" in html


def test_run_of_the_scenario_folder_writes_an_index(tmp_path):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    for stem in ("demo-stripe", "demo-square-leaky"):
        (folder / f"{stem}.yaml").write_text((SCENARIOS / f"{stem}.yaml").read_text())
    run = run_cli("run", folder, out=tmp_path / "out")
    assert run.code == 1, run.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert {s["verdict"] for s in summary["scenarios"]} == {"pass", "fail"}
    assert (tmp_path / "out" / "index.html").exists()
    assert (tmp_path / "out" / "demo-stripe" / "report.html").exists()


def test_filter_list_blocking_merchant_analytics_leaves_the_payment_passing(tmp_path):
    scenario = write_scenario(tmp_path / "filtered.yaml", f"""
name: Invoice 1004 with an analytics-blocking filter list
processor: stripe
start_url: https://invoices.example.test/invoice/1004
demo: true
adblock:
  filter_list: {ROOT / "tests/data/lists/block-analytics.txt"}
steps:
  - click: text=Pay Invoice
  - fill_card: {{}}
  - click: "#submit-payment"
  - wait_for: {{text: Payment received}}
policy:
  known_hosts: [stats.example.net]
""")
    run = run_cli("run", scenario, out=tmp_path / "out")
    assert run.code == 0, run.stderr
    result = run.result
    blocked = {r["host"] for r in result["requests"] if r["blocked_by_client"]}
    assert blocked == {"stats.example.net"}  # the script itself, stopped by the list
    assert result["adblock"] and result["flow"]["completed"]
    assert "processor-blocked-by-client" not in {f["rule"] for f in result["findings"]}
    assert {r["host"] for r in result["requests"] if "number" in r["card_fields"]} == {"api.stripe.com"}


def test_invoice_options_switch_makes_the_invoice_pay_through_square(tmp_path):
    run = run_cli("run", SCENARIOS / "demo-options-square.yaml", out=tmp_path)
    assert run.code == 0, run.stderr
    result = run.result
    assert [f["host"] for f in result["frames"] if "number" in f["typed_fields"]] == ["web.squarecdn.com"]
    assert {r["host"] for r in result["requests"] if "number" in r["card_fields"]} == {"pci-connect.squareup.com"}
    loaded = {s["url"] for s in result["scripts"]}
    assert "https://web.squarecdn.com/v1/square.js" in loaded and "https://js.stripe.com/v3/" not in loaded
