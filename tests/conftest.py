"""Shared test helpers: run the CLI as a user would, in a subprocess, and read what it wrote."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class CliRun:
    code: int
    stdout: str
    stderr: str
    out: Path

    @property
    def result(self) -> dict[str, Any]:
        return json.loads((self.out / "result.json").read_text())


def run_cli(*args: str | Path, out: Path | None = None, cwd: Path = ROOT, timeout: float = 240) -> CliRun:
    cmd = [sys.executable, "-m", "audit", *map(str, args)]
    if out is not None and args and args[0] in ("run", "demo", "check", "report"):
        cmd += ["--out", str(out)]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    return CliRun(proc.returncode, proc.stdout, proc.stderr, out or cwd)


@pytest.fixture
def cli():
    return run_cli


def write_scenario(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# A test that failed and passed when run again (setup.sh runs the suite with `--reruns 1`) is a
# flaky test, and its first failure is worth reading: it is printed at the end of the run.
_RERUNS: list[Any] = []


def pytest_runtest_logreport(report):
    if report.outcome == "rerun":
        _RERUNS.append(report)


def pytest_terminal_summary(terminalreporter):
    if not _RERUNS:
        return
    terminalreporter.section("first failures of tests run again")
    for report in _RERUNS:
        text = str(report.longrepr).splitlines()
        terminalreporter.write_line(f"{report.nodeid} ({report.when}):")
        for line in text[-25:]:
            terminalreporter.write_line(f"    {line}")
