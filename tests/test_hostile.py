"""Hostile pages (frozen, flooding, prompting, crashing) end within the run's deadline with the right
exit code, their evidence kept, and no process left behind: not when a run ends by itself, not in
a `--workers 2` batch, not when card-audit itself is killed (SIGTERM, SIGKILL).

Processes are counted by a marker in their environment, which every process card-audit starts
(workers, Playwright's driver, Chromium and its children) inherits.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from redteam.cases import COLLECTORS, MERCHANT, PAY_STEPS, STRIPE_STEPS
from redteam.harness import SITES

ROOT = Path(__file__).resolve().parent.parent
EXTRA_HOSTS = ("tags.slow-cdn.net", "burst-stats.net")
MARK = "CARD_AUDIT_TEST_RUN"
HOSTILE = ("hostile-frozen", "hostile-alerts", "hostile-beforeunload", "hostile-popups", "hostile-iframes",
           "hostile-oom", "hostile-console-burst")
CONFIG = ("run_timeout_ms: 150000\ntimeout_ms: 20000\n"
          # A small JavaScript heap, so that the page that hoards memory runs out quickly.
          "args: [\"--js-flags=--max-old-space-size=96\"]\n")


@pytest.fixture(scope="module")
def lab():
    from audit.demo.lab import LabWorld
    world = LabWorld(SITES, extra_hosts=COLLECTORS + EXTRA_HOSTS).start()
    yield world
    world.stop()


def scenario(folder: Path, name: str, host_map: dict[str, str], page: str | None = None,
             extra: str = "settle_ms: 500\n") -> Path:
    hosts = "".join(f"  {h}: {a}\n" for h, a in sorted(host_map.items()))
    path = folder / f"{name}.yaml"
    path.write_text(f"name: {name}\nprocessor: stripe\nstart_url: https://{MERCHANT}/{page or name}\n"
                    f"offline: true\ntls: {{ignore_errors: true}}\n{extra}"
                    f"hosts:\n{hosts}steps:\n{STRIPE_STEPS}")
    return path


def marked() -> list[str]:
    """Command lines of live processes carrying this test's marker."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if f"{MARK}={os.environ[MARK]}".encode() not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
            if state != "Z":
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:120])
        except OSError:
            continue
    return found


def wait_for_none_left(seconds: float = 20) -> list[str]:
    end = time.monotonic() + seconds
    while (left := marked()) and time.monotonic() < end:
        time.sleep(0.5)
    return left


@pytest.fixture
def marker(monkeypatch):
    monkeypatch.setenv(MARK, uuid.uuid4().hex)


