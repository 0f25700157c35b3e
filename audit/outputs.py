"""Writing a run's files: result.json, report.html, evidence.har, junit.xml, results.sarif."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .output import render_index, render_report, write_har, write_junit, write_sarif

SEVERITY_RANK = {"fail": 2, "inconclusive": 1, "pass": 0}


def write_run(result: dict[str, Any], out_dir: Path) -> Path:
    """All files of one scenario; returns the report's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "result.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    write_har(result, out_dir / "evidence.har")
    write_junit([result], out_dir / "junit.xml")
    write_sarif([result], out_dir / "results.sarif")
    return render_report(result, out_dir)


def worst_exit(codes: list[int]) -> int:
    """1 over 3 over 0: a failure outranks an inconclusive run, which outranks a pass."""
    for code in (2, 1, 3):
        if code in codes:
            return code
    return 0


def write_suite(entries: list[tuple[dict[str, Any], Path]], top: Path,
                extra: dict[str, Any] | None = None) -> Path:
    """index.html, summary.json, junit.xml and results.sarif over several scenarios; `extra` adds
    to (or overrides, e.g. `exit_code`) the summary's top-level keys."""
    top.mkdir(parents=True, exist_ok=True)
    results = [r for r, _ in entries]
    summary = {
        "schema": "card-audit/summary/v1",
        "exit_code": worst_exit([r.get("exit_code", 3) for r in results]),
        "scenarios": [{"name": r["scenario"]["name"], "file": r["scenario"]["file"],
                       "processor": r["scenario"]["processor"], "verdict": r["verdict"],
                       "exit_code": r["exit_code"], "findings": len(r.get("findings", [])),
                       "result": str((d / "result.json").relative_to(top)),
                       "report": str((d / "report.html").relative_to(top))} for r, d in entries],
        **(extra or {}),
    }
    (top / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    write_junit(results, top / "junit.xml")
    write_sarif(results, top / "results.sarif")
    return render_index([{"result": r, "report": str((d / "report.html").relative_to(top))}
                        for r, d in entries], top, problems=(extra or {}).get("problems"))
