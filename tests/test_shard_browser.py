"""Shards over the bundled `scenarios/`, each its own process, merged: the same verdicts and exit
code as one unsharded run; a lost shard is inconclusive; the merged index works in Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from audit.browser import QUIET_ARGS, find_browser
from conftest import ROOT, run_cli

pytestmark = pytest.mark.browser

SCENARIOS = ROOT / "scenarios"
ALL = sorted(f"scenarios/{p.name}" for p in SCENARIOS.glob("*.yaml"))


def _summary(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "summary.json").read_text())


def _verdicts(folder: Path) -> dict[str, str]:
    rows = _summary(folder)["scenarios"]
    return {json.loads((folder / r["result"]).read_text())["scenario"]["source"]["path"]: r["verdict"] for r in rows}


@pytest.fixture(scope="module")
def unsharded(tmp_path_factory):
    run = run_cli("run", SCENARIOS, "--workers", "2", out=tmp_path_factory.mktemp("all"), timeout=600)
    assert run.code in (0, 1, 3) and (run.out / "summary.json").exists(), run.stderr
    return run


@pytest.fixture(scope="module")
def sharded(tmp_path_factory, unsharded):
    """Three shards at once, each its own process (as three CI machines); the second with workers."""
    top = tmp_path_factory.mktemp("shards")
    procs = []
    for i in (1, 2, 3):
        cmd = [sys.executable, "-m", "audit", "run", "scenarios/", "--shard", f"{i}/3", "--out", str(top / f"shard-{i}")]
        if i == 2:
            cmd += ["--workers", "2"]
        procs.append(subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    codes, errs = [], []
    for proc in procs:
        try:
            _, err = proc.communicate(timeout=600)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        codes.append(proc.returncode)
        errs.append(err)
    return top, [top / f"shard-{i}" for i in (1, 2, 3)], codes, errs


def test_three_shards_cover_every_scenario_exactly_once(sharded):
    _, folders, codes, errs = sharded
    audited: list[str] = []
    for i, (folder, code, err) in enumerate(zip(folders, codes, errs), start=1):
        record = json.loads((folder / "shard.json").read_text())
        assert (record["index"], record["total"], record["all"]) == (i, 3, ALL)
        assert f"shard {i}/3: {len(record['scenarios'])} of {len(ALL)}" in err
        verdicts = _verdicts(folder)
        assert sorted(verdicts) == sorted(record["scenarios"])          # what it says it ran, it ran
        assert _summary(folder)["shard"]["index"] == i
        worst = 1 if "fail" in verdicts.values() else 3 if "inconclusive" in verdicts.values() else 0
        assert code == worst == _summary(folder)["exit_code"], err
        audited += verdicts
    assert sorted(audited) == ALL and len(audited) == len(set(audited))
    assert all(len(json.loads((f / "shard.json").read_text())["scenarios"]) == 3 for f in folders)


def test_merge_reproduces_the_unsharded_verdicts_and_exit_code(sharded, unsharded, tmp_path):
    _, folders, _, _ = sharded
    merged = run_cli("merge", *folders, "-o", tmp_path / "merged")
    assert merged.code == unsharded.code, merged.stderr
    assert _verdicts(tmp_path / "merged") == _verdicts(unsharded.out)
    summary = _summary(tmp_path / "merged")
    assert summary["exit_code"] == _summary(unsharded.out)["exit_code"] == unsharded.code
    assert summary["complete"] is True and summary["problems"] == []
    assert {"name", "file", "processor", "verdict"} <= set(summary["scenarios"][0])
    junit = (tmp_path / "merged" / "junit.xml").read_text()
    assert junit.count("<testcase ") == len(ALL)
    sarif = json.loads((tmp_path / "merged" / "results.sarif").read_text())
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]}
    assert uris and uris <= set(ALL)
    assert len(sarif["runs"][0]["results"]) == sum(
        len(json.loads((tmp_path / "merged" / r["result"]).read_text())["findings"]) for r in summary["scenarios"])


def test_merge_with_a_shard_folder_deleted_exits_3_naming_it(sharded, tmp_path):
    top, folders, _, _ = sharded
    copies = [tmp_path / f.name for f in folders]
    for src, dst in zip(folders, copies):
        shutil.copytree(src, dst)
    shutil.rmtree(copies[1])
    lost = json.loads((folders[1] / "shard.json").read_text())["scenarios"]
    merged = run_cli("merge", *copies, "-o", tmp_path / "merged")
    assert merged.code == 3, merged.stderr
    assert str(copies[1]) in merged.stderr and "shard 2/3 missing" in merged.stderr
    assert all(p in merged.stderr for p in lost)
    verdicts = _verdicts(tmp_path / "merged")
    assert sorted(verdicts) == ALL and all(verdicts[p] == "inconclusive" for p in lost)
    assert _summary(tmp_path / "merged")["exit_code"] == 3


def test_merged_index_opens_in_chromium_with_working_links(sharded, tmp_path):
    from playwright.sync_api import sync_playwright
    _, folders, _, _ = sharded
    out = tmp_path / "merged"
    assert run_cli("merge", *folders, "-o", out).code in (0, 1)
    names = {r["name"] for r in _summary(out)["scenarios"]}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_browser(), headless=True, args=list(QUIET_ARGS))
        try:
            page = browser.new_page()
            page.goto((out / "index.html").as_uri())
            hrefs = page.eval_on_selector_all("a[href$='report.html']", "els => els.map(e => e.href)")
            assert len(hrefs) == len(ALL) and len(set(hrefs)) == len(ALL)
            opened = set()
            for i in range(len(hrefs)):
                page.goto((out / "index.html").as_uri())
                link = page.locator("a[href$='report.html']").nth(i)
                with page.expect_navigation():
                    link.click()
                assert page.url.startswith((out).as_uri() + "/") and page.url.endswith("/report.html")
                title = page.title()
                found = [n for n in names if n in title or page.get_by_text(n, exact=False).count()]
                assert found, (page.url, title)
                # the report's own pictures came along with it
                for src in page.eval_on_selector_all("img[src^='screenshots/']", "els => els.map(e => e.getAttribute('src'))"):
                    assert (Path(page.url.removeprefix("file://")).parent / src).is_file()
                opened.add(page.url)
            assert len(opened) == len(ALL)
        finally:
            browser.close()