def start(args: list[str | Path], tmp_path: Path, config: str = CONFIG) -> subprocess.Popen:
    (tmp_path / "playwright.config.yaml").write_text(config)
    cmd = [sys.executable, "-m", "audit", "run", *map(str, args), "--config", str(tmp_path / "playwright.config.yaml")]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_hostile_pages_end_with_their_verdicts_and_nothing_left(lab, tmp_path, marker):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    for name in HOSTILE:
        scenario(folder, name, lab.host_map())
    proc = start([folder, "--workers", "2", "--out", tmp_path / "out"], tmp_path)
    _out, err = proc.communicate(timeout=900)
    left = wait_for_none_left()
    assert not left, f"processes outlived card-audit: {left}"
    assert "Traceback" not in err and "internal error" not in err, err[-3000:]
    results = {n: json.loads((tmp_path / "out" / n / "result.json").read_text()) for n in HOSTILE}
    report = {n: (tmp_path / "out" / n / "report.html").read_text() for n in HOSTILE}

    frozen = results["hostile-frozen"]
    assert frozen["verdict"] == "inconclusive", frozen["errors"]
    assert frozen["duration_s"] < 150 + 20  # the deadline, and the time to stop the browser
    assert any("no answer" in e["message"] or "deadline" in e["message"] for e in frozen["errors"]), frozen["errors"]
    assert frozen["requests"], "what was recorded before the page froze is kept"
    assert any(s["action"] == "fill_card" for s in frozen["flow"]["steps"])

    for name in ("hostile-alerts", "hostile-beforeunload"):
        assert results[name]["verdict"] == "pass", (name, results[name]["errors"], results[name]["flow"])
    # Thirty windows in front of the checkout: the flow may not get through, but the audit ends,
    # fails closed and keeps every window it saw.
    popups = results["hostile-popups"]
    assert popups["verdict"] in ("pass", "inconclusive"), popups["errors"]
    assert len({f["page"] for f in popups["frames"]}) > 30
    # 120 frames are each looked at: on a slow machine that may take the run to its deadline,
    # which is then said, and every frame seen so far is kept.
    iframes = results["hostile-iframes"]
    assert iframes["verdict"] == "pass" or not iframes["capture"]["complete"], iframes["errors"]
    assert sum(1 for f in iframes["frames"] if "hostile-popup-page" in f["url"]) >= 120

    # 12,001 console lines: the first 5,000 are kept, the rest let go, a 200 KB line kept in part.
    burst = results["hostile-console-burst"]
    assert burst["verdict"] == "pass", burst["errors"]
    assert len(burst["console"]) <= 5_100, len(burst["console"])
    assert any("console lines; the first 5,000 are kept" in n for n in burst["notes"]), burst["notes"]
    assert max(len(c["text"]) for c in burst["console"]) < 70_000

    oom = results["hostile-oom"]
    assert oom["verdict"] in ("inconclusive", "fail")
    assert "renderer crashed" in report["hostile-oom"]
    assert proc.returncode == 3, err[-3000:]   # the worst of pass and inconclusive
    assert all(f["rule"] != "card-data-egress" for r in results.values() for f in r["findings"])


def test_a_console_flood_holds_back_neither_the_flow_nor_the_browsers_own_lines(lab, tmp_path, marker):
    """100,000 console lines a second from the start, then a card-carrying fetch the page's CSP
    refuses. Before the console events were let go past the first 5,000 lines, the start page
    never finished loading within the 150 s deadline (inconclusive). With the events let go but
    the page still writing, the flow completed but moving the clock had no answer and the capture
    was cut at the deadline. With the page's console made to do nothing past 5,000 lines, the
    capture is complete, and the browser's line about the refused fetch, written after the flood
    began, is a finding."""
    path = scenario(tmp_path, "hostile-console-flood", lab.host_map())
    proc = start([path, "--out", tmp_path / "out"], tmp_path)
    _out, err = proc.communicate(timeout=400)
    assert not wait_for_none_left(), "processes outlived card-audit"
    assert "Traceback" not in err and "internal error" not in err, err[-3000:]
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["flow"]["completed"], (result["errors"], result["flow"]["steps"])
    assert result["capture"]["complete"], (result["capture"], result["errors"])
    assert proc.returncode == 1, (result["verdict"], result["errors"])
    assert any("console methods were made to do nothing" in n and "every document loaded after" in n
               for n in result["notes"]), result["notes"]
    refused = [f for f in result["findings"] if f["rule"] == "card-data-egress" and f["host"] == "cdn-csp-skim.com"]
    assert refused and refused[0]["blocked"] is True, [f["message"] for f in result["findings"]]
    assert any("cdn-csp-skim.com" in c["text"] and "Content Security Policy" in c["text"] for c in result["console"])
    assert len(result["console"]) <= 5_100, len(result["console"])
    assert any("more than 5,000 console lines" in n for n in result["notes"]), result["notes"]


