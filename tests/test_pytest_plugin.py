"""The pytest plugin, tested the way pytest-playwright tests itself: `pytester` writes a throwaway
test module that uses pytest-playwright's `page` fixture and `card_audit`, and runs it in a
subprocess against the demo world, which this (outer) test serves."""

from __future__ import annotations

import importlib.metadata
import json
import sys
import tomllib
from pathlib import Path

import pytest

from audit.browser import QUIET_ARGS, STEALTH_ARGS, find_browser
from audit.demo import DemoWorld
from conftest import ROOT

pytest_plugins = ["pytester"]


def _plugin_args() -> list[str]:
    """Where the project is installed (setup.sh's venv) the `pytest11` entry point loads the plugin
    in every session; in a plain checkout it is named explicitly (naming it twice is an error)."""
    names = {ep.name for ep in importlib.metadata.entry_points(group="pytest11")}
    return [] if "card_audit" in names else ["-p", "audit.pytest_plugin"]


@pytest.fixture(scope="module")
def world():
    with DemoWorld() as w:
        yield w


@pytest.fixture
def audit_pytester(pytester: pytest.Pytester, world: DemoWorld, monkeypatch) -> pytest.Pytester:
    """A pytester whose conftest points pytest-playwright's Chromium at the demo world."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    args = [*QUIET_ARGS, *STEALTH_ARGS, f"--host-resolver-rules={world.resolver_rules()}",
            f"--ignore-certificate-errors-spki-list={world.spki_sha256}"]
    pytester.makeconftest(f"""
import pytest

@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # pytest-playwright looks for its own browser download; this machine's Chromium is named here.
    return {{**browser_type_launch_args, "executable_path": {find_browser()!r}, "args": {args!r}}}
""")
    return pytester


PAY_INVOICE = """
def test_pay_invoice_{invoice}(page, card_audit):
    page.goto("https://invoices.example.test/invoice/{invoice}")
    page.get_by_text("Pay Invoice").click()
    page.fill("#cardholder-name", card_audit.card.name)
    card_audit.fill_card()
    page.click("#submit-payment")
    page.get_by_text("Payment received").wait_for()
    card_audit.assert_no_card_egress()
"""


def _results(root: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in (root / "reports/pytest").glob("*/result.json")}


def test_clean_invoice_passes_and_writes_its_result(audit_pytester: pytest.Pytester):
    audit_pytester.makepyfile(PAY_INVOICE.format(invoice="1001"))
    run = audit_pytester.runpytest_subprocess(*_plugin_args(), "--card-audit-known-host", "cdn.example.test",
                                              timeout=180)
    run.assert_outcomes(passed=1)
    (slug, result), = _results(audit_pytester.path).items()
    assert "test_pay_invoice_1001" in slug  # one folder per test, named by its node id
    assert result["verdict"] == "pass" and result["findings"] == []
    assert result["start_url"] == "https://invoices.example.test/invoice/1001"
    assert result["summary"]["card_receivers"] == {"api.stripe.com": 1}
    assert [f["host"] for f in result["frames"] if "number" in f["typed_fields"]] == ["js.stripe.com"]
    assert result["flow"]["steps"][0]["action"] == "fill_card" and result["flow"]["steps"][0]["ok"]
    assert (audit_pytester.path / "reports/pytest" / slug / "report.html").stat().st_size > 0


def test_leaky_invoice_fails_naming_the_finding(audit_pytester: pytest.Pytester):
    audit_pytester.makepyfile(PAY_INVOICE.format(invoice="1002"))
    run = audit_pytester.runpytest_subprocess(*_plugin_args(), "--card-audit-out", "out", timeout=180)
    run.assert_outcomes(failed=1)
    run.stdout.fnmatch_lines(["*card-audit found * problem(s):*",
                              "*critical: card-data-egress: card number (base64) sent to stats.example.net*"])
    result = json.loads(next((audit_pytester.path / "out").glob("*/result.json")).read_text())
    assert result["verdict"] == "fail"
    assert {f["host"] for f in result["findings"] if f["rule"] == "card-data-egress"} >= {
        "stats.example.net", "invoices.example.test"}


def test_untyped_canary_fails_closed(audit_pytester: pytest.Pytester):
    audit_pytester.makepyfile("""
def test_never_types(page, card_audit):
    page.goto("https://invoices.example.test/invoice/1001")
    card_audit.assert_no_card_egress()
""")
    run = audit_pytester.runpytest_subprocess(*_plugin_args(), timeout=180)
    run.assert_outcomes(failed=1)
    run.stdout.fnmatch_lines(["*the canary card was never typed*"])


def test_options_are_grouped_under_card_audit(pytester: pytest.Pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    run = pytester.runpytest_subprocess(*_plugin_args(), "--help")
    text = run.stdout.str()
    group = text[text.index("card-audit: where card data goes"):]
    for option in ("--card-audit-processor", "--card-audit-out", "--card-audit-settle-ms",
                   "--card-audit-known-host"):
        assert option in group


def test_sessions_that_do_not_use_card_audit_are_untouched(pytester: pytest.Pytester, monkeypatch):
    """The plugin is loaded in every session where it is installed: without pytest-playwright and
    without any test asking for `card_audit`, it imports no Playwright and writes nothing."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makepyfile("""
import sys

def test_plain():
    assert "audit.pytest_plugin" in sys.modules
    assert not [m for m in sys.modules if m == "playwright" or m.startswith("playwright.")]
    assert "audit.capture" not in sys.modules
""")
    run = pytester.runpytest_subprocess(*_plugin_args(), "-p", "no:playwright")
    run.assert_outcomes(passed=1)
    assert not (pytester.path / "reports").exists()


def test_the_entry_point_is_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["pytest11"] == {"card_audit": "audit.pytest_plugin"}
