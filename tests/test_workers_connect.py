"""Parallel runs (`--workers`, `workers:`) and remote browsers (`connect:` to `playwright run-server`),
end to end through the CLI against the demo world in real Chromium."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Iterator

import pytest

from audit.browser import find_browser
from conftest import ROOT, run_cli

SCENARIOS = ROOT / "scenarios"
CLEAN, LEAKY = SCENARIOS / "demo-stripe.yaml", SCENARIOS / "demo-stripe-leaky.yaml"


def _span(result: dict) -> tuple[float, float]:
    start = datetime.fromisoformat(result["started_at"]).timestamp()
    return start, start + result["duration_s"]


def test_two_scenarios_with_two_workers(tmp_path):
    run = run_cli("run", CLEAN, LEAKY, "--workers", "2", out=tmp_path)
    assert run.code == 1, run.stderr  # the worst of pass and fail
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["exit_code"] == 1
    verdicts = {Path(s["file"]).name: s["verdict"] for s in summary["scenarios"]}
    assert verdicts == {"demo-stripe.yaml": "pass", "demo-stripe-leaky.yaml": "fail"}
    results = {}
    for stem in ("demo-stripe", "demo-stripe-leaky"):
        results[stem] = json.loads((tmp_path / stem / "result.json").read_text())
        assert (tmp_path / stem / "report.html").stat().st_size > 0
    assert (tmp_path / "index.html").stat().st_size > 0 and (tmp_path / "junit.xml").exists()
    # the two runs overlapped in time: they ran side by side, not one after the other
    (a0, a1), (b0, b1) = _span(results["demo-stripe"]), _span(results["demo-stripe-leaky"])
    assert a0 <= b1 and b0 <= a1, (a0, a1, b0, b1)
    # each worker's progress lines name their scenario
    assert "[demo-stripe] step 1/" in run.stderr and "[demo-stripe-leaky] step 1/" in run.stderr


def test_workers_from_the_config_file(tmp_path):
    config = tmp_path / "playwright.config.yaml"
    config.write_text("workers: 2\n")
    second = tmp_path / "demo-stripe-again.yaml"
    second.write_text(CLEAN.read_text())
    run = run_cli("run", CLEAN, second, "--config", config, out=tmp_path / "out")
    assert run.code == 0, run.stderr
    summary = json.loads((tmp_path / "out/summary.json").read_text())
    assert [s["verdict"] for s in summary["scenarios"]] == ["pass", "pass"]
    spans = [_span(json.loads((tmp_path / "out" / d / "result.json").read_text()))
             for d in ("demo-stripe", "demo-stripe-again")]
    assert spans[0][0] <= spans[1][1] and spans[1][0] <= spans[0][1]


@pytest.mark.parametrize("value", ["0", "-1"])
def test_bad_worker_count_is_an_input_error(value, tmp_path):
    run = run_cli("run", CLEAN, LEAKY, "--workers", value, out=tmp_path)
    assert run.code == 2 and "--workers" in run.stderr
    assert not list(tmp_path.iterdir())


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(c) for c in (task / "children").read_text().split()]
    return out


def test_a_worker_that_dies_makes_the_run_inconclusive(tmp_path):
    """Fail closed: a worker killed mid-run (out of memory, say) is no pass and no crash."""
    cmd = [sys.executable, "-m", "audit", "run", str(CLEAN), str(LEAKY), "--workers", "2", "--out", str(tmp_path)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        seen = ""
        for line in proc.stderr:  # wait until a worker is driving its browser
            seen += line
            if "step 2/" in line:
                break
        workers = [p for p in _children(proc.pid)
                   if "spawn_main" in Path(f"/proc/{p}/cmdline").read_text()]
        assert workers, seen
        os.kill(workers[0], signal.SIGKILL)
        rest = proc.stderr.read()
        code = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 3, seen + rest
    assert "Traceback" not in rest
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert {s["verdict"] for s in summary["scenarios"]} <= {"inconclusive", "pass", "fail"}
    broken = [json.loads((tmp_path / s["result"]).read_text()) for s in summary["scenarios"]
              if s["verdict"] == "inconclusive"]
    assert broken and all("worker process broke" in r["errors"][0]["message"] for r in broken)


# -- connect: a remote Playwright server -------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PlaywrightServer:
    """`python -m playwright run-server` on a free loopback port, in its own process group so that
    its node driver goes with it."""

    def __init__(self, *flags: str, env: dict[str, str] | None = None) -> None:
        self.port = _free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "playwright", "run-server", "--port", str(self.port), "--host", "127.0.0.1",
             *flags], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, **(env or {})}, start_new_session=True)
        line = self.proc.stdout.readline()
        assert "Listening on" in line, line
        self.url = f"ws://127.0.0.1:{self.port}/"

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)


@pytest.fixture
def server(request) -> Iterator[PlaywrightServer]:
    srv = PlaywrightServer(*request.param)
    yield srv
    srv.stop()


def _config(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize("server", [("--unsafe",)], indirect=True)
def test_clean_scenario_through_a_remote_server(server, tmp_path):
    """The server launches the browser: `--unsafe` lets the client's `executablePath` (a path on the
    server's machine) and `args` (host mapping, quiet flags) through."""
    config = _config(tmp_path / "remote.yaml", f"connect: {server.url}\nexecutable_path: {find_browser()}\n"
                     "witness: page-only\n")
    run = run_cli("run", CLEAN, "--config", config, out=tmp_path / "out")
    assert run.code == 0, run.stderr
    result = run.result
    assert result["verdict"] == "pass"
    assert result["summary"]["card_receivers"] == {"api.stripe.com": 1}
    # One witness, said plainly: the trade-off the config chose.
    capture = result["capture"]
    assert capture["witnesses"] == ["page"] and "one witness" in capture["reason"]
    assert capture["network_only"] == 0 and all(r["seen_by"] == ["page"] for r in result["requests"])
    assert "one witness" in (tmp_path / "out/report.html").read_text()
    # Without that line the same run has only one witness of what the browser sent: inconclusive.
    config.write_text(f"connect: {server.url}\nexecutable_path: {find_browser()}\n")
    run = run_cli("run", CLEAN, "--config", config, out=tmp_path / "out2")
    assert run.code == 3, run.stderr
    assert run.result["capture"]["complete"] is False
    assert any("witness: page-only" in e["message"] for e in run.result["errors"])


