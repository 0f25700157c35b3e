"""End to end: the CLI audits the bundled Stripe invoices in real Chromium (issue: the spine)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT, run_cli, write_scenario

SCENARIOS = ROOT / "scenarios"


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return run_cli("run", SCENARIOS / "demo-stripe.yaml", out=tmp_path_factory.mktemp("clean"))


@pytest.fixture(scope="module")
def leaky(tmp_path_factory):
    return run_cli("run", SCENARIOS / "demo-stripe-leaky.yaml", out=tmp_path_factory.mktemp("leaky"))


def test_clean_stripe_invoice_passes_with_card_only_at_api_stripe(clean):
    assert clean.code == 0, clean.stderr
    result = clean.result
    assert result["schema"] == "card-audit/result/v1"
    assert result["verdict"] == "pass" and result["flow"]["completed"]
    carriers = {r["host"] for r in result["requests"] if "number" in r["card_fields"]}
    assert carriers == {"api.stripe.com"}
    assert result["summary"]["card_receivers"] == {"api.stripe.com": 1}
    typed = [f for f in result["frames"] if "number" in f["typed_fields"]]
    assert [f["host"] for f in typed] == ["js.stripe.com"]
    assert not [f for f in result["findings"] if f["severity"] in ("critical", "high")]
    # the outputs a person and a CI system read
    for name in ("report.html", "evidence.har", "junit.xml", "results.sarif"):
        assert (clean.out / name).stat().st_size > 0, name
    # a picture after every step, for the reviewer
    assert all(s["screenshot"] and (clean.out / s["screenshot"]).exists() for s in result["flow"]["steps"])
    assert "PASS" in clean.stderr and "report.html" in clean.stderr
    assert "step 1/" in clean.stderr  # progress, one line per step


def test_clean_run_records_every_frame_script_and_the_canary(clean):
    result = clean.result
    assert result["card"]["number"] == "4000056655665556"  # the canary stays readable
    hosts = {r["host"] for r in result["requests"]}
    assert {"invoices.example.test", "js.stripe.com", "api.stripe.com", "r.stripe.com"} <= hosts
    iframe_requests = [r for r in result["requests"] if r["from"] == "iframe"]
    assert iframe_requests and all(r["frame_url"] for r in iframe_requests)
    stripe_js = [s for s in result["scripts"] if s["url"] == "https://js.stripe.com/v3/"]
    assert stripe_js and stripe_js[0]["sha384"].startswith("sha384-")
    assert all(s["sha384"].startswith("sha384-") and s["frame_url"] for s in result["scripts"])
    assert "https://invoices.example.test/static/invoice.js" in {s["url"] for s in result["scripts"]}


def test_leaky_variant_fails_naming_host_and_encoding(leaky):
    assert leaky.code == 1, leaky.stderr
    egress = [f for f in leaky.result["findings"] if f["rule"] == "card-data-egress"]
    by_host = {(f["host"], f["field"]): f for f in egress}
    assert by_host[("stats.example.net", "number")]["encoding"] == "base64"
    assert by_host[("stats.example.net", "number")]["severity"] == "critical"
    assert by_host[("invoices.example.test", "number")]["encoding"] in ("plain", "json")
    # the script that sent it, from the instrumented call's stack
    assert by_host[("stats.example.net", "number")]["script"] == "https://stats.example.net/capture.js"
    assert all(f["request_id"] for f in egress)
    assert "card-data-egress" in leaky.stderr and "stats.example.net" in leaky.stderr


def test_leaky_sarif_points_at_the_scenario_file_and_step(leaky):
    """GitHub code scanning accepts only repository paths: every location is the scenario file,
    at the line of the step during which the card left; the URL stays in properties."""
    import json
    from urllib.parse import urlsplit
    from sarif_kit.validate import validation_errors

    doc = json.loads((leaky.out / "results.sarif").read_text())
    assert validation_errors(doc) == []
    results = doc["runs"][0]["results"]
    assert len(results) == len(leaky.result["findings"]) >= 3
    lines = (SCENARIOS / "demo-stripe-leaky.yaml").read_text().splitlines()
    for res in results:
        (loc,) = res["locations"]
        art = loc["physicalLocation"]["artifactLocation"]
        assert art == {"uri": "scenarios/demo-stripe-leaky.yaml", "uriBaseId": "%SRCROOT%"}
        assert not urlsplit(art["uri"]).scheme and (ROOT / art["uri"]).is_file()
        assert 6 <= loc["physicalLocation"]["region"]["startLine"] <= 13
    egress = {(r["properties"]["host"], r["properties"]["field"]): r for r in results
              if r["ruleId"] == "card-data-egress"}
    merchant = egress[("invoices.example.test", "number")]
    # the pay call posts the number when the payer submits: the line of that click
    assert lines[merchant["locations"][0]["physicalLocation"]["region"]["startLine"] - 1].strip() \
        == '- click: "#submit-payment"'
    assert merchant["properties"]["url"].startswith("https://invoices.example.test/")
    assert {"name": "invoices.example.test", "kind": "host"} in merchant["locations"][0]["logicalLocations"]
    outside = [r for r in results if r["ruleId"] == "card-field-outside-processor"]
    assert outside and all(lines[r["locations"][0]["physicalLocation"]["region"]["startLine"] - 1].strip()
                           == "- fill_card: {}" for r in outside)


def test_merchant_hosted_card_form_is_outside_the_processor(tmp_path):
    scenario = write_scenario(tmp_path / "card-form.yaml", """