def test_a_page_of_a_hundred_thousand_elements_is_judged_within_its_deadline(lab, tmp_path, marker):
    """Every look at the card fields reads the page's whole tree; a page of 200,000 elements took
    18-22 s a look, and the run ended at its deadline, inconclusive. The skimmer on this bloated
    page is caught with the flow complete."""
    path = scenario(tmp_path, "hostile-huge-dom", lab.host_map())
    path.write_text(path.read_text().replace(STRIPE_STEPS, PAY_STEPS))
    proc = start([path, "--out", tmp_path / "out"], tmp_path)
    _out, err = proc.communicate(timeout=400)
    assert not wait_for_none_left(), "processes outlived card-audit"
    assert "Traceback" not in err and "internal error" not in err, err[-3000:]
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["flow"]["completed"] and result["capture"]["complete"], (result["errors"], result["flow"]["steps"])
    assert proc.returncode == 1, (result["verdict"], result["errors"])
    assert {(f["rule"], f["host"]) for f in result["findings"]} >= {
        ("card-data-egress", "burst-stats.net"), ("card-field-outside-processor", MERCHANT)}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killed_card_audit_leaves_no_process(sig, lab, tmp_path, marker):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    for name in ("hostile-frozen", "hostile-alerts"):
        scenario(folder, name, lab.host_map())
    proc = start([folder, "--workers", "2", "--out", tmp_path / "out"], tmp_path)
    end = time.monotonic() + 120
    while time.monotonic() < end and sum("--type=renderer" in c for c in marked()) < 2:
        time.sleep(0.5)   # both workers have a browser showing a page
    assert proc.poll() is None, proc.communicate()[1][-2000:]
    time.sleep(3)
    proc.send_signal(sig)
    try:
        _out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("card-audit did not end within 60 s of the signal")
    left = wait_for_none_left(30)
    assert not left, f"processes outlived card-audit ({sig.name}): {left}"
    if sig == signal.SIGTERM:
        assert "internal error" not in err and "Traceback" not in err, err[-3000:]
        frozen = json.loads((tmp_path / "out" / "hostile-frozen" / "result.json").read_text())
        assert frozen["verdict"] == "inconclusive"
        assert any("SIGTERM" in e["message"] for e in frozen["errors"]), frozen["errors"]


@pytest.mark.skipif(shutil.which("xvfb-run") is None,
                    reason="xvfb-run is missing (Debian: apt-get install xvfb; setup.sh test installs it)")
