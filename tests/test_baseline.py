"""Script inventory and header baseline (PCI DSS 6.4.3, 11.6.1): pure comparison tables, then the
CLI against the demo world in real Chromium: approve a clean run, re-run it with the baseline, and
catch a changed script, an unapproved script and a changed header."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from audit.baseline import Baseline, approve, compare, describe_header_change, load_baseline
from audit.errors import InputError
from audit.evidence import Card, Evidence, ScriptRecord
from conftest import ROOT, run_cli

SCENARIOS = ROOT / "scenarios"
PAGE = "https://shop.example.test/pay"
INVOICE_JS = "https://invoices.example.test/static/invoice.js"


def sri(text: str) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(text.encode()).digest()).decode()


def evidence(scripts: list[tuple[str, str | None, str]], headers: dict[str, str] | None = None) -> Evidence:
    return Evidence(scenario_name="t", scenario_file="t.yaml", processor="stripe", start_url=PAGE,
                    card=Card("4242424242424242"), started_at="2026-01-01T00:00:00+00:00", completed=True,
                    scripts=tuple(ScriptRecord(url=u, frame_url=f, sha384=sri(body)) for u, f, body in scripts),
                    page_headers=headers if headers is not None else {"content-security-policy": "script-src 'self'"})


def baseline(scripts: list[tuple[str, str]], headers: dict[str, str | None] | None = None) -> Baseline:
    return Baseline.model_validate({
        "schema": "card-audit/baseline/v1", "page": PAGE, "processor_hosts": ["js.stripe.com"],
        "scripts": [{"url": u, "sha384": sri(body)} for u, body in scripts],
        "headers": headers if headers is not None else {"content-security-policy": "script-src 'self'"}})


APP = "https://shop.example.test/app.js"
STRIPE = "https://js.stripe.com/v3/"
INNER = "https://js.stripe.com/v3/inner.js"


@pytest.mark.parametrize("run_scripts, approved, want_rules, want_rows", [
    # identical: nothing to say
    ([(APP, PAGE, "a1")], [(APP, "a1")], [], [(APP, "same")]),
    # same URL, other bytes
    ([(APP, PAGE, "a2")], [(APP, "a1")], ["script-changed"], [(APP, "changed")]),
    # a URL the baseline never saw
    ([(APP, PAGE, "a1"), (STRIPE, PAGE, "s")], [(APP, "a1")], ["script-not-in-baseline"],
     [(APP, "same"), (STRIPE, "new")]),
    # a URL approved with two builds: either one is fine; the other build is not "missing"
    ([(APP, PAGE, "a2")], [(APP, "a1"), (APP, "a2")], [], [(APP, "same")]),
    # an approved script that did not run is listed, not flagged
    ([(APP, PAGE, "a1")], [(APP, "a1"), (STRIPE, "s")], [], [(APP, "same"), (STRIPE, "missing")]),
    # scripts inside the processor's frame are the processor's scope, never compared
    ([(APP, PAGE, "a1"), (INNER, "https://js.stripe.com/v3/frame.html", "x")], [(APP, "a1")], [],
     [(APP, "same")]),
    # inline scripts are matched by hash: another inline script is "new", never "changed"
    ([("inline", PAGE, "i1")], [("inline", "i1")], [], [("inline", "same")]),
    ([("inline", PAGE, "i2")], [("inline", "i1")], ["script-not-in-baseline"],
     [("inline", "missing"), ("inline", "new")]),
    # the same script seen twice (two snapshots) is one row
    ([(APP, PAGE, "a1"), (APP, PAGE, "a1")], [(APP, "a1")], [], [(APP, "same")]),
])
def test_compare_scripts(run_scripts, approved, want_rules, want_rows):
    findings, view = compare(evidence(run_scripts), baseline(approved))
    assert sorted(f.rule for f in findings) == sorted(want_rules)
    assert all(f.severity == "high" for f in findings)
    assert sorted((r["url"], r["status"]) for r in view["scripts"]) == sorted(want_rows)


CSP = "content-security-policy"


@pytest.mark.parametrize("run_headers, approved, want", [
    ({CSP: "script-src 'self'"}, {CSP: "script-src 'self'"}, {CSP: "same"}),
    # names are case-insensitive in the baseline file
    ({CSP: "script-src 'self'"}, {"Content-Security-Policy": "script-src 'self'"}, {CSP: "same"}),
    ({CSP: "script-src 'self' https://evil.example"}, {CSP: "script-src 'self'"}, {CSP: "changed"}),
    # a per-response nonce is not a change
    ({CSP: "script-src 'nonce-AAAA'"}, {CSP: "script-src 'nonce-BBBB'"}, {CSP: "same"}),
    # a security header that appeared, or disappeared
    ({CSP: "x", "x-frame-options": "DENY"}, {CSP: "x"}, {CSP: "same", "x-frame-options": "changed"}),
    ({"cache-control": "no-store"}, {CSP: "x"}, {CSP: "changed"}),
    # headers that are not security-relevant are ignored
    ({CSP: "x", "date": "today"}, {CSP: "x"}, {CSP: "same"}),
    # the page's response was never recorded: nothing to compare, no finding
    ({}, {CSP: "x"}, {CSP: "not-recorded"}),
])
def test_compare_headers(run_headers, approved, want):
    findings, view = compare(evidence([], run_headers), baseline([], approved))
    assert {h["name"]: h["status"] for h in view["headers"]} == want
    changed = sorted(name for name, status in want.items() if status == "changed")
    assert [f.rule for f in findings] == ["header-changed"] * len(changed)
    assert all(f.severity == "medium" and f.url == PAGE for f in findings)


@pytest.mark.parametrize("name, before, after, want", [
    ("content-security-policy", "script-src 'self'", "script-src 'self' https://evil.example",
     "script-src allows https://evil.example"),
    ("content-security-policy", "script-src 'self'; connect-src 'self'", "script-src 'self'",
     "connect-src removed"),
    ("content-security-policy", "script-src 'self' https://a", "script-src 'self'; frame-src https://b",
     "frame-src added: https://b; script-src no longer allows https://a"),
    ("content-security-policy", "script-src 'self';  img-src *", "img-src *; script-src 'self'",
     "the same directives, rewritten"),
    ("x-frame-options", "DENY", "SAMEORIGIN", "'DENY' → 'SAMEORIGIN'"),
    ("x-frame-options", None, "DENY", "added ('DENY')"),
    ("x-frame-options", "DENY", None, "removed (was 'DENY')"),
])
def test_describe_header_change(name, before, after, want):
    assert describe_header_change(name, before, after) == want


def _result(verdict: str) -> dict[str, Any]:
    return {"verdict": verdict, "start_url": PAGE, "scenario": {"file": "s.yaml"},
            # as a run with the Stripe profile records it; card_frame_hosts may also hold hosts a
            # scenario allowed, which do not make their frames the processor's
            "policy": {"processor_hosts": ["js.stripe.com", "*.js.stripe.com"],
                       "card_frame_hosts": ["js.stripe.com", "*.js.stripe.com", "pay.shop.example"]},
            "scripts": [{"url": APP, "frame_url": PAGE, "sha384": sri("a")},
                        {"url": APP, "frame_url": PAGE, "sha384": sri("a")},
                        {"url": INNER, "frame_url": "https://x.js.stripe.com/f.html", "sha384": sri("i")}],
            "page_headers": {"Content-Security-Policy": "script-src 'self' 'nonce-abc'", "Date": "now"}}


def test_approve_writes_a_loadable_inventory(tmp_path):
    out = tmp_path / "b.yaml"
    assert approve(_result("pass"), out) == 1   # duplicates and processor-frame scripts left out
    loaded = load_baseline(out)
    assert [(s.url, s.justification, s.owner) for s in loaded.scripts] == [(APP, "", "")]
    assert loaded.headers == {"content-security-policy": "script-src 'self' 'nonce-*'"}
    assert loaded.file == str(out) and loaded.page == PAGE
    assert "*.js.stripe.com" in loaded.processor_hosts


@pytest.mark.parametrize("verdict", ["fail", "inconclusive"])
def test_approve_refuses_a_run_that_did_not_pass(verdict, tmp_path):
    with pytest.raises(InputError, match="only a passing run"):
        approve(_result(verdict), tmp_path / "b.yaml")
    assert not (tmp_path / "b.yaml").exists()


@pytest.mark.parametrize("text, want", [
    ("schema: card-audit/baseline/v9\n", ":1: schema: input should be 'card-audit/baseline/v1'"),
    ("scripts:\n  - url: https://a/x.js\n    sha384: md5-abc\n", ":3: scripts[0].sha384: must be a SHA-384"),
    ("scripts:\n  - url: https://a/x.js\n    sha384: sha384-AAAA\n", ":3: scripts[0].sha384: must be a SHA-384"),
    ("scripts:\n  - sha384: " + sri("x") + "\n", ":2: scripts[0].url: required field is missing"),
    ("scripts:\n  - url: x\n    sha384: " + sri("x") + "\n    justifcation: y\n",
     ":4: scripts[0].justifcation: unknown field (did you mean 'justification'?)"),
    ("headers: [a]\n", ":1: headers: input should be a valid dictionary"),
    ("page: [\n", ": (yaml): "),
])
def test_malformed_baseline_is_an_input_error_with_file_and_line(text, want, tmp_path):
    path = tmp_path / "baseline.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        load_baseline(path)
    assert any(line.startswith(str(path)) and want in line for line in err.value.problems), err.value.problems


# -- end to end, real Chromium against the demo world -----------------------------------------------
@pytest.fixture(scope="module")
def approved(tmp_path_factory) -> dict[str, Any]:
    """A clean run of invoice 1001 and the baseline approved from it."""
    top = tmp_path_factory.mktemp("baseline")
    clean = run_cli("run", SCENARIOS / "demo-stripe.yaml", out=top / "clean")
    assert clean.code == 0, clean.stderr
    path = top / "baseline.yaml"
    approval = run_cli("baseline", "approve", clean.out / "result.json", "-o", path)
    assert approval.code == 0, approval.stderr
    return {"clean": clean, "path": path, "doc": yaml.safe_load(path.read_text()), "top": top}


def test_approve_lists_the_payment_page_scripts_and_headers(approved):
    doc = approved["doc"]
    assert doc["schema"] == "card-audit/baseline/v1"
    assert doc["page"] == "https://invoices.example.test/invoice/1001"
    urls = {s["url"] for s in doc["scripts"]}
    # the merchant page's own scripts and Stripe.js as loaded by it; not the scripts inside
    # Stripe's frames (js.stripe.com, m.stripe.network), which are Stripe's PCI scope
    assert urls == {INVOICE_JS, "https://invoices.example.test/static/pay-stripe-elements.js",
                    "https://js.stripe.com/v3/"}
    recorded = {s["url"]: s["sha384"] for s in approved["clean"].result["scripts"]}
    assert all(s["sha384"] == recorded[s["url"]] and s["justification"] == "" and s["owner"] == ""
               and s["frame_url"] == doc["page"] for s in doc["scripts"])
    assert doc["headers"]["content-security-policy"].startswith("default-src 'self'")
    assert "date" not in doc["headers"] and "strict-transport-security" in doc["headers"]


def test_rerun_with_its_own_baseline_has_no_baseline_findings(approved, tmp_path):
    run = run_cli("run", SCENARIOS / "demo-stripe.yaml", "--baseline", approved["path"], out=tmp_path)
    assert run.code == 0, run.stderr
    result = run.result
    assert not [f for f in result["findings"] if "baseline" in f["rule"] or f["rule"].endswith("-changed")]
    view = result["baseline"]
    assert view["file"] == str(approved["path"])
    assert {r["status"] for r in view["scripts"]} == {"same"}
    assert {r["url"] for r in view["scripts"]} == {s["url"] for s in approved["doc"]["scripts"]}
    assert {h["status"] for h in view["headers"]} == {"same"}
    assert "Against the baseline" in (tmp_path / "report.html").read_text()


def _edited(approved: dict[str, Any], tmp_path: Path, how: str) -> Path:
    doc = yaml.safe_load(approved["path"].read_text())
    entry = next(s for s in doc["scripts"] if s["url"] == INVOICE_JS)
    if how == "sha":
        entry["sha384"] = sri("an older build of invoice.js")
    elif how == "delete":
        doc["scripts"].remove(entry)
    elif how == "csp":
        doc["headers"]["content-security-policy"] = doc["headers"]["content-security-policy"].replace(
            "connect-src 'self' https://api.stripe.com", "connect-src 'self' https://api.stripe.com https://old.example")
        assert "old.example" in doc["headers"]["content-security-policy"]
    path = tmp_path / f"baseline-{how}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


EDITS = [("sha", "script-changed", "high", 1), ("delete", "script-not-in-baseline", "high", 1),
         ("csp", "header-changed", "medium", 0)]


@pytest.mark.parametrize("how, rule, severity, code", EDITS)
def test_run_catches_a_change_against_the_baseline(approved, tmp_path, how, rule, severity, code):
    path = _edited(approved, tmp_path, how)
    run = run_cli("run", SCENARIOS / "demo-stripe.yaml", "--baseline", path, out=tmp_path / "out")
    assert run.code == code, run.stderr
    found = [f for f in run.result["findings"] if f["rule"] in ("script-changed", "script-not-in-baseline",
                                                                  "header-changed")]
    assert [(f["rule"], f["severity"]) for f in found] == [(rule, severity)]
    assert run.result["verdict"] == ("fail" if code else "pass")
    if how == "csp":
        assert "connect-src no longer allows https://old.example" in found[0]["message"]
        assert {h["name"]: h["status"] for h in run.result["baseline"]["headers"]}["content-security-policy"] == "changed"
    else:
        assert found[0]["url"] == INVOICE_JS and rule in run.stderr
        row = next(r for r in run.result["baseline"]["scripts"] if r["url"] == INVOICE_JS)
        assert row["status"] == ("changed" if how == "sha" else "new")


@pytest.mark.parametrize("how, rule, severity, code", EDITS)
def test_check_rejudges_a_recorded_run_against_the_baseline(approved, tmp_path, how, rule, severity, code):
    path = _edited(approved, tmp_path, how)
    run = run_cli("check", approved["clean"].out / "result.json", "--baseline", path, out=tmp_path / "out")
    assert run.code == code, run.stderr
    found = [f for f in run.result["findings"] if f["severity"] != "low"]
    assert [(f["rule"], f["severity"]) for f in found] == [(rule, severity)]
    assert run.result["baseline"]["file"] == str(path)


@pytest.fixture(scope="module")
def leaky(tmp_path_factory):
    return run_cli("run", SCENARIOS / "demo-stripe-leaky.yaml", out=tmp_path_factory.mktemp("leaky"))


def test_a_different_page_against_the_baseline_shows_what_changed(approved, leaky, tmp_path):
    """Invoice 1002 (a session-replay script, another Stripe.js, a wider CSP) judged against the
    baseline approved from invoice 1001: real differences, not edited ones."""
    assert leaky.code == 1
    run = run_cli("check", leaky.out / "result.json", "--baseline", approved["path"], out=tmp_path)
    assert run.code == 1
    new = {f["url"] for f in run.result["findings"] if f["rule"] == "script-not-in-baseline"}
    assert "https://stats.example.net/capture.js" in new and "https://js.stripe.com/v2/" in new
    assert INVOICE_JS not in new  # the script both pages share is the approved one
    csp = next(f for f in run.result["findings"] if f["rule"] == "header-changed")
    assert "script-src allows https://stats.example.net" in csp["message"]
    missing = {r["url"] for r in run.result["baseline"]["scripts"] if r["status"] == "missing"}
    assert "https://js.stripe.com/v3/" in missing


def test_approving_a_failing_run_is_refused(leaky, tmp_path):
    run = run_cli("baseline", "approve", leaky.out / "result.json", "-o", tmp_path / "b.yaml")
    assert run.code == 2 and "only a passing run" in run.stderr
    assert not (tmp_path / "b.yaml").exists()


@pytest.mark.parametrize("command", ["run", "check"])
def test_malformed_baseline_exits_2_before_anything_runs(approved, tmp_path, command):
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema: card-audit/baseline/v1\nscripts:\n  - url: " + INVOICE_JS + "\n    sha384: nope\n")
    target = SCENARIOS / "demo-stripe.yaml" if command == "run" else approved["clean"].out / "result.json"
    run = run_cli(command, target, "--baseline", bad, out=tmp_path / "out")
    assert run.code == 2
    assert f"{bad}:4: scripts[0].sha384: must be a SHA-384" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "out" / "result.json").exists()
