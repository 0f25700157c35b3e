"""Recorded evidence judged again (`card-audit check`) must reach the same verdict: redaction and
masking in result.json never hide the canary (pure, no browser)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json

import pytest

from audit.detect.sightings import digit_stream_split
from audit.evidence import (Card, Evidence, FrameRecord, RequestRecord, StepRecord, StorageRecord, WireExcerpt,
                            WireRecord)
from audit.detect.policy import HostPolicy
from audit.result import WIRE_KEPT, build_result, evidence_from_result

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
    evidence = dataclasses.replace(_evidence(scenario_source=source),
                                   steps=(StepRecord("goto", "https://shop.example.test/pay", True, time=0.1),
                                          StepRecord("fill_card", "card fields", True, time=1.5)))
    both = _round_trip(evidence)
    for result in both.values():
        assert result["scenario"]["source"] == source
        assert [s["time"] for s in result["flow"]["steps"]] == [0.1, 1.5]


def _connection(body: bytes, host: str = "stats.evil.example", extra: bytes = b"") -> WireRecord:
    """One HTTP/1.1 connection that sent a POST of `body` (no request record names it)."""
    head = (f"POST /big HTTP/1.1\r\nHost: {host}\r\nCookie: session=abc\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    return WireRecord(id="c1", host=host, port=443, sent_b64=base64.b64encode(head + body + extra).decode())


def _wire_findings(result: dict) -> set[tuple[str, str, str]]:
    return {(f["rule"], f["host"], f["field"]) for f in result["findings"] if f["channel"] == "wire"}


@pytest.mark.parametrize("body", [
    b"x" * (9 * 2**20) + b"&cc=4000056655665556&cvc=737",                  # past the cap, at the end
    base64.b64encode(b"p" * (9 * 2**20) + b'{"n":"4000056655665556"}'),  # encoded, past the cap
])
def test_a_connection_above_the_cap_is_cut_but_judged_again_alike(body):
    """Above the cap, result.json keeps a connection's size, hash, first bytes and the bytes around
    each card sighting; `check` judging that finds the same card data again."""
    wire = _connection(body)
    both = _round_trip(_evidence(wire=(wire,)))
    first, again = both["first"], both["again"]
    assert _wire_findings(first) and _wire_findings(again) == _wire_findings(first)
    assert again["verdict"] == first["verdict"] == "fail"
    stored = first["wire"][0]
    cut = stored["cut"]
    assert cut["size"] == len(wire.sent) == stored["bytes"] and cut["sha256"] == hashlib.sha256(wire.sent).hexdigest()
    assert cut["kept"] == WIRE_KEPT and cut["cut"] == len(wire.sent) - WIRE_KEPT and cut["searched"] is True
    assert len(base64.b64decode(stored["sent_b64"])) <= WIRE_KEPT
    assert len(json.dumps(first)) < 2**20
    assert b"[redacted]" in base64.b64decode(stored["sent_b64"])  # cookies redacted as ever
    # Judged again, the record says the same: nothing is cut twice or lost.
    assert again["wire"][0]["cut"] == cut and again["wire"][0]["excerpts"] == stored["excerpts"]


def test_a_connection_at_or_below_the_cap_is_kept_whole():
    wire = _connection(b"y" * 1000 + b"&cc=4000056655665556")
    result = build_result(_evidence(wire=(wire,)), POLICY)
    assert "cut" not in result["wire"][0] and result["wire"][0]["bytes"] == len(wire.sent)
    assert _wire_findings(result)


def test_a_sighting_whose_bytes_were_too_large_to_keep_still_counts():
    """An excerpt cut to fit (or kept empty) no longer shows the card: what the sweep found while
    the run was live still holds when the record is judged again (fail closed)."""
    wire = dataclasses.replace(_connection(b"z" * 100), size=50 * 2**20, sha256="0" * 64, excerpts=(
        WireExcerpt(what="body", field="number", encoding="gzip>base64", offset=0, sent_b64=""),))
    result = build_result(_evidence(wire=(wire,)), POLICY)
    assert ("card-data-egress", "stats.evil.example", "number") in _wire_findings(result)
    assert result["wire"][0]["cut"]["size"] == 50 * 2**20