def test_print_dialogs_do_not_hold_a_headed_run(lab, tmp_path, marker):
    """A headed Chromium (`--headed`, `--present`) opens its print preview for every print(), and the
    page behind it stops: card entry timed out and the run ended at its deadline. print() is
    answered in the page, as a payer closes the dialog, whatever frame it is called from."""
    folder = tmp_path / "scenarios"
    folder.mkdir()
    path = scenario(folder, "hostile-print", lab.host_map())
    (tmp_path / "playwright.config.yaml").write_text(CONFIG)
    proc = subprocess.run(["xvfb-run", "-a", sys.executable, "-m", "audit", "run", str(path), "--headed",
                           "--config", str(tmp_path / "playwright.config.yaml"), "--out", str(tmp_path / "out")],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert not wait_for_none_left(), "processes outlived card-audit"
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert proc.returncode == 0, (proc.stderr[-3000:], result["errors"])
    assert result["verdict"] == "pass" and result["flow"]["completed"], result["errors"]
    typed = {k["field"]: k["landed_host"] for k in result["keystrokes"]}
    assert all(typed.get(f) == "js.stripe.com" for f in ("number", "expiry", "cvc")), result["keystrokes"]


def test_pages_that_never_finish_loading_or_never_go_quiet(lab, tmp_path, marker):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    scenario(folder, "hostile-never-loads", lab.host_map(), extra="")
    scenario(folder, "hostile-never-quiet", lab.host_map(), extra="")
    scenario(folder, "never-quiet-judged", lab.host_map(), page="hostile-never-quiet",
             extra="settle: {on_bound: judge}\n")
    proc = start([folder, "--workers", "2", "--out", tmp_path / "out"], tmp_path)
    _out, err = proc.communicate(timeout=900)
    assert not wait_for_none_left(), "processes outlived card-audit"
    result = lambda name: json.loads((tmp_path / "out" / name / "result.json").read_text())  # noqa: E731

    # An async tag that never finishes holds back `load`, not the payer.
    slow = result("hostile-never-loads")
    assert slow["verdict"] == "pass", (slow["errors"], slow["flow"]["steps"])
    assert slow["capture"]["complete"] is True

    # Never quiet: capture stops at its bound, says so, and proves nothing...
    # (on a slow machine the run may reach its deadline first: capture is incomplete either way)
    busy = result("hostile-never-quiet")
    reason = busy["capture"]["reason"] or ""
    assert busy["capture"]["complete"] is False and ("never went quiet" in reason or "deadline" in reason)
    assert busy["verdict"] == "inconclusive", busy["errors"]
    first_screen = (tmp_path / "out" / "hostile-never-quiet" / "report.html").read_text()
    first_screen = first_screen[:first_screen.index('id="summary"')]
    assert "Capture is incomplete" in first_screen and reason.split(":")[0] in first_screen
    # ...unless the scenario asks for what was seen to be judged.
    judged = result("never-quiet-judged")
    assert judged["capture"]["complete"] is False and judged["verdict"] == "pass", judged["errors"]
    assert proc.returncode == 3, err[-3000:]


def test_burst_and_large_bodies_are_recorded_in_full(lab, tmp_path, marker):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    scenario(folder, "hostile-burst", lab.host_map(), extra="")
    scenario(folder, "hostile-large", lab.host_map(), extra="")
    # Thousands of requests take a loaded machine a while to record: this run's deadline is long.
    config = CONFIG.replace("run_timeout_ms: 150000", "run_timeout_ms: 600000")
    proc = start([folder, "--workers", "2", "--out", tmp_path / "out"], tmp_path, config)
    _out, err = proc.communicate(timeout=1200)
    assert not wait_for_none_left(), "processes outlived card-audit"
    result = lambda name: json.loads((tmp_path / "out" / name / "result.json").read_text())  # noqa: E731

    # A burst of 2,000 requests with the card in the last: every one recorded, the card found.
    burst = result("hostile-burst")
    sent = [r for r in burst["requests"] if r["host"] == "burst-stats.net"]
    assert len(sent) == 2000, len(sent)
    assert any(f["rule"] == "card-data-egress" and f["host"] == "burst-stats.net" for f in burst["findings"])
    # What the server got is the truth: every request it received was recorded (requests still
    # queued in the browser when the pages were left never reach it).
    recorded = {r["url"].split("burst-stats.net", 1)[1] for r in sent}
    received = [r.path for r in lab.received if r.host == "burst-stats.net" and r.path.startswith("/e?")]
    assert received and set(received) <= recorded

    # 100 MiB downloaded and a 12 MiB body posted: searched in full, kept as hash and size.
    large_json = tmp_path / "out" / "hostile-large" / "result.json"
    assert large_json.stat().st_size < 2 * 2**20
    large = json.loads(large_json.read_text())
    big = next(r for r in large["requests"] if r["url"].endswith("/big"))
    assert big["body"]["size"] > 12 * 2**20 and big["body"]["searched"] is True and len(big["body"]["sha256"]) == 64
    hit = [f for f in large["findings"] if f["rule"] == "card-data-egress" and f["host"] == "burst-stats.net"]
    assert hit and hit[0]["request_id"] == big["id"]
    # The connection that carried it was searched in full and is kept as a large body is: its size,
    # the hash of every byte, its first bytes and the bytes around the card, with what was cut.
    wire = [w for w in large["wire"] if w["host"] == "burst-stats.net" and "cut" in w]
    assert wire, [(w["host"], w["bytes"]) for w in large["wire"]]
    cut = wire[0]["cut"]
    assert cut["size"] > 12 * 2**20 and cut["searched"] is True and len(cut["sha256"]) == 64
    assert cut["cut"] == cut["size"] - cut["kept"] > 11 * 2**20
    kept = [base64.b64decode(e["sent_b64"]) for e in wire[0]["excerpts"] if e["field"] == "number"]
    assert any(large["card"]["number"].encode() in k for k in kept), wire[0]["excerpts"]
    report = (tmp_path / "out" / "hostile-large" / "report.html").read_text()
    assert "every byte was searched" in report and "MiB cut" in report
    # Re-judged from the saved result, the same card data is found.
    check = subprocess.run([sys.executable, "-m", "audit", "check", str(large_json)], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 1 and "burst-stats.net" in check.stderr, check.stderr
    assert proc.returncode == 1, err[-3000:]
