"""One focused test per channel: each fails if that channel stops being captured.

They read the same corpus run as tests/test_redteam.py (one CLI run of the lab pages) and look at
the recorded evidence itself (requests, frames, API calls, console, storage), not only at the
verdict, so a recorder that goes blind shows up here by name.
"""

from __future__ import annotations

import base64
import re

import pytest

from redteam.harness import corpus as run_corpus

pytestmark = pytest.mark.browser
CANARY = "4000056655665556"


@pytest.fixture(scope="module")
def corpus():
    return run_corpus()


def requests_to(result: dict, host: str) -> list[dict]:
    return [r for r in result["requests"] if r["host"] == host]


def egress_to(result: dict, host: str | None, channel: str) -> dict:
    found = [f for f in result["findings"] if f["rule"] == "card-data-egress" and f["host"] == host
             and f["channel"] == channel and f["field"] == "number"]
    assert found, f"no card-data-egress to {host} over {channel}: {[f['message'] for f in result['findings']]}"
    return found[0]


def test_fetch(corpus):
    result = corpus.result("newegg-fetch-form")
    (req,) = requests_to(result, "neweggstats.com")
    assert req["resource_type"] == "fetch" and req["method"] == "POST" and "number" in req["card_fields"]
    assert egress_to(result, "neweggstats.com", "http")["request_id"] == req["id"]


def test_xhr(corpus):
    result = corpus.result("ba-xhr-json")
    # The JSON POST needs a CORS preflight: the page layer never reports it, the network stack does.
    (preflight,) = [r for r in requests_to(result, "baways.com") if r["method"] == "OPTIONS"]
    assert preflight["seen_by"] == ["network"] and preflight["resource_type"] == "preflight"
    (req,) = [r for r in requests_to(result, "baways.com") if r["method"] != "OPTIONS"]
    assert req["resource_type"] == "xhr" and "number" in req["card_fields"]
    assert any(a["kind"] == "xhr" and "baways.com" in a["url"] for a in result["api_calls"])


def test_form_post_navigation(corpus):
    result = corpus.result("form-action-relay")
    (post,) = requests_to(result, "secure-pay-gateway.com")
    assert post["method"] == "POST" and post["resource_type"] == "document" and post["status"] == 303
    follow = [r for r in result["requests"] if r["redirected_from"] == post["id"]]
    assert follow and follow[0]["host"] == "shop.brightlights.test"


def test_image_pixel(corpus):
    result = corpus.result("exif-image-pixel")
    (req,) = requests_to(result, "cdn-imgstat.com")
    assert req["resource_type"] == "image" and req["method"] == "GET"
    assert egress_to(result, "cdn-imgstat.com", "http")["location"] == "url"


def test_send_beacon(corpus):
    result = corpus.result("beacon-json")
    (req,) = requests_to(result, "metrics-cdnjs.com")
    assert req["channel"] == "beacon"
    egress_to(result, "metrics-cdnjs.com", "beacon")


def test_fetch_keepalive_on_pagehide(corpus):
    result = corpus.result("pagehide-keepalive")
    sent = requests_to(result, "leave-stats.com")
    assert sent and all(r["method"] == "POST" for r in sent)
    assert egress_to(result, "leave-stats.com", "http")["location"] == "body"


def test_websocket_frames(corpus):
    result = corpus.result("kritec-websocket")
    (ws,) = [w for w in result["websockets"] if w["host"] == "ws.kritec-cdn.com"]
    assert [f for f in ws["frames"] if f["direction"] == "sent"]
    assert [f for f in ws["frames"] if f["direction"] == "received"]  # the lab echoes "ok"
    assert egress_to(result, "ws.kritec-cdn.com", "websocket")["location"] == "frame"


def test_eventsource_url(corpus):
    result = corpus.result("eventsource-hex")
    (req,) = requests_to(result, "push.cdn-sync.net")
    assert req["channel"] == "eventsource"
    assert egress_to(result, "push.cdn-sync.net", "eventsource")["encoding"] == "hex"


def test_dns_name_via_resource_hint(corpus):
    # Headless Chromium performs no dns-prefetch (docs: /work/shared/research/processors-and-pci.md,
    # "Chromium error codes"), so no lookup reaches the NetLog: what the tool can see is the
    # instrumentation's record of the hint, and that is what this checks.
    result = corpus.result("dns-prefetch-hint")
    host = f"{CANARY}.d.dnsexfil.net"
    assert any(a["kind"] == "dns-hint" and host in (a["url"] or "") for a in result["api_calls"])
    assert egress_to(result, host, "dns")["location"] == "host"