@pytest.mark.parametrize("server", [()], indirect=True)
def test_a_server_without_unsafe_cannot_find_the_browser(server, tmp_path):
    config = _config(tmp_path / "remote.yaml", f"connect: {server.url}\nexecutable_path: {find_browser()}\n")
    run = run_cli("run", CLEAN, "--config", config, out=tmp_path / "out")
    if run.code == 0:
        pytest.skip("Playwright's own Chromium is installed on this machine: the server found it")
    assert run.code == 3, run.stderr
    assert "a server started without --unsafe ignores executable_path" in run.result["errors"][0]["message"]


def test_a_server_that_drops_the_browser_flags_is_refused(tmp_path):
    """A server without --unsafe that does find a browser launches it without card-audit's flags
    (no host mapping): the run must stop before any page is loaded, not audit the real internet.
    The server is given a browser where it looks for its own, under PLAYWRIGHT_BROWSERS_PATH."""
    browsers = tmp_path / "browsers"
    srv = PlaywrightServer(env={"PLAYWRIGHT_BROWSERS_PATH": str(browsers)})
    try:
        from playwright.sync_api import sync_playwright
        with sync_playwright() as p:
            with pytest.raises(Exception) as err:
                p.chromium.connect(srv.url, timeout=30000)
        wanted = re.search(r"Executable doesn't exist at (\S+)", str(err.value))
        assert wanted, str(err.value)
        target = Path(wanted.group(1))
        assert browsers in target.parents
        target.parent.mkdir(parents=True)
        target.symlink_to(find_browser())
        config = _config(tmp_path / "remote.yaml", f"connect: {srv.url}\n")
        run = run_cli("run", CLEAN, "--config", config, out=tmp_path / "out")
    finally:
        srv.stop()
    assert run.code == 3, run.stderr
    message = run.result["errors"][0]["message"]
    assert "ignored the browser flags" in message and "--unsafe" in message
    assert run.result["requests"] == []  # nothing was loaded
