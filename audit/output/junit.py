"""JUnit XML for CI dashboards (GitLab, Jenkins, GitHub test reporters).

One <testcase> per scenario. A failed scenario carries one <failure> per critical/high finding; an
inconclusive one carries one <error> per recorded error (or one saying the flow did not complete);
medium and low findings are listed in <system-out>. Suite counts are of testcases, as JUnit
consumers expect: `failures` = scenarios that failed, `errors` = scenarios that were inconclusive.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from audit.output import view

# XML 1.0 cannot hold most control characters; captured text may contain any of them.
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(value: Any) -> str:
    return _NOT_XML.sub("\ufffd", view.text(value))


def _finding_line(finding: dict[str, Any]) -> str:
    parts = [f"[{_xml(finding.get('severity'))}] {_xml(finding.get('rule'))}: {_xml(finding.get('message'))}"]
    for key in ("host", "url", "channel", "field", "encoding", "location"):
        if finding.get(key):
            parts.append(f"{key}={_xml(finding.get(key))}")
    if finding.get("blocked"):
        parts.append("blocked by the browser (the attempt alone is the finding)")
    return "; ".join(parts)


def _testcase(result: dict[str, Any]) -> tuple[ET.Element, str]:
    scenario = view.as_dict(result.get("scenario"))
    processor = view.text(scenario.get("processor"), "unknown")
    verdict = view.verdict(result)
    case = ET.Element("testcase", {
        "classname": _xml(f"card-audit.{processor}"),
        "name": _xml(scenario.get("name") or scenario.get("file") or "unnamed scenario"),
        "time": f"{view.number(result.get('duration_s')):.3f}",
    })
    if scenario.get("file"):
        case.set("file", _xml(scenario.get("file")))
    out_lines = []
    for finding in view.findings(result):
        if view.severity_rank(finding.get("severity")) <= 1:
            failure = ET.SubElement(case, "failure", {
                "message": _xml(finding.get("message") or finding.get("rule")),
                "type": _xml(finding.get("rule")) or "finding",
            })
            failure.text = _finding_line(finding)
        else:
            out_lines.append(_finding_line(finding))
    if verdict == "inconclusive":
        errs = view.errors(result)
        if not errs:
            errs = [{"stage": "step", "message": "the flow did not complete"}]
        for err in errs:
            error = ET.SubElement(case, "error", {"message": _xml(err["message"]), "type": _xml(err["stage"])})
            error.text = _xml(f"{err['stage']}: {err['message']}")
    elif verdict == "fail" and not case.findall("failure"):
        # A recorded fail without a listed critical/high finding still fails the gate.
        ET.SubElement(case, "failure", {"message": "verdict: fail", "type": "verdict"})
    elif verdict == "fail":
        for err in view.errors(result):
            out_lines.append(f"error ({err['stage']}): {_xml(err['message'])}")
    if out_lines:
        ET.SubElement(case, "system-out").text = "\n".join(out_lines)
    return case, verdict


def write_junit(results: list[dict[str, Any]], path: Path) -> None:
    """Write one JUnit <testcase> per scenario result to `path`."""
    cases = [_testcase(view.as_dict(r)) for r in (results or []) if isinstance(r, dict)]
    counts = {
        "tests": str(len(cases)),
        "failures": str(sum(1 for _, v in cases if v == "fail")),
        "errors": str(sum(1 for _, v in cases if v == "inconclusive")),
        "skipped": "0",
        "time": f"{sum(view.number(r.get('duration_s')) for r in results or [] if isinstance(r, dict)):.3f}",
    }
    root = ET.Element("testsuites", {"name": "card-audit", **counts})
    suite = ET.SubElement(root, "testsuite", {"name": "card-audit", **counts})
    for case, _ in cases:
        suite.append(case)
    ET.indent(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
