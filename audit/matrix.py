"""`card-audit adblock-matrix SCENARIO|DIR [--out DIR]`: can a payer with an ad blocker pay?

Each scenario runs three times: with no blocker, with the real filter lists (`--adblock lists`) and
with the processor's hosts blocked (`--adblock processor`). For each run the matrix shows whether
the payment completed, which processor requests the blocker stopped and by which filter of which
list, what it hid, and a screenshot of the payment step. It writes `adblock-matrix.html` and
`adblock-matrix.json` at the top of `--out`, and every run's own result and report beneath it
(`<scenario-stem>/<none|lists|processor>/`).

Exit code: the matrix answers "can every scenario be paid with the lists on?".
- 0: every scenario's payment completed with the lists on (card-data findings of those runs are
  shown, and gated by `card-audit run`, not here);
- 1: some scenario that can be paid with no blocker cannot be paid with the lists on;
- 3: some scenario could not be paid even with no blocker (or its lists run broke), so the lists'
  effect is unknown;
- 2: input errors, before anything runs (no filter lists installed or named is one).
Several scenarios: the worst (1 over 3 over 0), as for `run`.
"""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable

from .errors import InputError

SCHEMA = "card-audit/adblock-matrix/v1"
COLUMNS = (("none", "No ad blocker"), ("lists", "Filter lists"), ("processor", "Processor blocked"))
Err = Callable[[str], None]


def add_parser(sub: Any, browser_flags: Callable[[Any], None]) -> None:
    p = sub.add_parser("adblock-matrix", help="each scenario with no ad blocker, the real filter lists, "
                       "and the processor blocked: can the payer pay?")
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO|DIR")
    browser_flags(p)
    p.add_argument("--out", type=Path, default=Path("reports/adblock-matrix"),
                   help="output folder (default reports/adblock-matrix/)")
    p.add_argument("--config", type=Path, help="playwright.config.yaml (default: ./playwright.config.yaml if present)")
    p.add_argument("--workers", type=int, help="runs in parallel processes")


def cmd_adblock_matrix(args: Any, config: Any, err: Err) -> int:
    from .blocking import packaged_lists
    from .scenario import load_scenarios

    scenarios = load_scenarios([Path(p) for p in args.scenarios])
    without = [str(s.source_path) for s in scenarios if not (s.adblock and s.adblock.lists)]
    if without and not packaged_lists():
        raise InputError("adblock-matrix: no filter lists found for the lists runs of "
                         + ", ".join(without) + " (install Debian's webext-ublock-origin-chromium, "
                         "or name list files in each scenario's adblock.lists)")
    if not config.connect:
        from .browser import find_browser
        find_browser(config.executable_path)
    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a folder")
    stems = _stems(scenarios)
    jobs = [(str(s.source_path), mode, out / stem / mode) for s, stem in zip(scenarios, stems) for mode, _ in COLUMNS]
    results = _run(jobs, config, err)
    rows = []
    for i, scenario in enumerate(scenarios):
        cells = {mode: cell(results[(str(scenario.source_path), mode)], out / stems[i] / mode, out)
                 for mode, _ in COLUMNS}
        rows.append(row(scenario.name, str(scenario.source_path), scenario.processor, cells))
    matrix = build(rows)
    (out / "adblock-matrix.json").write_text(json.dumps(matrix, indent=2, ensure_ascii=False) + "\n")
    page = render(matrix, out)
    for r in rows:
        err(f"{'PAYABLE' if r['payable_with_lists'] else 'NOT PAYABLE':<12} with the lists: {r['name']} "
            f"(no blocker: {_word(r['cells']['none'])}, processor blocked: {_word(r['cells']['processor'])})")
        for b in r["cells"]["lists"]["blocked"]:
            if b["party"] == "processor":
                err(f"              blocked {b['url']} by `{b['rule']}` ({b['list']})")
    err(f"matrix: {page}")
    return matrix["exit_code"]


def _word(c: dict[str, Any]) -> str:
    return "paid" if c["completed"] else "not paid"


def _stems(scenarios: list[Any]) -> list[str]:
    used: set[str] = set()
    out = []
    for s in scenarios:
        stem, name, n = Path(s.source_path).stem, Path(s.source_path).stem, 2
        while name in used:
            name, n = f"{stem}-{n}", n + 1
        used.add(name)
        out.append(name)
    return out


def run_cell(path: str, mode: str, out_dir: Path, config: Any, err: Err | None = None) -> dict[str, Any]:
    """One run of the matrix; `none` runs the scenario without any blocker, its own `adblock:` too."""
    from .app import audit_scenario
    from .scenario import load_scenario

    scenario = load_scenario(Path(path))
    if mode == "none":
        scenario = scenario.model_copy(update={"adblock": None})
    prefix = f"[{Path(path).stem} {mode}] "
    result, _ = audit_scenario(scenario, config, out_dir, adblock=None if mode == "none" else mode,
                               progress=(lambda line: err(prefix + line)) if err else None)
    return result


