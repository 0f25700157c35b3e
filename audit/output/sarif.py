"""SARIF 2.1.0 for code-scanning dashboards (GitHub, GitLab, Azure DevOps).

One run for all scenarios (GitHub rejects several runs of one tool in one upload); each result
names its scenario in `properties`. The location of a finding is the URL the data went to (or
the frame or page it was seen in). Levels: critical/high -> error, medium -> warning, low/info ->
note; `security-severity` gives GitHub's numeric severity. An inconclusive scenario is a failed
invocation with its errors as notifications, so a dashboard never shows it as clean.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from audit.output import view

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}


def _rule(rule_id: str) -> dict[str, Any]:
    severity, description = view.RULES.get(rule_id, ("medium", rule_id))
    return {
        "id": rule_id, "name": "".join(p.capitalize() for p in rule_id.split("-")) or "Finding",
        "shortDescription": {"text": description},
        "fullDescription": {"text": description},
        "defaultConfiguration": {"level": LEVELS.get(severity, "warning")},
        "properties": {"security-severity": SECURITY_SEVERITY.get(severity, "5.5"),
                       "tags": ["security", "card-data", "pci-dss"]},
    }


def _location(finding: dict[str, Any], result: dict[str, Any]) -> str:
    for candidate in (finding.get("url"), finding.get("frame_url"), result.get("start_url"),
                      view.as_dict(result.get("scenario")).get("file")):
        if view.text(candidate):
            return view.text(candidate)
    return "about:blank"


def _result(finding: dict[str, Any], result: dict[str, Any], rule_index: int) -> dict[str, Any]:
    scenario = view.as_dict(result.get("scenario"))
    rule_id = view.text(finding.get("rule"), "finding")
    severity = view.text(finding.get("severity")).lower() or view.RULES.get(rule_id, ("medium", ""))[0]
    location = _location(finding, result)
    # Same rule, scenario, host and field across runs = the same alert, so dashboards track it.
    identity = "|".join([rule_id, view.text(scenario.get("name")), view.text(finding.get("host")),
                         view.text(finding.get("field")), view.text(finding.get("channel"))])
    out: dict[str, Any] = {
        "ruleId": rule_id, "ruleIndex": rule_index,
        "level": LEVELS.get(severity, "warning"),
        "message": {"text": view.text(finding.get("message")) or rule_id},
        "locations": [{
            "physicalLocation": {"artifactLocation": {"uri": location}},
            "logicalLocations": [{"name": view.text(finding.get("host")) or location, "kind": "host"}],
        }],
        "partialFingerprints": {"cardAuditFinding/v1": hashlib.sha256(identity.encode()).hexdigest()},
        "properties": {
            "severity": severity,
            "security-severity": SECURITY_SEVERITY.get(severity, "5.5"),
            "scenario": view.text(scenario.get("name")),
            "scenarioFile": view.text(scenario.get("file")),
            "processor": view.text(scenario.get("processor")),
            "verdict": view.verdict(result),
        },
    }
    for key in ("host", "channel", "field", "encoding", "location", "request_id", "frame_url", "excerpt"):
        if finding.get(key) not in (None, ""):
            out["properties"][key] = view.text(finding.get(key))
    if "blocked" in finding:
        out["properties"]["blocked"] = bool(finding.get("blocked"))
    return out


def sarif(results: list[dict[str, Any]]) -> dict[str, Any]:
    results = [r for r in (results or []) if isinstance(r, dict)]
    rule_ids = list(view.RULES)
    for result in results:
        for finding in view.dicts(result.get("findings")):
            rule_id = view.text(finding.get("rule"), "finding")
            if rule_id not in rule_ids:
                rule_ids.append(rule_id)
    tool = next((view.as_dict(r.get("tool")) for r in results if r.get("tool")), {})
    sarif_results = [
        _result(f, r, rule_ids.index(view.text(f.get("rule"), "finding")))
        for r in results for f in view.findings(r)
    ]
    notifications = []
    for result in results:
        if view.verdict(result) != "inconclusive":
            continue
        name = view.text(view.as_dict(result.get("scenario")).get("name"))
        errs = view.errors(result) or [{"stage": "step", "message": "the flow did not complete"}]
        notifications += [{"level": "error", "message": {"text": f"{name}: {e['stage']}: {e['message']}"},
                           "properties": {"scenario": name, "stage": e["stage"]}} for e in errs]
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {"driver": {
                "name": view.text(tool.get("name"), "card-audit"),
                "version": view.text(tool.get("version"), "unknown"),
                "rules": [_rule(rule_id) for rule_id in rule_ids],
            }},
            "invocations": [{"executionSuccessful": not notifications,
                             "toolExecutionNotifications": notifications}],
            "results": sarif_results,
            "properties": {"verdicts": {view.text(view.as_dict(r.get("scenario")).get("name")): view.verdict(r)
                                        for r in results}},
        }],
    }


def write_sarif(results: list[dict[str, Any]], path: Path) -> None:
    """Write SARIF 2.1.0 of every finding of `results` to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(sarif(results), indent=2, ensure_ascii=False), encoding="utf-8")
