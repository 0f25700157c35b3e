"""The rules about what the payer sees and where the payer's keys go, over plain evidence (pure)."""

from __future__ import annotations

from audit.detect.policy import HostPolicy, judge
from audit.evidence import Card, CardFormRecord, Evidence, FrameRecord, KeystrokeRecord
from audit.result import build_result, evidence_from_result

POLICY = HostPolicy(card_data_hosts=("api.stripe.com",), card_frame_hosts=("js.stripe.com",),
                    processor_hosts=("*.stripe.com",), merchant_domain="shop.test")
PAGE = "https://shop.test/pay"
STRIPE = "https://js.stripe.com/v3/elements-inner-card.html"


def _keys(covered_by=None, cover_host=None, landed_host="js.stripe.com"):
    return KeystrokeRecord(field="number", target="input[name=cardnumber]", target_frame_url=STRIPE,
                           target_host="js.stripe.com", landed="input" if covered_by else "input[name=cardnumber]",
                           landed_frame_url=PAGE if covered_by else STRIPE, landed_host=landed_host,
                           x=300, y=150, covered_by=covered_by, cover_frame_url=PAGE if covered_by else None,
                           cover_host=cover_host)


def _evidence(keys=(), frames=(), forms=()):
    return Evidence(scenario_name="t", scenario_file="t.yaml", processor="stripe", start_url=PAGE,
                    card=Card(number="4000056655665556"), started_at="", completed=True,
                    frames=tuple(frames), keystrokes=tuple(keys), card_forms=tuple(forms))


def rules(evidence):
    return [(f.rule, f.host, f.severity) for f in judge(evidence, POLICY)[0]]


def test_covered_field_is_card_field_obscured_naming_element_frame_and_host():
    findings, _ = judge(_evidence([_keys("input#ovl", "shop.test", "shop.test")]), POLICY)
    (f,) = [f for f in findings if f.rule == "card-field-obscured"]
    assert (f.severity, f.host, f.frame_url, f.location, f.field) == ("critical", "shop.test", PAGE, "input#ovl", "number")
    assert "input#ovl" in f.message and "shop.test" in f.message


def test_processor_own_elements_on_top_and_clear_clicks_are_not_findings():
    assert rules(_evidence([_keys()])) == []
    assert rules(_evidence([_keys("span.placeholder", "js.stripe.com")])) == []


def test_hidden_card_inputs_are_judged_and_named_apart():
    frame = FrameRecord(index=0, url=PAGE, host="shop.test", parent=None, hidden_inputs=("number",))
    form = CardFormRecord(frame=0, frame_url=PAGE, host="shop.test", fields=("number",),
                          where="closed shadow root of <x-pay>", hidden=True)
    findings, _ = judge(_evidence(frames=[frame], forms=[form]), POLICY)
    (f,) = findings
    assert f.rule == "card-field-outside-processor" and f.host == "shop.test"
    assert "hidden from the payer" in f.message and "closed shadow root of <x-pay>" in f.message


def test_keystrokes_and_forms_survive_the_result_round_trip():
    frame = FrameRecord(index=0, url=PAGE, host="shop.test", parent=None, card_inputs=("number",))
    form = CardFormRecord(frame=0, frame_url=PAGE, host="shop.test", fields=("number", "cvc"),
                          where="open shadow root of <div>", screenshot="screenshots/card-form-01.png")
    evidence = _evidence([_keys("input#ovl", "shop.test", "shop.test")], [frame], [form])
    result = build_result(evidence, POLICY)
    again = evidence_from_result(result)
    assert again.keystrokes == evidence.keystrokes and again.card_forms == evidence.card_forms
    assert rules(again) == rules(evidence)
    assert any("lay on top of the field" in s for s in result["summary"]["proof"])
    assert any("Card forms a payer could see: 1" in s for s in result["summary"]["proof"])
