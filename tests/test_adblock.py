"""The payer's real ad blocker: filter lists, the rule behind each stop, element hiding, the matrix.

Browser tests use the filter lists of Debian's webext-ublock-origin-chromium when installed, else
tests/data/lists/easyprivacy-excerpt.txt (EasyPrivacy's processor filters, same syntax), handed
to the CLI through $CARD_AUDIT_FILTER_LISTS, so that they pass on any machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from audit import blocking
from audit.blocking import Blocker, blocker_for, packaged_lists
from audit.cli import _adblock_flag
from audit.matrix import row
from audit.scenario import load_scenario
from conftest import ROOT, CliRun, write_scenario

SCENARIOS = ROOT / "scenarios"
EXCERPT = ROOT / "tests/data/lists/easyprivacy-excerpt.txt"
PACKAGED = bool(blocking.packaged_lists())
MERCHANT = "https://invoices.example.test/invoice/1001"


def lists_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, **extra}
    if not PACKAGED:
        env[blocking.LISTS_ENV] = str(EXCERPT)
    return env


def cli(*args: str | Path, out: Path, env: dict[str, str] | None = None, timeout: float = 300) -> CliRun:
    cmd = [sys.executable, "-m", "audit", *map(str, args), "--out", str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env or lists_env())
    return CliRun(proc.returncode, proc.stdout, proc.stderr, out)


# -- the engine and its decisions (no browser) ----------------------------------------------------
@pytest.fixture(scope="module")
def excerpt() -> Blocker:
    return Blocker("lists", [], [EXCERPT])


@pytest.mark.parametrize("url, source, rtype, rule", [
    # third-party from a merchant's page: stopped; from Stripe's own m.stripe.network frame: not
    ("https://m.stripe.com/6", MERCHANT, "fetch", "||m.stripe.com^$third-party,domain=~stripe.network"),
    ("https://m.stripe.com/6", "https://m.stripe.network/inner.html", "fetch", None),
    ("https://m.stripe.com/6", "https://js.stripe.com/v3/elements-inner-card.html", "fetch", None),  # first party
    ("https://r.stripe.com/b", "https://js.stripe.com/v3/", "fetch", "||r.stripe.com^$ping,script,xmlhttprequest"),
    ("https://r.stripe.com/b", MERCHANT, "ping", "||r.stripe.com^$ping,script,xmlhttprequest"),
    ("https://r.stripe.com/b", MERCHANT, "image", None),                          # not a type the rule names
    ("https://www.paypal.com/xoplatform/logger/api/logger", MERCHANT, "fetch",
     "||paypal.com/xoplatform/logger/api/logger"),
    ("https://c.paypal.com/v1/r/d/i?f=1", "https://www.paypal.com/smart/buttons", "image", "||c.paypal.com^$image,script"),
    ("https://c.paypal.com/da/r/fb.js", MERCHANT, "script", None),                # the @@ exception
    ("https://api.stripe.com/v1/payment_methods", "https://js.stripe.com/v3/", "fetch", None),
    ("https://js.stripe.com/v3/", MERCHANT, "script", None),
])
def test_decisions_follow_the_filter_options(excerpt, url, source, rtype, rule):
    decision = excerpt.decide(url, source, rtype)
    assert (decision.rule if decision else None) == rule
    if decision:
        assert decision.list == "EasyPrivacy"


def test_child_frame_loads_are_sub_frame_requests(tmp_path):
    blocker = Blocker("lists", [], [_list(tmp_path, "||frames.example^$subdocument\n")])
    assert blocker.decide("https://frames.example/x", MERCHANT, "document", is_child_frame=True)
    assert not blocker.decide("https://frames.example/x", "https://frames.example/x", "document")


def test_engine_is_cached_by_list_hash_and_rebuilt_when_a_list_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(blocking, "_ENGINES", {})
    path = _list(tmp_path, "||ads.example^\n")
    first = Blocker("lists", [], [path])
    assert not first.from_cache
    cached = list((tmp_path / "cache" / "card-audit" / "adblock").glob("engine-*.dat"))
    assert len(cached) == 1
    monkeypatch.setattr(blocking, "_ENGINES", {})
    again = Blocker("lists", [], [path])
    assert again.from_cache and again.decide("https://ads.example/a.js", MERCHANT, "script").rule == "||ads.example^"
    path.write_text("! Title: Test list\n||other.example^\n")
    monkeypatch.setattr(blocking, "_ENGINES", {})
    changed = Blocker("lists", [], [path])
    assert not changed.from_cache and not changed.decide("https://ads.example/a.js", MERCHANT, "script")
    assert changed.decide("https://other.example/", MERCHANT, "script").list == "Test list"


def test_a_corrupt_cache_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(blocking, "_ENGINES", {})
    path = _list(tmp_path, "||ads.example^\n")
    Blocker("lists", [], [path])
    for f in (tmp_path / "cache").rglob("engine-*.dat"):
        f.write_bytes(b"not an engine")
    monkeypatch.setattr(blocking, "_ENGINES", {})
    assert Blocker("lists", [], [path]).decide("https://ads.example/", MERCHANT, "script")


def test_cosmetic_selectors_and_the_rule_behind_them(tmp_path):
    blocker = Blocker("lists", [], [_list(tmp_path, "invoices.example.test###pay-invoice\n##.ad-slot\n"
                                                    "other.example##.x\n")])
    specific, exceptions = blocker.hide_selectors(MERCHANT)
    assert specific == ["#pay-invoice"]
    assert blocker.generic_selectors(["ad-slot", "primary"], [], exceptions) == [".ad-slot"]
    assert blocker.cosmetic_origin("#pay-invoice", MERCHANT).rule == "invoices.example.test###pay-invoice"
    assert blocker.cosmetic_origin(".ad-slot", MERCHANT).list == "Test list"


def test_modes_from_flag_and_scenario(tmp_path, monkeypatch):
    monkeypatch.setenv(blocking.LISTS_ENV, "")  # no lists installed
    plain = load_scenario(SCENARIOS / "demo-stripe.yaml")
    assert blocker_for(plain, plain.profile, "auto").mode == "processor"
    assert blocker_for(plain, plain.profile, "processor").decide("https://js.stripe.com/v3/", MERCHANT, "script").list \
        == "processor hosts (stripe profile)"
    with pytest.raises(Exception, match="no filter lists found"):
        blocker_for(plain, plain.profile, "lists")
    monkeypatch.setenv(blocking.LISTS_ENV, str(EXCERPT))
    assert blocker_for(plain, plain.profile, "auto").mode == "lists"
    listed = write_scenario(tmp_path / "s.yaml", (SCENARIOS / "demo-stripe.yaml").read_text()
                            + f"adblock: {{mode: lists, lists: [{_list(tmp_path, '||x.example^')}]}}\n")
    s = load_scenario(listed)
    b = blocker_for(s, s.profile, None)
    assert b.mode == "lists" and [f.name for f in b.lists] == ["Test list"]
    short = write_scenario(tmp_path / "t.yaml", (SCENARIOS / "demo-stripe.yaml").read_text() + "adblock: true\n")
    s = load_scenario(short)
    assert blocker_for(s, s.profile, None).mode == "processor"
    assert blocker_for(s, s.profile, "lists").mode == "lists"   # the flag wins


def test_scenario_adblock_fields_are_validated(tmp_path):
    bad = write_scenario(tmp_path / "bad.yaml", (SCENARIOS / "demo-stripe.yaml").read_text()
                         + "adblock: {mode: everything, lists: [missing.txt]}\n")
    run = subprocess.run([sys.executable, "-m", "audit", "run", str(bad)], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 2
    assert "adblock.mode" in run.stderr and "adblock.lists[0]: cannot read missing.txt" in run.stderr


def test_plain_flag_before_a_scenario_is_not_its_value():
    assert _adblock_flag(["run", "--adblock", "x.yaml"]) == ["run", "--adblock=auto", "x.yaml"]
    assert _adblock_flag(["run", "x.yaml", "--adblock"]) == ["run", "x.yaml", "--adblock=auto"]
    assert _adblock_flag(["run", "--adblock", "lists", "x.yaml"]) == ["run", "--adblock", "lists", "x.yaml"]


@pytest.mark.parametrize("none, lists, code", [(True, True, 0), (True, False, 1), (False, False, 3), (False, True, 0)])
def test_matrix_row_exit_codes(none, lists, code):
    cells = {"none": {"completed": none}, "lists": {"completed": lists}, "processor": {"completed": False}}
    assert row("s", "s.yaml", "stripe", cells)["exit_code"] == code


def _list(tmp_path: Path, body: str) -> Path:
    path = tmp_path / f"list-{abs(hash(body))}.txt"
    path.write_text("! Title: Test list\n" + body)
    return path


# -- in the browser --------------------------------------------------------------------------------
def test_stripe_with_the_lists_names_the_easyprivacy_rules_and_still_pays(tmp_path):
    run = cli("run", SCENARIOS / "demo-stripe.yaml", "--adblock", "lists", out=tmp_path)
    assert run.code == 0, run.stderr
    result = run.result
    assert result["flow"]["completed"] and result["adblock_mode"] == "lists"
    blocked = {r["host"]: r for r in result["requests"] if r["blocked_by_client"]}
    assert blocked["m.stripe.com"]["blocked_rule"] == "||m.stripe.com^$third-party,domain=~stripe.network"
    assert blocked["m.stripe.com"]["frame_url"].startswith(MERCHANT)
    assert blocked["r.stripe.com"]["blocked_rule"] == "||r.stripe.com^$ping,script,xmlhttprequest"
    assert all(r["blocked_list"] == "EasyPrivacy" for h, r in blocked.items() if h in ("m.stripe.com", "r.stripe.com"))
    # the m.stripe.network frame's own signals go through (domain=~stripe.network), as do card data
    assert any(r["host"] == "m.stripe.com" and r["status"] == 200 and "m.stripe.network" in (r["frame_url"] or "")
               for r in result["requests"])
    assert not any(r["blocked_by_client"] for r in result["requests"] if r["host"] in ("api.stripe.com", "js.stripe.com"))
    findings = [f for f in result["findings"] if f["rule"] == "processor-blocked-by-client"]
    assert {f["host"] for f in findings} >= {"m.stripe.com", "r.stripe.com"}
    assert {f["severity"] for f in findings} == {"medium"} and result["verdict"] == "pass"
    lines = [c for c in result["console"] if c["blocked_by_client"]]
    assert {c["blocked_rule"] for c in lines} >= {"||m.stripe.com^$third-party,domain=~stripe.network",
                                                  "||r.stripe.com^$ping,script,xmlhttprequest"}
    html = (tmp_path / "report.html").read_text()
    assert "||m.stripe.com^$third-party,domain=~stripe.network" in html and "EasyPrivacy" in html


def test_paypal_logger_and_fraudnet_pixel_are_blocked_and_the_payment_completes(tmp_path):
    run = cli("run", SCENARIOS / "demo-paypal.yaml", "--adblock=lists", out=tmp_path)
    assert run.code == 0, run.stderr
    result = run.result
    assert result["flow"]["completed"]
    blocked = [r for r in result["requests"] if r["blocked_by_client"]]
    logger = [r for r in blocked if r["url"] == "https://www.paypal.com/xoplatform/logger/api/logger"]
    assert logger and logger[0]["blocked_rule"] == "||paypal.com/xoplatform/logger/api/logger"
    assert logger[0]["blocked_list"] == "EasyPrivacy"
    pixel = [r for r in blocked if r["host"] == "c.paypal.com"]
    assert pixel and pixel[0]["resource_type"] == "image" and pixel[0]["blocked_rule"] == "||c.paypal.com^$image,script"
    # FraudNet's POST is neither image nor script: the rule lets it through
    assert any(r["host"] == "c.paypal.com" and r["method"] == "POST" and r["status"] == 200 for r in result["requests"])
    assert {f["severity"] for f in result["findings"] if f["rule"] == "processor-blocked-by-client"} == {"medium"}


def test_a_cosmetic_rule_hiding_the_pay_button_stops_the_payment_high(tmp_path):
    hide = tmp_path / "hide-pay.txt"
    hide.write_text("! Title: Hides the pay button\ninvoices.example.test###pay-invoice\n")
    scenario = write_scenario(tmp_path / "hidden.yaml", (SCENARIOS / "demo-stripe.yaml").read_text()
                              + f"timeout_ms: 4000\nadblock: {{mode: lists, lists: [{hide}]}}\n")
    run = cli("run", scenario, out=tmp_path / "out")
    assert run.code == 1, run.stderr
    result = run.result
    assert not result["flow"]["completed"]
    hidden = [h for h in result["hidden_elements"] if h["step"] == 2]
    assert hidden and hidden[0]["rule"] == "invoices.example.test###pay-invoice"
    assert hidden[0]["list"] == "Hides the pay button" and "pay-invoice" in hidden[0]["element"]
    high = [f for f in result["findings"] if f["severity"] == "high"]
    assert [f["rule"] for f in high] == ["processor-blocked-by-client"]
    assert "invoices.example.test###pay-invoice" in high[0]["message"] and "Pay Invoice" in high[0]["message"]
    assert high[0]["blocked_rule"] == "invoices.example.test###pay-invoice"
    shot = [s for s in result["flow"]["steps"] if not s["ok"]][0]["screenshot"]
    assert shot and (tmp_path / "out" / shot).is_file()


def test_the_processor_blocked_is_high_when_the_payment_cannot_complete(tmp_path):
    run = cli("run", SCENARIOS / "demo-stripe.yaml", "--adblock", "processor", out=tmp_path)
    assert run.code == 1, run.stderr
    result = run.result
    assert not result["flow"]["completed"] and result["adblock_mode"] == "processor"
    js = [r for r in result["requests"] if r["url"] == "https://js.stripe.com/v3/"]
    assert js and js[0]["blocked_by_client"] and js[0]["blocked_rule"] == "js.stripe.com"
    assert js[0]["blocked_list"] == "processor hosts (stripe profile)"
    finding = next(f for f in result["findings"] if f["rule"] == "processor-blocked-by-client")
    assert finding["severity"] == "high" and finding["host"] == "js.stripe.com"
    assert finding["blocked_rule"] == "js.stripe.com" and finding["blocked_list"] == "processor hosts (stripe profile)"


def test_matrix_over_the_scenarios_folder(tmp_path):
    # A shorter step timeout: the processor-blocked runs wait it out at the step that needs the processor.
    config = tmp_path / "playwright.config.yaml"
    config.write_text("timeout_ms: 10000\nscreenshots: steps\n")
    run = cli("adblock-matrix", SCENARIOS, "--workers", "2", "--config", config, out=tmp_path, timeout=1500)
    matrix = json.loads((tmp_path / "adblock-matrix.json").read_text())
    rows = {Path(r["file"]).stem: r for r in matrix["scenarios"]}
    assert set(rows) == {p.stem for p in SCENARIOS.glob("*.yaml")}
    # Every bundled scenario can be paid with no blocker and with the real lists: exit 0.
    assert all(r["cells"]["none"]["completed"] and r["cells"]["lists"]["completed"] for r in rows.values())
    assert run.code == matrix["exit_code"] == 0, run.stderr
    assert matrix["payable_with_lists"]
    stripe = rows["demo-stripe"]["cells"]
    assert not stripe["processor"]["completed"]
    assert {b["rule"] for b in stripe["lists"]["blocked"] if b["host"] == "m.stripe.com"} == \
        {"||m.stripe.com^$third-party,domain=~stripe.network"}
    assert not stripe["none"]["blocked"]
    for cells in rows.values():
        for c in cells["cells"].values():
            assert c["screenshot"] and (tmp_path / c["screenshot"]).is_file()
            assert (tmp_path / c["report"]).is_file()
    html = (tmp_path / "adblock-matrix.html").read_text()
    assert "every scenario can be paid with the filter lists on" in html and "data:image/png;base64," in html