name: Invoice 1003, merchant-hosted card form
processor: stripe
start_url: https://invoices.example.test/invoice/1003
demo: true
steps:
  - click: text=Pay Invoice
  - fill_card: {}
  - click: "#submit-payment"
  - wait_for: {text: Payment received}
""")
    run = run_cli("run", scenario, out=tmp_path / "out")
    assert run.code == 1, run.stderr
    rules = {f["rule"] for f in run.result["findings"]}
    assert "card-field-outside-processor" in rules
    assert "card-data-egress" not in rules  # the card itself went only to api.stripe.com
    finding = next(f for f in run.result["findings"] if f["rule"] == "card-field-outside-processor")
    assert finding["host"] == "invoices.example.test"


@pytest.mark.parametrize("name, expected", [
    ("bad-yaml-syntax.yaml", "bad-yaml-syntax.yaml:7: (yaml): "),
    ("bad-unknown-key.yaml", "bad-unknown-key.yaml:5: tls.ignore_error: unknown field"),
    ("bad-missing-name.yaml", "bad-missing-name.yaml:1: name: required field is missing"),
])
def test_bad_scenarios_exit_2_with_file_and_line(name, expected, tmp_path):
    run = run_cli("run", ROOT / "tests/data/scenarios" / name, out=tmp_path)
    assert run.code == 2
    assert expected in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "result.json").exists()  # refused before any browser started


def test_unreachable_start_page_is_inconclusive(tmp_path):
    scenario = write_scenario(tmp_path / "gone.yaml", """
name: Unreachable invoice
processor: stripe
start_url: https://nowhere.example.test/invoice/1
demo: true
steps:
  - click: text=Pay Invoice
""")
    run = run_cli("run", scenario, out=tmp_path / "out")
    assert run.code == 3, run.stderr
    result = run.result
    assert result["verdict"] == "inconclusive" and not result["flow"]["completed"]
    assert "ERR_NAME_NOT_RESOLVED" in result["flow"]["steps"][0]["error"]
    assert (tmp_path / "out" / "report.html").exists()


def test_step_that_times_out_is_inconclusive_with_a_screenshot(tmp_path):
    scenario = write_scenario(tmp_path / "slow.yaml", """
name: Receipt never shows
processor: stripe
start_url: https://invoices.example.test/invoice/1001
demo: true
settle_ms: 200
steps:
  - click: text=Pay Invoice
  - wait_for: {text: This text is never on the page, timeout_ms: 1500}
""")
    run = run_cli("run", scenario, out=tmp_path / "out")
    assert run.code == 3, run.stderr
    failed = run.result["flow"]["steps"][-1]
    assert not failed["ok"] and "1500" in failed["error"]
    assert failed["screenshot"] and (tmp_path / "out" / failed["screenshot"]).exists()


def test_missing_browser_is_an_input_error(tmp_path):
    run = run_cli("run", SCENARIOS / "demo-stripe.yaml", "--browser-path", "/nonexistent/chrome", out=tmp_path)
    assert run.code == 2
    assert "browser not found" in run.stderr


def test_check_rejudges_recorded_evidence_without_a_browser(leaky, clean, tmp_path):
    assert run_cli("check", clean.out / "result.json").code == 0
    again = run_cli("check", leaky.out / "result.json")
    assert again.code == 1 and "stats.example.net" in again.stderr
    policy = tmp_path / "policy.yaml"
    policy.write_text("card_data_hosts: [stats.example.net, invoices.example.test]\n"
                      "card_frame_hosts: [invoices.example.test]\n")
    relaxed = run_cli("check", leaky.out / "result.json", "--policy", policy)
    assert relaxed.code == 0, relaxed.stderr


def test_report_rerenders_from_result(clean, tmp_path):
    run = run_cli("report", clean.out / "result.json", out=tmp_path)
    assert run.code == 0, run.stderr
    html = (tmp_path / "report.html").read_text()
    assert "Invoice 1001 paid with Stripe Elements" in html


def test_card_fields_scrolled_into_view_are_hit_tested_where_the_payer_sees_them(tmp_path):
    """A short window scrolls the card fields into view before the click: the hit test must ask the
    browser about the point the payer sees (document coordinates = viewport point + scroll), or it
    finds nothing there, or something else, and the run breaks or blames an innocent element."""
    config = tmp_path / "playwright.config.yaml"
    config.write_text("viewport: {width: 1000, height: 260}\n")
    run = run_cli("run", SCENARIOS / "demo-stripe.yaml", "--config", config, out=tmp_path / "out")
    assert run.code == 0, run.stderr[-3000:]
    result = run.result
    assert not [f for f in result["findings"] if f["rule"] == "card-field-obscured"]
    keys = result["keystrokes"]
    assert {k["field"] for k in keys} >= {"number", "cvc"}
    card = [k for k in keys if k["field"] in ("number", "expiry", "cvc")]
    assert all(k["landed_host"] == "js.stripe.com" and not k["covered_by"] for k in card), card
