"""SARIF 2.1.0 for code-scanning dashboards (GitHub, GitLab, Azure DevOps).

One run for all scenarios (GitHub rejects several runs of one tool in one upload); each result
names its scenario in `properties`. Levels: critical/high -> error, medium -> warning, low/info ->
note; `security-severity` gives GitHub's numeric severity. An inconclusive scenario is a failed
invocation with its errors as notifications, so a dashboard never shows it as clean.

The physical location of a finding is the scenario file, as a path relative to the repository root
(`%SRCROOT%`), with a region at the line of the step during which the data left (the last step that
had begun when the request was sent), of the first card-typing step for a finding about card data
without a request, or of `start_url` otherwise. GitHub code scanning accepts only such locations:
"the URI should be relative to the root of the GitHub repository being analyzed"
(docs.github.com/code-security/secure-coding/sarif-support-for-code-scanning, `physicalLocation`);
a URL there makes the upload fail. The receiving URL, host and frame stay in `properties` and in
`logicalLocations`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from audit.output import view
from audit.source import repository_path

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


# Findings about a card field or card data that no request carried sit on the step typing the card.
CARD_RULES = ("card-data-egress", "card-data-at-rest", "card-field-outside-processor", "card-field-obscured")
SRCROOT = "%SRCROOT%"
# Steps that only watch the page: no request is theirs.
PASSIVE = ("wait_for", "screenshot")


def _source(result: dict[str, Any]) -> tuple[str, list[int], list[int]]:
    """(repository path, line per flow step, card-typing steps) of the result's scenario."""
    scenario = view.as_dict(result.get("scenario"))
    source = view.as_dict(scenario.get("source"))
    path = view.text(source.get("path"))
    if not path or "://" in path or path.startswith("/"):
        # A result from before sources were recorded: its file as named (a pytest node id names
        # the test file), made relative to the repository it is in on this machine.
        named = view.text(scenario.get("file")).split("::")[0]
        path = repository_path(named) if named and "://" not in named else "card-audit-scenario"
    lines = [int(n) for n in source.get("lines") or [] if isinstance(n, int) and n > 0]
    card_steps = [int(n) for n in source.get("card_steps") or [] if isinstance(n, int)]
    return path, lines, card_steps


def step_of(finding: dict[str, Any], result: dict[str, Any], card_steps: list[int]) -> int:
    """Index in the recorded flow (0 = opening start_url) of the step a finding belongs to."""
    steps = view.dicts(view.as_dict(result.get("flow")).get("steps"))
    when = next((r.get("time") for r in view.dicts(result.get("requests"))
                 if finding.get("request_id") and r.get("id") == finding.get("request_id")), None)
    began = [view.number(s.get("time"), -1.0) for s in steps]
    if isinstance(when, (int, float)) and steps and any(t > 0 for t in began):
        # The last step begun before the request that acts on the page: a wait or a picture
        # sets nothing off, so a request sent while it ran came from the step before it (the
        # click whose handler posts the card once the click itself has returned).
        acting = [i for i, t in enumerate(began) if 0 <= t <= when
                  and view.text(steps[i].get("action")) not in PASSIVE]
        return max(acting or [0])
    if finding.get("rule") in CARD_RULES and card_steps:
        return card_steps[0]
    return 0


def _locations(finding: dict[str, Any], result: dict[str, Any]) -> list[dict[str, Any]]:
    path, lines, card_steps = _source(result)
    # A URI reference: a space or `#` in a file name is escaped, `/` stays a separator.
    physical: dict[str, Any] = {"artifactLocation": {"uri": quote(path), "uriBaseId": SRCROOT}}
    step = step_of(finding, result, card_steps)
    if step < len(lines):
        physical["region"] = {"startLine": lines[step]}
    logical = []
    host, url = view.text(finding.get("host")), view.text(finding.get("url") or finding.get("frame_url"))
    if host:
        logical.append({"name": host, "kind": "host"})
    if url:
        logical.append({"name": url, "fullyQualifiedName": url, "kind": "resource"})
    location: dict[str, Any] = {"physicalLocation": physical}
    if logical:
        location["logicalLocations"] = logical
    return [location]


def _result(finding: dict[str, Any], result: dict[str, Any], rule_index: int) -> dict[str, Any]:
    scenario = view.as_dict(result.get("scenario"))
    rule_id = view.text(finding.get("rule"), "finding")
    severity = view.text(finding.get("severity")).lower() or view.RULES.get(rule_id, ("medium", ""))[0]
    # Same rule, scenario, host and field across runs = the same alert, so dashboards track it.
    identity = "|".join([rule_id, view.text(scenario.get("name")), view.text(finding.get("host")),
                         view.text(finding.get("field")), view.text(finding.get("channel"))])
    out: dict[str, Any] = {
        "ruleId": rule_id, "ruleIndex": rule_index,
        "level": LEVELS.get(severity, "warning"),
        "message": {"text": view.text(finding.get("message")) or rule_id},
        "locations": _locations(finding, result),
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
    for key in ("host", "url", "channel", "field", "encoding", "location", "request_id", "frame_url",
                "excerpt", "script"):
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
