"""`card-audit init URL` and `card-audit run URL`: from a page to a scenario, without writing one.

Each bundled demo invoice and a sample of red-team pages: init writes a scenario, and running it
reaches the same verdict as the hand-written scenario of the same page (both in one `run`, the way a
user runs a folder). A page with no way to a card field exits 3 and says what it saw and tried.
"""

from __future__ import annotations

import atexit
import json
import shutil
from pathlib import Path

import pytest
import yaml

from audit.demo.lab import LabWorld
from conftest import ROOT, run_cli
from redteam.cases import ALL, COLLECTORS
from redteam.harness import SITES, scenario_yaml

pytestmark = pytest.mark.browser
SCENARIOS = ROOT / "scenarios"

DEMO = [  # (start URL, hand-written scenario, what the card is typed into)
    ("https://invoices.example.test/invoice/1001", "demo-stripe.yaml", "js.stripe.com"),
    ("https://invoices.example.test/invoice/2001", "demo-square.yaml", "web.squarecdn.com"),
    ("https://invoices.example.test/invoice/3001", "demo-paypal.yaml", "www.paypal.com"),
    ("https://invoices.example.test/invoice/3002", "demo-paypal-card-fields.yaml", "www.paypal.com"),
    ("https://invoices.example.test/invoice/1001/options", "demo-options-square.yaml", "js.stripe.com"),
    ("https://invoices.example.test/invoice/1002", "demo-stripe-leaky.yaml", "invoices.example.test"),
]
REDTEAM = ["newegg-fetch-form", "kritec-websocket", "fake-overlay", "legit-stripe-elements",
           "legit-receipt-last4"]


def verdicts(out: Path) -> dict[str, str]:
    summary = json.loads((out / "summary.json").read_text())
    return {Path(s["file"]).stem: s["verdict"] for s in summary["scenarios"]}


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory):
    """init on every demo URL, then one `run` of the written and the hand-written scenarios."""
    top = tmp_path_factory.mktemp("init-demo")
    folder = top / "scenarios"
    folder.mkdir()
    made = {}
    for url, hand, _host in DEMO:
        stem = hand.removesuffix(".yaml")
        shutil.copy(SCENARIOS / hand, folder / hand)
        made[stem] = run_cli("init", url, "--demo", "-o", folder / f"init-{stem}.yaml")
    run = run_cli("run", folder, "--workers", "2", out=top / "out")
    return folder, top / "out", made, run


@pytest.mark.parametrize("url,hand,card_host", DEMO, ids=[d[1].removesuffix(".yaml") for d in DEMO])
def test_init_on_demo_invoice_matches_hand_written(url, hand, card_host, demo_runs):
    folder, out, made, run = demo_runs
    stem = hand.removesuffix(".yaml")
    assert made[stem].code == 0, made[stem].stderr
    text = (folder / f"init-{stem}.yaml").read_text()
    scenario = yaml.safe_load(text)
    if "options" not in url:  # the options page is audited as it is (Stripe), not switched to Square
        assert scenario["processor"] == yaml.safe_load((SCENARIOS / hand).read_text())["processor"]
    assert scenario["demo"] is True and scenario["start_url"] == url
    actions = [next(iter(s)) for s in scenario["steps"]]
    assert "fill_card" in actions and actions.index("fill_card") >= 1, actions
    # every step carries a comment, and the processor, frames and hosts found are named
    body = text[text.index("steps:"):].splitlines()[1:]
    for i, line in enumerate(body):
        if line.startswith("  - "):
            assert body[i - 1].strip().startswith("#"), line
    assert "# Processor:" in text and "# Hosts the page used" in text and card_host in text
    got = verdicts(out)
    assert got[f"init-{stem}"] == got[stem], (got, run.stderr[-3000:])
    assert got[stem] != "inconclusive", run.stderr[-3000:]
    init_result = json.loads((out / f"init-{stem}" / "result.json").read_text())
    assert init_result["flow"]["completed"], init_result["flow"]["steps"]


