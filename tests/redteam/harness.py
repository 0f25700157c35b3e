"""Run the corpus once per test session: one LabWorld, one scenario per case, one CLI run.

The cases go through `card-audit run DIR --workers 2` exactly as a user would run a folder of
scenarios, into one output folder; the tests then read each case's `result.json`. The lab server
keeps what really arrived, so a test can tell "the skimmer did send" from "the tool saw it".
"""

from __future__ import annotations

import atexit
import functools
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.demo.lab import LabWorld
from audit.demo.server import ReceivedRequest

from .cases import ALL, COLLECTORS, Case

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SITES = HERE / "sites"
WORKERS = 2


@dataclass
class Corpus:
    world: LabWorld
    out: Path
    code: int
    stderr: str
    seconds: float

    def result(self, name: str) -> dict[str, Any]:
        path = self.out / name / "result.json"
        if not path.is_file():
            raise AssertionError(f"no result for {name}; CLI said:\n{self.stderr[-3000:]}")
        return json.loads(path.read_text())

    def received(self, host: str) -> list[ReceivedRequest]:
        return [r for r in self.world.received if r.host == host]


def scenario_yaml(case: Case, host_map: dict[str, str]) -> str:
    hosts = "".join(f"  {h}: {a}\n" for h, a in sorted(host_map.items()))
    policy = f"policy:\n{case.policy}" if case.policy else ""
    return (f"name: {case.name}\nprocessor: {case.processor}\nstart_url: {case.start_url}\n"
            f"description: \"{case.source}; channel {case.channel}; encoding {case.encoding}\"\n"
            f"offline: true\ntls: {{ignore_errors: true}}\nsettle_ms: {case.settle_ms}\n"
            + (f"settle: {case.settle}\n" if case.settle else "") +
            f"hosts:\n{hosts}steps:\n{case.steps}{policy}")


def write_scenarios(cases: tuple[Case, ...], folder: Path, world: LabWorld) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for case in cases:
        (folder / f"{case.name}.yaml").write_text(scenario_yaml(case, world.host_map()))


@functools.cache
def corpus() -> Corpus:
    return run_cases(ALL, SITES, COLLECTORS)


def run_cases(cases: tuple[Case, ...], sites: Path, collectors: tuple[str, ...],
              prefix: str = "redteam-") -> Corpus:
    """Serve `sites` (one folder per host) and `collectors` from one LabWorld, write one scenario
    per case and audit them all with one `card-audit run DIR --workers 2`."""
    world = LabWorld(sites, extra_hosts=collectors).start()
    atexit.register(world.stop)
    work = Path(tempfile.mkdtemp(prefix=prefix))
    write_scenarios(cases, work / "scenarios", world)
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "audit", "run", str(work / "scenarios"),
                           "--workers", str(WORKERS), "--out", str(work / "out")],
                          cwd=ROOT, capture_output=True, text=True, timeout=2400)
    return Corpus(world, work / "out", proc.returncode, proc.stderr, time.monotonic() - started)
