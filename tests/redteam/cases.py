"""Every corpus case: its page, the write-up it is modelled on, and exactly what the audit must find.

A case is one checkout page under `sites/shop.brightlights.test/`, paid through like a payer would
(fill_card, Pay, wait for the receipt). `egress` is the EXACT set of card-data-egress findings
(host, channel) the audit must report, each with its `blocked` flag and, where the case is about
an encoding, the encoding label; `also` lists other findings that must be there too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MERCHANT = "shop.brightlights.test"
PAY_STEPS = ("  - fill_card: [number, expiry, cvc]\n"
             "  - click: \"#pay\"\n"
             "  - wait_for: {text: Payment received}\n")
# Pages with the processor's own frame (or a fake of it): its postal code field is typed too.
STRIPE_STEPS = PAY_STEPS.replace("[number, expiry, cvc]", "{}")


@dataclass(frozen=True)
class Egress:
    host: str | None                 # None: a peer the browser never names (WebRTC data channel)
    channel: str
    encoding: str | None = None      # checked when the case is about an encoding
    blocked: bool = False
    field: str = "number"


@dataclass(frozen=True)
class Also:
    rule: str
    host: str
    channel: str | None = None
    location: str | None = None


@dataclass(frozen=True)
class Case:
    name: str
    source: str                      # the write-up, as named at the top of the page
    channel: str
    encoding: str
    egress: tuple[Egress, ...] = ()
    also: tuple[Also, ...] = ()
    steps: str = PAY_STEPS
    policy: str = ""                 # extra scenario YAML under `policy:`
    settle_ms: int = 1000
    processor: str = "stripe"
    settle: str = ""                 # the scenario's `settle:` (flow mapping), e.g. "{fast_forward: 0}"

    @property
    def legit(self) -> bool:
        return self.name.startswith("legit-")

    @property
    def start_url(self) -> str:
        return f"https://{MERCHANT}/{self.name}"


# The merchant's own card form (Stripe.js v2 style) is outside the processor's frames.
FORM = Also("card-field-outside-processor", MERCHANT)
# Something of the merchant's page lies on top of the processor's card field.
OBSCURED = Also("card-field-obscured", MERCHANT)

SKIMMERS: tuple[Case, ...] = (
    Case("ba-xhr-json", "RiskIQ, Inside the Magecart Breach of British Airways (2018)", "XHR", "plain",
         (Egress("baways.com", "http", "plain"),), (FORM,)),
    Case("newegg-fetch-form", "RiskIQ, Another Victim of the Magecart Assault Emerges: Newegg (2018)", "fetch",
         "form", (Egress("neweggstats.com", "http", "form"),), (FORM,)),
    Case("form-action-relay", "Sansec / Malwarebytes, fake checkout form relays", "form POST (navigation)",
         "form", (Egress("secure-pay-gateway.com", "http", "form"),), (FORM,)),
    Case("exif-image-pixel", "Malwarebytes Labs, Web skimmer hides within EXIF metadata (2020)", "image GET",
         "base64", (Egress("cdn-imgstat.com", "http", "base64"),), (FORM,)),
    Case("beacon-json", "Akamai / Jscrambler, sendBeacon skimmers", "sendBeacon", "plain",
         (Egress("metrics-cdnjs.com", "beacon", "plain"),), (FORM,)),
    Case("pagehide-keepalive", "Trustwave / Malwarebytes, exfiltration on leaving the page",
         "fetch(keepalive) on pagehide", "base64", (Egress("leave-stats.com", "http", "base64"),), (FORM,)),
    Case("kritec-websocket", "Sansec / Malwarebytes, Kritec (2023)", "WebSocket", "base64",
         (Egress("ws.kritec-cdn.com", "websocket", "base64"),), (FORM,)),
    Case("eventsource-hex", "Sansec, uncommon exfiltration channels", "EventSource URL", "hex",
         (Egress("push.cdn-sync.net", "eventsource", "hex"),), (FORM,)),
    Case("dns-prefetch-hint", "Akamai / academic, DNS-prefetch exfiltration", "DNS via resource hint", "plain",
         (Egress("4000056655665556.d.dnsexfil.net", "dns", "plain"),), (FORM,)),
    Case("dns-card-hostname", "Akamai / academic, DNS exfiltration", "DNS via card-derived host", "plain",
         (Egress("4000056655665556.ns.c2-lookup.net", "dns", "plain"),), (FORM,)),
    Case("unresolvable-host", "RiskIQ (2018), taken-down collector domains", "XHR, host does not resolve",
         "base64", (Egress("takendown-skim.com", "http", "base64"),), (FORM,)),
    Case("webrtc-datachannel-send", "Sansec, WebRTC skimmer", "WebRTC send()", "plain",
         (Egress(None, "webrtc", "plain"),), (FORM,)),
    Case("webrtc-label", "Sansec, WebRTC skimmer", "WebRTC label", "base64",
         (Egress(None, "webrtc", "base64"),), (FORM,)),
    Case("webrtc-ice-username", "Sansec, WebRTC skimmer", "WebRTC ICE username", "plain",
         (Egress("turn.rtc-relay.net", "webrtc", "plain"),), (FORM,)),
    Case("csp-blocked-fetch", "Sansec / Jscrambler, skimmers meeting a CSP", "fetch blocked by CSP", "base64",
         (Egress("cdn-csp-skim.com", "http", "base64", blocked=True),), (FORM,)),
    Case("dedicated-worker", "Akamai, skimmers in web workers", "dedicated worker", "base64",
         (Egress("wrk-analytics.net", "http", "base64"),), (FORM,)),
    Case("shared-worker", "Akamai, skimmers in web workers", "shared worker", "base64",
         (Egress("shw-analytics.net", "http", "base64"),), (FORM,)),
    Case("service-worker", "Jscrambler / Akamai, service-worker skimmers", "service worker", "base64",
         (Egress("sw-cdn-metrics.com", "http", "base64"),), (FORM,)),
    Case("redirect-chain", "Malwarebytes, redirecting tracking hosts", "redirect chain", "base64",
         (Egress("trk.adnet-tracker.com", "http", "url>base64"), Egress("sink.adnet-cdn.net", "http", "base64")),
         (FORM,)),
    Case("iframe-other-host", "Sansec, hidden iframes", "iframe on another host", "base64url",
         (Egress("frames.cdn-widgets.net", "http", "base64url"),), (FORM,)),
    Case("lookalike-iframe", "Sansec / Malwarebytes, look-alike payment iframes", "iframe on a look-alike host",
         "form", (Egress("api.stripe-checkout.net", "http", "form"),),
         (Also("card-field-outside-processor", "js.stripe-checkout.net"),),
         steps=("  - fill_card: [number, expiry, cvc]\n"
                "  - click: {selector: \"#pay\", frame: \"#card-frame\"}\n"
                "  - wait_for: {text: Payment received}\n")),
    Case("fake-overlay", "Sansec, fake payment overlays", "fetch from an overlay", "plain",
         (Egress("overlay-cdn.com", "http", "plain"),), (FORM,), steps=STRIPE_STEPS),
    Case("keylogger", "Sansec, keyloggers", "XHR GET", "plain",
         (Egress("keys.cdn-fonts.net", "http", "plain"),), (FORM,)),
    Case("keylogger-per-key", "Sansec, keyloggers", "image GET per keystroke", "split",
         (Egress("px.keystroke-cdn.net", "http", "split"),), (FORM,)),
    Case("split-halves", "Trustwave / Malwarebytes, split card data", "fetch, twice", "split",
         (Egress("halves-sync.net", "http", "split"),), (FORM,)),
    Case("blob-beacon", "Akamai / Jscrambler, sendBeacon skimmers", "sendBeacon with a Blob", "plain",
         (Egress("blob-metrics.net", "beacon", "plain"),), (FORM,)),
    Case("bot-evasion", "Sansec, skimmers hiding from bots", "fetch", "base64",
         (Egress("cdn-jquery-ui.com", "http", "base64"),), (FORM,)),
    Case("delayed-send", "Malwarebytes, delayed exfiltration", "fetch on a timer", "base64",
         (Egress("late-sync.net", "http", "base64"),), (FORM,), settle_ms=1500),
    Case("delayed-timeout-5s", "Sansec / Malwarebytes, delayed exfiltration", "fetch after setTimeout 5 s", "base64",
         (Egress("t5-metrics.net", "http"),), (FORM,)),
    Case("idle-check-flush", "Sentry Session Replay's idle-session handling, copied by a skimmer",
         "fetch after a 5 s timer, dropped once the session is 5 min idle", "base64",
         (Egress("idle-flush.net", "http"),), (FORM,)),
    Case("sandbox-timer", "@sentry/browser getNativeImplementation, a timer taken from a removed iframe",
         "fetch after a 5 s timer of a removed iframe", "base64", (Egress("native-timer.net", "http"),), (FORM,)),
    Case("delayed-interval-60s", "Sansec / Malwarebytes, delayed exfiltration", "image GET on setInterval 60 s", "hex",
         (Egress("i60-pixel.com", "http"),), (FORM,)),
    Case("delayed-timeout-10min", "Sansec / Malwarebytes, delayed exfiltration", "sendBeacon after setTimeout 10 min",
         "plain", (Egress("t600-sync.net", "beacon"),), (FORM,)),
    Case("delayed-interval-10min", "Sansec / Malwarebytes, delayed exfiltration", "fetch on setInterval (10 min)",
         "plain", (Egress("i600-collect.net", "http"),), (FORM,)),
    Case("split-groups", "Akamai, split sends", "several image GETs", "split",
         (Egress("split-px.net", "http", "split"),), (FORM,)),
    Case("storage-staging", "Trustwave / Sucuri, staging in localStorage and cookies", "storage", "base64",
         (), (FORM, Also("card-data-at-rest", MERCHANT, "storage", "localStorage:_ga_cache"),
               Also("card-data-at-rest", MERCHANT, "storage", "cookie:_fbx"))),
    Case("double-base64-404", "Akamai, 404-page skimmer and relay (2023)", "fetch to the merchant's host",
         "base64>base64", (Egress(MERCHANT, "http", "base64>base64"),), (FORM,)),
    Case("urlsafe-base64", "Sansec, URL-safe base64", "fetch GET", "base64url",
         (Egress("b64u-stats.com", "http", "base64url"),), (FORM,)),
    Case("reversed", "Sucuri, reversed strings", "fetch POST", "reversed",
         (Egress("rev-metrics.com", "http", "reversed"),), (FORM,)),
    Case("rot13-base64", "Sansec, ROT13 over base64", "fetch POST", "rot13>base64",
         (Egress("rot-cdn.net", "http", "rot13>base64"),), (FORM,)),
    Case("json-unicode-escapes", "Sucuri, unicode escapes", "XHR POST", "json",
         (Egress("uni-escape.net", "http", "json"),), (FORM,)),
    Case("gzip-compressionstream", "Jscrambler / Akamai, compressed loot", "fetch POST (gzip bytes)", "gzip",
         (Egress("gz-telemetry.com", "http", "gzip"),), (FORM,)),
    Case("sha256-digest", "carding write-ups, hashed card numbers", "fetch POST", "sha256",
         (Egress("hash-match.net", "http", "sha256"),), (FORM,)),
    Case("telegram-bot", "Malwarebytes Labs, Telegram Bot API exfiltration (2020)", "fetch GET", "plain",
         (Egress("api.telegram.org", "http", "plain"),), (FORM,)),
    # What the page layer cannot see and the browser's network stack can (the second witness).
    Case("receipt-redirect-beacon", "Trustwave / Malwarebytes, exfiltration on leaving the page",
         "sendBeacon on pagehide during the receipt redirect", "plain",
         (Egress("leave-beacon.net", "beacon", "plain"),), (FORM,)),
    Case("receipt-redirect-keepalive", "Trustwave / Malwarebytes, exfiltration on leaving the page",
         "fetch(keepalive) on pagehide during the receipt redirect", "base64",
         (Egress("leave-keepalive.net", "http", "base64"),), (FORM,)),
    Case("fetch-later", "Fetch standard fetchLater(); Trustwave / Malwarebytes, exfiltration on leaving the page",
         "fetchLater() sent by the browser on page leave", "base64",
         (Egress("later-beacon.net", "http", "base64"),), (FORM,)),
    Case("speculation-prefetch", "Speculation Rules API; Sansec, skimmers abusing browser features",
         "speculation-rules prefetch", "base64", (Egress("spec-prefetch.net", "http", "base64"),), (FORM,)),
    Case("download-link", "lab case, exfiltration through downloads", "download request", "base64",
         (Egress("dl-collect.net", "http", "base64"),), (FORM,)),
    Case("media-src", "lab case, exfiltration through media elements", "audio source request", "base64",
         (Egress("media-collect.net", "http", "base64"),), (FORM,)),
    Case("favicon-path", "Sansec, skimmers disguised as favicons", "Image() to a path ending in /favicon.ico",
         "base64", (Egress("ico-cdn.net", "http"),), (FORM,)),
    Case("referer-unsafe-url", "web.dev, Referrer-Policy unsafe-url", "Referer header of a third-party image",
         # The merchant's own server gets the card too: the browser's favicon request carries the
         # page URL in its Referer (same origin).
         "plain", (Egress("px.ref-leak.net", "http", "plain"), Egress(MERCHANT, "http", "plain")), (FORM,)),
    Case("anchor-ping", "WHATWG HTML hyperlink auditing", "<a ping> clicked by script", "url",
         (Egress("ping-relay.net", "beacon"),), (FORM,)),
    Case("css-background", "Sansec / Jscrambler, CSS-loaded images", "CSS background-image URL", "hex",
         (Egress("bg-sprites.net", "http", "hex"),), (FORM,)),
    Case("worker-importscripts", "Akamai, skimmers in web workers", "worker importScripts URL", "base64",
         (Egress("lib-cdnjs.net", "http"),), (FORM,)),
    Case("google-analytics-abuse", "Kaspersky Securelist, Web skimming with Google Analytics (2020)",
         "image GET to a known host", "base64", (Egress("www.google-analytics.com", "http", "url>base64"),),
         (FORM,), policy="  known_hosts: [www.google-analytics.com]\n"),
    # A payer's eyes: card forms the payer sees after paying, wherever the page puts them.
    Case("reentry-open-shadow", "Sansec, double-entry skimmers", "re-entry form, open shadow root", "n/a",
         (), (FORM,), steps=STRIPE_STEPS),
    Case("reentry-closed-shadow", "Sansec, double-entry skimmers", "re-entry form, closed shadow root (German)",
         "n/a", (), (FORM,), steps=STRIPE_STEPS),
    Case("reentry-custom-element", "Sansec, double-entry skimmers", "re-entry form, custom element (French)",
         "n/a", (), (FORM,), steps=STRIPE_STEPS),
    Case("reentry-srcdoc-frame", "Sansec, double-entry skimmers", "re-entry form, srcdoc iframe (Spanish)",
         "n/a", (), (FORM,), steps=STRIPE_STEPS),
    Case("reentry-deep-nesting", "Sansec, double-entry skimmers", "re-entry form 400 elements deep",
         "n/a", (), (FORM,), steps=STRIPE_STEPS),
    Case("reentry-data-frame", "Sansec, double-entry skimmers", "re-entry form, data: URL iframe",
         "n/a", (), (FORM,), steps=STRIPE_STEPS),
    Case("reentry-blob-frame", "Sansec, double-entry skimmers", "re-entry form, blob: URL iframe",
         "n/a", (), (FORM,), steps=STRIPE_STEPS),
    Case("reentry-pip-window", "Sansec, double-entry skimmers", "re-entry form in a Document Picture-in-Picture window",
         "n/a", (), (FORM,), steps=STRIPE_STEPS),
    Case("reentry-blank-popup", "Sansec, double-entry skimmers", "re-entry form written into an about:blank popup",
         "n/a", (), (FORM,), steps=STRIPE_STEPS),
    Case("reentry-div-labels", "Sansec, double-entry skimmers", "re-entry form labelled by the text before each input",
         "n/a", (), (FORM,), steps=STRIPE_STEPS),
    Case("reentry-after-10s", "Sansec / Malwarebytes, delayed skimmers", "re-entry form 10 s after payment",
         "n/a", (), (FORM,), steps=STRIPE_STEPS),
    Case("reentry-mouse-gated", "Sansec / Jscrambler, forms shown to humans only", "re-entry form after 25 mouse moves",
         "n/a", (), (FORM,), steps=STRIPE_STEPS),
    Case("reentry-webgl-gated", "Sansec / Akamai, WebGL sandbox checks", "re-entry form unless SwiftShader",
         "n/a", (), (FORM,), steps=STRIPE_STEPS),
    # A payer's hands: what lies on top of the processor's field gets the clicks and the keys.
    Case("overlay-stripe-transparent", "Sansec / Malwarebytes, overlays on payment iframes", "transparent input over Stripe",
         "plain", (Egress("ovl-keys.net", "http"),), (OBSCURED, FORM), steps=STRIPE_STEPS),
    Case("overlay-square-lookalike", "Sansec / Malwarebytes, fake forms over processor iframes",
         "look-alike form over Square", "plain", (Egress("sq-lookalike.net", "http"),), (OBSCURED, FORM),
         steps=STRIPE_STEPS, processor="square"),
    # Composed encodings and real library formats: found by the decoding search, chain outermost first.
    Case("hex-of-base64", "Sansec / Jscrambler, stacked encodings", "image GET", "hex>base64",
         (Egress("cdn-hexstat.net", "http", "hex>base64"),), (FORM,)),
    Case("hex-reversed-number", "Sucuri, reversed and hex-encoded numbers", "fetch GET", "hex>reversed",
         (Egress("rhx-metrics.com", "http", "hex>reversed"),), (FORM,)),
    Case("xor-base64", "Malwarebytes Labs / Sansec, XOR then base64", "fetch POST", "base64>xor",
         (Egress("xor-sync.net", "http", "base64>xor"),), (FORM,)),
    Case("rrweb-packed", "rrweb @rrweb/packer, session-replay leaks", "fetch POST (packed events)", "json>deflate",
         (Egress("rec.replay-cdn.net", "http", "json>deflate"),), (FORM,)),
    Case("lz-string-batch", "analytics SDKs' lz64 batches (lz-string compressToBase64)", "fetch POST (form)",
         "lzstring", (Egress("events.lz-analytics.io", "http", "lzstring"),), (FORM,)),
    Case("replay-envelope-zlib", "Sentry Session Replay envelopes", "fetch POST (envelope, zlib item inside)",
         "deflate", (Egress("o11.ingest.replay-envelope.net", "http", "deflate"),), (FORM,)),
    Case("multipart-gzip-file", "Jscrambler / Akamai, compressed loot", "fetch POST (multipart, gzip file)",
         "gzip", (Egress("upload.gz-forms.net", "http", "gzip"),), (FORM,)),
    Case("split-fields-one-request", "Akamai, split sends", "image GET (four fields)", "split",
         (Egress("px.box-split.net", "http", "split"),), (FORM,)),
    Case("digit-shift", "constructed, a digit substitution (Caesar shift)", "fetch POST (form)", "substituted",
         (Egress("px.digit-shift.net", "http", "substituted"),), (FORM,)),
    Case("z85-json", "constructed, base85 for base64; ZeroMQ 32/Z85", "fetch POST (JSON)", "z85",
         (Egress("t.z85-metrics.net", "http", "z85"),), (FORM,)),
    Case("uneven-cut-json", "constructed, the number cut at uneven places", "fetch POST (JSON)", "split",
         (Egress("ev.uneven-parts.net", "http", "split"),), (FORM,)),
    Case("xor-key-base64", "constructed, a repeated-key XOR", "fetch POST (form)", "base64>xor",
         (Egress("cdn.xor-assets.net", "http", "base64>xor"),), (FORM,)),
)

LEGIT: tuple[Case, ...] = (
    Case("legit-stripe-elements", "Stripe Card Element docs", "processor iframe", "n/a", steps=STRIPE_STEPS),
    Case("legit-processor-telemetry", "Stripe domains, fraud signals", "processor telemetry", "n/a", steps=STRIPE_STEPS),
    Case("legit-receipt-last4", "Stripe PaymentMethod object", "fetch to the merchant", "n/a", steps=STRIPE_STEPS),
    Case("legit-analytics-bin-last4", "PCI DSS 3.4.1", "fetch to analytics", "n/a", steps=STRIPE_STEPS,
         policy="  known_hosts: [stats.example.net]\n"),
    Case("legit-masked-replay", "session-replay masking", "beacon to session replay", "n/a", steps=STRIPE_STEPS),
    Case("legit-prices-ids-dates", "lab: CVC/expiry look-alike digits", "fetch to analytics", "n/a", steps=STRIPE_STEPS,
         policy="  known_hosts: [stats.example.net]\n"),
    Case("legit-csp-report", "CSP3 report-uri", "CSP report", "n/a", steps=STRIPE_STEPS),
    Case("legit-websocket-chat", "lab: help-desk chat", "WebSocket", "n/a", steps=STRIPE_STEPS),
    Case("legit-web-components", "MDN, Using shadow DOM", "shadow-root inputs for name, email, amount", "n/a",
         steps=STRIPE_STEPS),
    Case("legit-card-on-file", "Stripe, saved cards by brand and last four", "card-on-file chooser", "n/a",
         steps=STRIPE_STEPS),
    Case("legit-replay-processor-frame", "rrweb @rrweb/packer on a Stripe Elements page", "fetch to session replay",
         "n/a", steps=STRIPE_STEPS),
    Case("legit-receipt-redirect-beacon", "MDN sendBeacon on page leave", "beacon during the receipt redirect",
         "n/a", steps=STRIPE_STEPS, policy="  known_hosts: [stats.example.net]\n"),
)

ALL: tuple[Case, ...] = SKIMMERS + LEGIT
BY_NAME = {c.name: c for c in ALL}
# Collector-only hosts that answer (and record) without any files of their own. Hosts left out
# on purpose never resolve: takendown-skim.com and the card-derived DNS names.
COLLECTORS: tuple[str, ...] = (
    "baways.com", "neweggstats.com", "secure-pay-gateway.com", "cdn-imgstat.com", "metrics-cdnjs.com",
    "leave-stats.com", "ws.kritec-cdn.com", "push.cdn-sync.net", "cdn-csp-skim.com", "wrk-analytics.net",
    "shw-analytics.net", "sw-cdn-metrics.com", "trk.adnet-tracker.com", "sink.adnet-cdn.net",
    "frames.cdn-widgets.net", "api.stripe-checkout.net", "overlay-cdn.com", "keys.cdn-fonts.net",
    "cdn-jquery-ui.com", "late-sync.net", "split-px.net", "b64u-stats.com", "rev-metrics.com",
    "rot-cdn.net", "uni-escape.net", "gz-telemetry.com", "hash-match.net", "api.telegram.org",
    "www.google-analytics.com", "replay.sessioncam-lab.com", "csp.report-collector.net",
    "fonts.lab-typekit.net", "chat.helpdesk-lab.net", "turn.rtc-relay.net",
    "t5-metrics.net", "idle-flush.net", "native-timer.net", "i60-pixel.com", "t600-sync.net", "i600-collect.net",
    "px.keystroke-cdn.net", "halves-sync.net", "blob-metrics.net", "ovl-keys.net", "sq-lookalike.net",
    "cdn-hexstat.net", "rhx-metrics.com", "xor-sync.net", "rec.replay-cdn.net", "events.lz-analytics.io",
    "leave-beacon.net", "leave-keepalive.net", "ico-cdn.net", "px.ref-leak.net", "ping-relay.net",
    "bg-sprites.net", "lib-cdnjs.net", "later-beacon.net", "spec-prefetch.net",
    "dl-collect.net", "media-collect.net", "o11.ingest.replay-envelope.net", "upload.gz-forms.net",
    "px.box-split.net", "px.digit-shift.net", "t.z85-metrics.net", "ev.uneven-parts.net",
    "cdn.xor-assets.net",
)