def test_init_follows_the_paypal_popup_through_a_frame(tmp_path):
    written = tmp_path / "s.yaml"
    assert run_cli("init", "https://invoices.example.test/invoice/3001", "--demo", "-o", written).code == 0
    steps = yaml.safe_load(written.read_text())["steps"]
    assert steps[0] == {"click": 'role=button[name="Pay Invoice"]'}
    assert steps[1]["click"]["selector"] == 'role=button[name="Debit or Credit Card"]'
    assert steps[1]["click"]["frame"].startswith('iframe[name^="__zoid__paypal_buttons')
    assert steps[-2] == {"wait_for": {"text": "Payment received"}}


@pytest.fixture(scope="module")
def lab():
    world = LabWorld(SITES, extra_hosts=COLLECTORS).start()
    atexit.register(world.stop)
    yield world
    world.stop()


def test_init_on_redteam_pages_matches_hand_written(lab, tmp_path):
    hosts = [f"--host={h}={a}" for h, a in sorted(lab.host_map().items())]
    folder = tmp_path / "scenarios"
    folder.mkdir()
    cases = {c.name: c for c in ALL}
    for name in REDTEAM:
        (folder / f"{name}.yaml").write_text(scenario_yaml(cases[name], lab.host_map()))
        made = run_cli("init", cases[name].start_url, "--offline", "--insecure", *hosts,
                       "-o", folder / f"init-{name}.yaml")
        assert made.code == 0, made.stderr
    run = run_cli("run", folder, "--workers", "2", out=tmp_path / "out")
    got = verdicts(tmp_path / "out")
    for name in REDTEAM:
        assert got[f"init-{name}"] == got[name], (name, got, run.stderr[-3000:])
        assert got[name] == ("pass" if cases[name].legit else "fail")


def test_page_without_payment_form_exits_3_with_what_it_saw(tmp_path):
    site = tmp_path / "sites" / "about.example.test"
    site.mkdir(parents=True)
    (site / "index.html").write_text(
        "<!doctype html><title>About us</title><h1>Bright Lights Studio</h1>"
        "<p>We photograph weddings.</p><button>Subscribe</button> <a href='/team'>Our team</a>")
    world = LabWorld(tmp_path / "sites").start()
    try:
        host = f"about.example.test={world.host_map()['about.example.test']}"
        out = tmp_path / "s.yaml"
        made = run_cli("init", "https://about.example.test/", "--host", host, "--offline", "--insecure", "-o", out)
    finally:
        world.stop()
    assert made.code == 3, made.stderr
    assert "no card fields reached from https://about.example.test/" in made.stderr
    assert "'Subscribe'" in made.stderr and "tried: nothing" in made.stderr
    shot = tmp_path / "init-about.example.test.png"
    assert f"screenshot: {shot}" in made.stderr and shot.read_bytes().startswith(b"\x89PNG")
    assert not out.exists() and "Traceback" not in made.stderr


@pytest.mark.parametrize("args,message", [
    (["init", "invoices.example.test/invoice/1001"], "not an http(s) URL"),
    (["init", "https://x.example.test/", "--host", "x.example.test"], "--host x.example.test: give it as"),
    (["init", "https://x.example.test/", "--processor", "strype"], "strype"),
    (["run", "https://x.example.test/", "scenarios/demo-stripe.yaml"], "one URL and no scenario files"),
])
def test_bad_init_input_exits_2(args, message):
    made = run_cli(*args)
    assert made.code == 2 and message in made.stderr, made.stderr


def test_run_url_audits_and_reports_the_scenario_used(tmp_path):
    out = tmp_path / "out"
    run = run_cli("run", "https://invoices.example.test/invoice/1002", "--demo", out=out)
    assert run.code == 1, run.stderr[-3000:]
    saved = out / "scenario.yaml"
    assert f"scenario used: {saved}" in run.stderr
    result = json.loads((out / "result.json").read_text())
    assert result["scenario"]["file"] == str(saved)
    assert result["scenario"]["yaml"] == saved.read_text()
    assert any(f["rule"] == "card-data-egress" for f in result["findings"])
    html = (out / "report.html").read_text()
    assert 'id="scenario-used"' in html and "role=button[name=&#34;Pay Invoice&#34;]" in html
    again = run_cli("run", saved, out=tmp_path / "again")
    assert again.code == 1 and again.result["verdict"] == "fail"