def _run(jobs: list[tuple[str, str, Path]], config: Any, err: Err) -> dict[tuple[str, str], dict[str, Any]]:
    if config.workers <= 1 or len(jobs) == 1:
        return {(path, mode): run_cell(path, mode, out, config, err) for path, mode, out in jobs}
    with ProcessPoolExecutor(max_workers=min(config.workers, len(jobs)), mp_context=get_context("spawn")) as pool:
        futures = {(path, mode): pool.submit(run_cell, path, mode, out, config, err) for path, mode, out in jobs}
        return {key: future.result() for key, future in futures.items()}


# -- the matrix's data (pure) -------------------------------------------------------------------
def payment_screenshot(result: dict[str, Any]) -> str | None:
    """The failed step's picture; else the last step's picture (the receipt, when paid); else the last one."""
    steps = result.get("flow", {}).get("steps", [])
    failed = next((s for s in steps if not s.get("ok")), None)
    if failed and failed.get("screenshot"):
        return failed["screenshot"]
    shots = [s["screenshot"] for s in steps if s.get("screenshot")]
    if shots:
        return shots[-1]
    return (result.get("screenshots") or [None])[-1]


def cell(result: dict[str, Any], run_dir: Path, top: Path) -> dict[str, Any]:
    steps = result.get("flow", {}).get("steps", [])
    failed = next((s for s in steps if not s.get("ok")), None)
    rel = run_dir.relative_to(top).as_posix()
    shot = payment_screenshot(result)
    return {
        "completed": bool(result.get("flow", {}).get("completed")),
        "verdict": result.get("verdict"), "exit_code": result.get("exit_code"),
        "failed_step": (f"step {steps.index(failed) + 1} ({failed['action']} {failed['target']}): "
                        f"{failed.get('error') or ''}").strip() if failed else None,
        "blocked": _blocked(result),
        "hidden": [{"element": h.get("element"), "text": h.get("text"), "rule": h.get("rule"), "list": h.get("list"),
                    "frame_url": h.get("frame_url"), "step": h.get("step")} for h in result.get("hidden_elements", [])],
        "findings": [{"rule": f["rule"], "severity": f["severity"], "message": f["message"]}
                     for f in result.get("findings", []) if f["severity"] in ("critical", "high", "medium")],
        "lists": [{"name": f.get("name"), "sha256": f.get("sha256")} for f in result.get("adblock_lists", [])],
        "screenshot": f"{rel}/{shot}" if shot else None,
        "report": f"{rel}/report.html", "result": f"{rel}/result.json",
        "duration_s": result.get("duration_s"),
    }


def _blocked(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Requests the blocker stopped, one entry per URL and filter, with how many times."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for r in result.get("requests", []):
        if not r.get("blocked_by_client"):
            continue
        key = (r["url"], r.get("blocked_rule") or "")
        if key in out:
            out[key]["count"] += 1
            continue
        out[key] = {"url": r["url"], "host": r["host"], "party": r.get("party"), "resource_type": r.get("resource_type"),
                    "rule": r.get("blocked_rule"), "list": r.get("blocked_list"), "count": 1}
    return list(out.values())


def row(name: str, file: str, processor: str, cells: dict[str, dict[str, Any]]) -> dict[str, Any]:
    lists, none = cells["lists"], cells["none"]
    if lists["completed"]:
        code = 0
    elif none["completed"]:
        code = 1   # the lists keep a payer from paying who could pay without them
    else:
        code = 3   # not payable even without a blocker: the lists' effect is unknown
    return {"name": name, "file": file, "processor": processor, "payable_with_lists": lists["completed"],
            "exit_code": code, "cells": cells}


def build(rows: list[dict[str, Any]]) -> dict[str, Any]:
    from .outputs import worst_exit
    codes = [r["exit_code"] for r in rows]
    lists = next((r["cells"]["lists"]["lists"] for r in rows if r["cells"]["lists"]["lists"]), [])
    return {"schema": SCHEMA, "exit_code": worst_exit(codes) if codes else 3,
            "payable_with_lists": all(r["payable_with_lists"] for r in rows),
            "columns": [{"mode": m, "title": t} for m, t in COLUMNS], "lists": lists, "scenarios": rows}


def _count_serious(findings: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    counts: dict[tuple[str, str], int] = {}
    for f in findings:
        if f["severity"] in ("critical", "high"):
            counts[(f["severity"], f["rule"])] = counts.get((f["severity"], f["rule"]), 0) + 1
    return [(sev, rule, n) for (sev, rule), n in counts.items()]


def render(matrix: dict[str, Any], out: Path) -> Path:
    from .output.html import _assets, _environment, _inline_image, _relative_link
    rows = []
    for r in matrix["scenarios"]:
        cells = []
        for mode, title in COLUMNS:
            c = r["cells"][mode]
            cells.append({**c, "mode": mode, "title": title, "img": _inline_image(out, c["screenshot"] or ""),
                          "report_link": _relative_link(c["report"]), "shot_link": _relative_link(c["screenshot"] or ""),
                          "serious": _count_serious(c["findings"]),
                          "processor_blocked": [b for b in c["blocked"] if b["party"] == "processor"],
                          "other_blocked": [b for b in c["blocked"] if b["party"] != "processor"]})
        rows.append({**r, "cell_list": cells})
    html = _environment().get_template("adblock-matrix.html.j2").render(matrix=matrix, rows=rows, **_assets())
    path = out / "adblock-matrix.html"
    path.write_text(html, encoding="utf-8")
    return path