def test_dns_name_via_request_to_card_host(corpus):
    result = corpus.result("dns-card-hostname")
    host = f"{CANARY}.ns.c2-lookup.net"
    (req,) = requests_to(result, host)
    assert "ERR_NAME_NOT_RESOLVED" in req["failure"]
    assert egress_to(result, host, "dns")["request_id"] == req["id"]


@pytest.mark.parametrize("name, kind, host", [
    ("webrtc-datachannel-send", "rtc-send", None),
    ("webrtc-label", "rtc-label", None),
    ("webrtc-ice-username", "rtc-ice", "turn.rtc-relay.net"),
])
def test_webrtc(name, kind, host, corpus):
    result = corpus.result(name)
    assert any(a["kind"] == kind for a in result["webrtc"])
    assert egress_to(result, host, "webrtc")["location"] in ("data", "url")


def test_request_blocked_by_csp(corpus):
    result = corpus.result("csp-blocked-fetch")
    assert not requests_to(result, "cdn-csp-skim.com")  # no request event: only the console line
    assert any("cdn-csp-skim.com" in c["text"] and "Content Security Policy" in c["text"] for c in result["console"])
    finding = egress_to(result, "cdn-csp-skim.com", "http")
    assert finding["blocked"] is True


def test_host_that_fails_to_resolve(corpus):
    result = corpus.result("unresolvable-host")
    (req,) = requests_to(result, "takendown-skim.com")
    assert "ERR_NAME_NOT_RESOLVED" in req["failure"] and req["body_b64"]
    assert egress_to(result, "takendown-skim.com", "http")["location"] == "body"


# Playwright hands a dedicated worker's requests to the frame that started the worker, so they
# are recorded as the page's; shared workers are watched over CDP (no frame), service workers apart.
@pytest.mark.parametrize("name, host, source", [
    ("dedicated-worker", "wrk-analytics.net", "page"),
    ("shared-worker", "shw-analytics.net", "worker"),
    ("service-worker", "sw-cdn-metrics.com", "service_worker"),
])
def test_workers(name, host, source, corpus):
    result = corpus.result(name)
    (req,) = requests_to(result, host)
    assert req["from"] == source and req["body_b64"]
    assert egress_to(result, host, "http")["request_id"] == req["id"]


def test_redirect_chain(corpus):
    result = corpus.result("redirect-chain")
    (first,) = requests_to(result, "trk.adnet-tracker.com")
    (second,) = requests_to(result, "sink.adnet-cdn.net")
    assert first["status"] == 302 and second["redirected_from"] == first["id"]
    egress_to(result, "trk.adnet-tracker.com", "http")
    egress_to(result, "sink.adnet-cdn.net", "http")


def test_iframe_on_another_host(corpus):
    result = corpus.result("iframe-other-host")
    (req,) = requests_to(result, "frames.cdn-widgets.net")
    # The collector answers 204, so the frame never commits: the navigation request is the evidence.
    assert req["resource_type"] == "document" and req["from"] == "iframe"
    egress_to(result, "frames.cdn-widgets.net", "http")


def test_delayed_send(corpus):
    result = corpus.result("delayed-send")
    (req,) = requests_to(result, "late-sync.net")
    (pay,) = [r for r in result["requests"] if r["host"] == "api.stripe.com"]
    # The timer, set for a second after Pay, fired after it: the page clock is moved forward after
    # the flow, so the real time between the two is no longer the timer's delay.
    assert req["time"] > pay["time"]
    egress_to(result, "late-sync.net", "http")


def test_number_split_over_requests(corpus):
    result = corpus.result("split-groups")
    assert len(requests_to(result, "split-px.net")) == 4
    finding = egress_to(result, "split-px.net", "http")
    assert finding["encoding"] == "split" and len(re.findall(r"\br\d+", finding["location"])) == 4


def test_storage_staging(corpus):
    result = corpus.result("storage-staging")
    kinds = {(s["kind"], s["key"]) for s in result["storage"]}
    assert {("localStorage", "_ga_cache"), ("cookie", "_fbx")} <= kinds
    at_rest = {f["location"] for f in result["findings"] if f["rule"] == "card-data-at-rest"}
    assert at_rest == {"localStorage:_ga_cache", "cookie:_fbx"}


def test_gzip_body_is_binary_on_the_wire(corpus):
    result = corpus.result("gzip-compressionstream")
    (req,) = requests_to(result, "gz-telemetry.com")
    assert base64.b64decode(req["body_b64"])[:2] == b"\x1f\x8b"
    assert egress_to(result, "gz-telemetry.com", "http")["encoding"] == "gzip"
