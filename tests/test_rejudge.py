"""Recorded evidence judged again (`card-audit check`) must reach the same verdict: redaction and
masking in result.json never hide the canary (pure, no browser)."""

from __future__ import annotations

import json

import pytest

from audit.detect.sightings import digit_stream_split
from audit.evidence import Card, Evidence, FrameRecord, RequestRecord, StepRecord, StorageRecord
from audit.detect.policy import HostPolicy
from audit.result import build_result, evidence_from_result

CARD = Card("4000056655665556")
POLICY = HostPolicy(card_data_hosts=("api.stripe.com",), card_frame_hosts=("js.stripe.com",),
                    processor_hosts=("api.stripe.com", "js.stripe.com"), merchant_domain="example.test")


def _evidence(**extra) -> Evidence:
    frames = (FrameRecord(0, "https://shop.example.test/pay", "shop.example.test", None),
              FrameRecord(1, "https://js.stripe.com/v3/card.html", "js.stripe.com", 0,
                          card_inputs=("number",), typed_fields=("number",)))
    return Evidence("s", "s.yaml", "stripe", "https://shop.example.test/pay", CARD, "2026-11-27T00:00:00Z",
                    completed=True, steps=(StepRecord("goto", "https://shop.example.test/pay", True),),
                    frames=frames, **extra)


def _round_trip(evidence: Evidence) -> dict:
    first = build_result(evidence, POLICY)
    again = build_result(evidence_from_result(json.loads(json.dumps(first))),
                         HostPolicy.from_dict(first["policy"]))
    return {"first": first, "again": again}


def _req(url: str, headers: dict[str, str] | None = None) -> RequestRecord:
    host = url.split("/")[2]
    return RequestRecord("r1", "GET", url, host, "image", "https://shop.example.test/pay", "page",
                         headers=headers or {})


@pytest.mark.parametrize("evidence, rule", [
    (_evidence(requests=(_req("https://stats.evil.example/p.gif", {"cookie": "cc=4000056655665556"}),)),
     "card-data-egress"),
    (_evidence(requests=(_req("https://stats.evil.example/p.gif", {"Authorization": "Bearer 4000056655665556"}),)),
     "card-data-egress"),
    (_evidence(storage=(StorageRecord("shop.example.test", "cookie", "cc", "4000056655665556"),)),
     "card-data-at-rest"),
])
def test_redacted_values_keep_the_canary_so_check_agrees(evidence, rule):
    both = _round_trip(evidence)
    for result in both.values():
        assert result["verdict"] == "fail"
        assert rule in {f["rule"] for f in result["findings"]}


def test_secrets_without_the_canary_stay_redacted():
    result = build_result(_evidence(requests=(_req("https://stats.evil.example/p.gif",
                                                   {"cookie": "session=abc"}),)), POLICY)
    assert result["requests"][0]["headers"]["cookie"] == "[redacted]"


def test_foreign_card_numbers_are_masked_everywhere():
    other = "4242424242424242"
    result = build_result(_evidence(requests=(_req(f"https://x.example/p?c={other}"),)), POLICY)
    text = json.dumps(result, ensure_ascii=False)
    assert other not in text and "4242 •••• •••• 4242" in text


@pytest.mark.parametrize("payloads, spanned", [
    ([f"/k.gif?i={i}&k={d}".encode() for i, d in enumerate(CARD.number)], tuple(range(16))),
    ([b"/a?p=1&d=40000566", b"/a?p=2&d=55665556"], (0, 1)),
    ([b"/a?d=4000&n=1", b"/a?d=0566&n=2", b"/a?d=55665556&n=3"], (0, 1, 2)),
    ([b"/x?t=1795779589123", b"/x?t=1795779589456"], ()),
    ([b"/x?c=4000056655665556"], ()),                     # whole in one request: not a split
    ([b"/a?last4=5556", b"/a?bin=400005"], ()),            # BIN and last four are no card number
])
def test_split_digit_streams(payloads, spanned):
    assert digit_stream_split(payloads, CARD.number) == spanned


def test_scenario_source_and_step_times_survive_a_round_trip():
    """SARIF places findings on the scenario file and step line: `check` and `report` keep both."""
    source = {"path": "scenarios/pay.yaml", "lines": [4, 9, 10], "card_steps": [2]}
    import dataclasses
    evidence = dataclasses.replace(_evidence(scenario_source=source),
                                   steps=(StepRecord("goto", "https://shop.example.test/pay", True, time=0.1),
                                          StepRecord("fill_card", "card fields", True, time=1.5)))
    both = _round_trip(evidence)
    for result in both.values():
        assert result["scenario"]["source"] == source
        assert [s["time"] for s in result["flow"]["steps"]] == [0.1, 1.5]
