"""Pure helpers every renderer reads results through: verdict, host patterns, previews, headers."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from audit.output import view

DONE = {"flow": {"completed": True}}


@pytest.mark.parametrize(("result", "expected"), [
    ({**DONE, "verdict": "pass"}, "pass"),
    ({**DONE}, "pass"),
    ({}, "inconclusive"),                                                      # nothing says the flow completed
    ({"verdict": "pass"}, "inconclusive"),                                     # recorded pass, no completed flow
    ({**DONE, "verdict": "pass", "errors": [{"stage": "capture", "message": "x"}]}, "inconclusive"),
    ({**DONE, "verdict": "pass", "findings": [{"severity": "high"}]}, "fail"),
    ({**DONE, "verdict": "fail"}, "fail"),                                     # a recorded fail stays a fail
    ({**DONE, "verdict": "inconclusive"}, "inconclusive"),
    ({"findings": [{"severity": "critical"}], "errors": [{"message": "x"}]}, "fail"),
    ({**DONE, "findings": [{"severity": "medium"}, {"severity": "low"}]}, "pass"),
    ({**DONE, "verdict": "PASS"}, "pass"),
    ({**DONE, "verdict": "bogus"}, "pass"),
])
def test_verdict(result: dict[str, Any], expected: str) -> None:
    assert view.verdict(result) == expected


@pytest.mark.parametrize(("host", "pattern", "expected"), [
    ("api.stripe.com", "api.stripe.com", True),
    ("API.Stripe.com.", "api.stripe.com", True),
    ("js.stripe.com", "*.stripe.com", True),
    ("a.b.js.stripe.com", "*.js.stripe.com", True),
    ("stripe.com", "*.stripe.com", False),            # the bare domain is not a subdomain
    ("evilstripe.com", "*.stripe.com", False),
    ("api.stripe.com.evil.example", "api.stripe.com", False),
    ("stats.example.net", "api.stripe.com", False),
])
def test_host_matches(host: str, pattern: str, expected: bool) -> None:
    assert view.host_matches(host, pattern) is expected


@pytest.mark.parametrize(("raw", "text", "size"), [
    (b"", "", 0),
    (b"card=4242", "card=4242", 9),
    (b"\xff\xfeok", "\ufffd\ufffdok", 4),
    (b"x" * 3000, "x" * 2048, 3000),
    (b"\xc3\xa9" * 1100, "\u00e9" * 1024, 2200),
])
def test_preview_is_utf8_with_replacement_and_capped(raw: bytes, text: str, size: int) -> None:
    assert view.preview(base64.b64encode(raw).decode()) == (text, size)


@pytest.mark.parametrize("value", [None, 12, "not base64!!", {"a": 1}])
def test_preview_of_junk_is_empty(value: Any) -> None:
    assert view.preview(value)[1] in (0, len(view.decode_b64(value)))


@pytest.mark.parametrize(("value", "expected"), [
    ({"Cookie": "a=1", "X-Test": "1"}, {"Cookie": view.REDACTED, "X-Test": "1"}),
    ({"authorization": "Bearer t", "proxy-authorization": "Basic x"}, {"authorization": view.REDACTED,
                                                                       "proxy-authorization": view.REDACTED}),
    ([{"name": "Set-Cookie", "value": "s=1"}, {"name": "Accept", "value": "*/*"}],
     {"Set-Cookie": view.REDACTED, "Accept": "*/*"}),
    (None, {}), ("junk", {}),
])
def test_headers_redact_credentials(value: Any, expected: dict[str, str]) -> None:
    assert view.headers(value) == expected


def test_findings_sorted_by_severity_unknown_last() -> None:
    result = {"findings": [{"severity": "low"}, {"severity": "??"}, {"severity": "critical"}, None, {"severity": "high"}]}
    assert [f["severity"] for f in view.findings(result)] == ["critical", "high", "low", "??"]
