"""`card-audit run ... --present` under a virtual display (Debian's xvfb): headed, slowed down,
DevTools on the Network panel, a live feed of requests, the report opened at the end. The test keeps
a picture of the screen taken while the card is being typed: reports/present/screen.png."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT
from screen import grab

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(shutil.which("xvfb-run") is None,
                                 reason="xvfb-run is missing (Debian: apt-get install xvfb; setup.sh test installs it)")]
KEPT = ROOT / "reports" / "present" / "screen.png"


def test_present_shows_devtools_feed_and_opens_the_report(tmp_path):
    fbdir, out = tmp_path / "fb", tmp_path / "out"
    fbdir.mkdir()
    opened = tmp_path / "opened.txt"
    opener = tmp_path / "open-report"
    opener.write_text(f"#!/bin/sh\necho \"$1\" >> {opened}\n")
    opener.chmod(0o755)
    log = tmp_path / "stderr.txt"
    cmd = ["xvfb-run", "-a", "-s", f"-screen 0 1600x1000x24 -fbdir {fbdir}", sys.executable, "-m", "audit",
           "run", str(ROOT / "scenarios" / "demo-stripe-leaky.yaml"), "--present", "--out", str(out)]
    with log.open("w") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err,
                                env={**os.environ, "BROWSER": str(opener)})
        try:
            deadline = time.monotonic() + 240
            while "step 4/6" not in log.read_text() and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.2)
            assert proc.poll() is None, log.read_text()
            shot = grab(fbdir, tmp_path / "screen.png")   # the card typed, DevTools below it
            code = proc.wait(timeout=240)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    KEPT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, KEPT)
    stderr = log.read_text()
    assert code == 1, stderr[-3000:]
    assert "DevTools: open on the Network panel" in stderr
    assert "[####--] step 4/6: click #submit-payment" in stderr
    feed = [line.split() for line in stderr.splitlines() if line.startswith("  ") and len(line.split()) >= 5]
    rows = {(r[1], " ".join(r[2:4]) if r[2] == "third" else r[2], "CARD" in r) for r in feed}
    assert ("stats.example.net", "third party", True) in rows, stderr[-3000:]
    assert ("api.stripe.com", "processor", True) in rows
    assert ("invoices.example.test", "merchant", True) in rows     # the leaky pay call
    assert ("cdn.example.test", "merchant", False) in rows
    assert opened.read_text().strip() == (out / "report.html").resolve().as_uri()
    png = shot.read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 20000  # a screen with something on it
