"""Red-team cases built from the REAL session-replay and compression libraries, as npm ships them.

A careless integration records the merchant's own checkout page, card form included, with a real
library and sends the recording to the library's collector: the audit must fail it with
card-data-egress to that host and the encoding chain the library's format makes. The same
libraries used the safe way (inputs masked; the card in the processor's cross-origin frame) must
not be reported as card-data-egress.

The libraries are not part of the repository: `tests/libs/package.json` pins them and
`npm ci --prefix tests/libs` (run by `bash setup.sh test`) installs them. At test time their
browser builds are copied into a temporary sites folder next to the pages of `tests/libs/pages/`
and the shared checkout partials, served by one LabWorld, and every case runs through
`card-audit run DIR --workers 2` (`tests/redteam/harness.py`).

Ground truth: each collector's requests as the lab server received them are decoded here, with
the library's own decoder where there is one, so a case whose library did not deliver the card is
a broken case, never a pass.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import shutil
import subprocess
import tempfile
import zipfile
import zlib
from pathlib import Path
from urllib.parse import unquote_to_bytes

import pytest

from conftest import ROOT
from redteam.cases import MERCHANT, STRIPE_STEPS, Also, Case, Egress
from redteam.harness import SITES, Corpus, run_cases

pytestmark = pytest.mark.browser

LIBS = ROOT / "tests" / "libs"
NODE_MODULES = LIBS / "node_modules"
# Served name under /vendor/ -> the file of the installed package (tests/libs/package.json).
VENDOR = {
    "rrweb.umd.min.js": "rrweb/dist/rrweb.umd.min.cjs",        # rrweb 2.2.2: UMD, global `rrweb`
    "lz-string.min.js": "lz-string/libs/lz-string.min.js",     # lz-string 1.5.0: global `LZString`
    "fflate.umd.js": "fflate/umd/index.js",                    # fflate 0.8.3: global `fflate`
    "posthog-array.full.js": "posthog-js/dist/array.full.js",  # posthog-js 1.449.2: global `posthog`
}
# @rrweb/packer 2.1.6: its UMD builds require() a sibling .cjs chunk, so the ES modules of dist/
# (pack.js and the hashed chunk it imports) are served as they are.
VENDOR_DIRS = {"rrweb-packer": "@rrweb/packer/dist"}

FORM = Also("card-field-outside-processor", MERCHANT)
POSTHOG_HOST = "ph.posthog-lab.net"
# What the PostHog API host answers at /array/<token>/config: recording on, sent to /s/ (the keys
# posthog-js 1.449.2 dist/array.full.js reads: sessionRecording.endpoint, supportedCompression).
POSTHOG_REMOTE_CONFIG = {"token": "phc_lab", "supportedCompression": ["gzip", "gzip-js"],
                         "sessionRecording": {"endpoint": "/s/"}, "hasFeatureFlags": False}
# What a case may show next to its own finding, (channels, labels): posthog-js sends what is left
# of its queue with sendBeacon when the page is left (dist/array.full.js, transport "sendBeacon"),
# and compresses a mutation's data into a string inside the gzipped batch, so a card in a mutation
# is gzip>json>gzip.
MAY_ALSO = {"real-posthog-replay": ({"beacon"}, {"gzip>json>gzip"})}
# The canary as a payer types it into the merchant's plain input (digits, maybe grouped).
CANARY = re.compile(rb"4000 ?0566 ?5566 ?5556")

SKIMMERS: tuple[Case, ...] = (
    Case("real-rrweb-json", "rrweb 2.2.2 record(), events POSTed as JSON", "fetch POST (JSON)", "plain",
         (Egress("rec.rrweb-collect.net", "http", "plain"),), (FORM,), settle_ms=2000),
    Case("real-rrweb-packer", "rrweb 2.2.2 record() with @rrweb/packer 2.1.6 pack as packFn",
         "fetch POST (JSON array of packed events)", "json>deflate",
         (Egress("rec.replay-packed.net", "http", "json>deflate"),), (FORM,), settle_ms=2000),
    Case("real-rrweb-lzstring", "rrweb 2.2.2 record(), batch compressed with lz-string 1.5.0 compressToBase64",
         # encodeURIComponent of lz-string's base64 writes its + / = as %2B %2F %3D: the chain is
         # URL-encoding over lz-string.
         "fetch POST (form)", "url>lzstring", (Egress("e.lz64-analytics.net", "http", "url>lzstring"),), (FORM,),
         settle_ms=2000),
    Case("real-rrweb-fflate-gzip", "rrweb 2.2.2 record(), batch gzipped with fflate 0.8.3 gzipSync",
         "fetch POST (gzip bytes)", "gzip", (Egress("i.gz-replay.net", "http", "gzip"),), (FORM,), settle_ms=2000),
    Case("real-rrweb-lzstring-uint8", "rrweb 2.2.2 record(), batch compressed with lz-string 1.5.0 compressToUint8Array",
         "fetch POST (binary body)", "lzstring", (Egress("u8.lz-replay.net", "http", "lzstring"),), (FORM,),
         settle_ms=2000),
    Case("real-rrweb-fflate-zip", "rrweb 2.2.2 record(), batch archived with fflate 0.8.3 zipSync",
         "fetch POST (ZIP archive)", "zip", (Egress("up.zip-replay.net", "http", "zip"),), (FORM,), settle_ms=2000),
    # posthog-js 1.449.2 under the default settle: its recording batches go out every few seconds
    # and on page leave.
    Case("real-posthog-replay", "posthog-js 1.449.2 session recording, maskAllInputs: false",
         "fetch POST ($snapshot batch, gzip)", "gzip", (Egress(POSTHOG_HOST, "http", "gzip"),), (FORM,),
         settle_ms=2000),
    # Sentry flushes a replay segment 5 to 5.5 s after its first new event (@sentry/replay 11.12.0,
    # DEFAULT_FLUSH_MIN_DELAY / DEFAULT_FLUSH_MAX_DELAY): the payer stays on the receipt 8 s at
    # the real pace, the page clock is not moved (see SENTRY_CLOCK_JUMP for what moving it does).
    Case("real-sentry-replay", "@sentry/browser 11.12.0 replayIntegration({maskAllInputs: false})",
         "fetch POST (envelope, compressed recording item)", "deflate",
         (Egress("o11.ingest.sentry-lab.net", "http", "deflate"),), (FORM,), settle_ms=8000,
         settle="{fast_forward: 0}"),
)
SENTRY = SKIMMERS[-1]
# The same page under the default settle, with its own DSN host (build_sites serves
# real-sentry-replay.html under this name too). Two things of the page clock kept Sentry from ever
# sending the segment holding the card: its flush timer is a setTimeout taken from an iframe it
# removes at once (@sentry/browser 11.12.0, getNativeImplementation), left on that frame's clock,
# which nothing drove (now handed to the page's clock: audit/runner.py, ONE_CLOCK_JS); and jumps
# of 5 minutes made the session look idle, at which @sentry/replay 11.12.0 pauses the replay
# (SESSION_IDLE_PAUSE_DURATION = 300000) (now seconds pass first: Recording.fast_forward).
SENTRY_CLOCK_JUMP = Case("real-sentry-replay-clock-jump", SENTRY.source, SENTRY.channel, SENTRY.encoding,
                         (Egress("o13.ingest.sentry-lab.net", "http", "deflate"),), (FORM,), settle_ms=8000)
# The same libraries used the safe way: no card-data-egress.
MASKED = Case("real-rrweb-masked", "rrweb 2.2.2 record({maskAllInputs: true})", "fetch POST (JSON, masked)",
              "n/a", (), (FORM,), settle_ms=2000)
LEGIT = Case("legit-real-rrweb-elements", "rrweb 2.2.2 + @rrweb/packer 2.1.6 on a Stripe Elements page",
             "fetch POST to session replay", "n/a", steps=STRIPE_STEPS, settle_ms=2000)
SENTRY_MASKED = Case("real-sentry-autocomplete-masked", "@sentry/browser 11.12.0 on inputs with autocomplete cc-*",
                     "fetch POST (envelope, masked)", "n/a", (), (FORM,), settle_ms=8000,
                     settle="{fast_forward: 0}")
ALL = (*SKIMMERS, SENTRY_CLOCK_JUMP, MASKED, SENTRY_MASKED, LEGIT)
COLLECTORS = ("rec.rrweb-collect.net", "rec.replay-packed.net", "e.lz64-analytics.net", "i.gz-replay.net",
              "rec.masked-replay.net", "replay.elements-lab.net", "o11.ingest.sentry-lab.net",
              "o12.ingest.sentry-lab.net", "o13.ingest.sentry-lab.net",
              "u8.lz-replay.net", "up.zip-replay.net")  # POSTHOG_HOST has a folder: a site


def build_sites(into: Path) -> Path:
    """The lab's sites folder: the shared partials, the merchant's checkout scripts, the pages and
    the libraries' browser builds under /vendor/."""
    if not (NODE_MODULES / "rrweb").is_dir():
        pytest.fail("the real libraries are not installed: run `npm ci --prefix tests/libs` "
                    "(bash setup.sh test does)")
    shutil.copytree(SITES / "_partials", into / "_partials")
    shop = into / MERCHANT
    shutil.copytree(SITES / MERCHANT / "static", shop / "static")
    for page in (LIBS / "pages").glob("*.html"):
        shutil.copy(page, shop / page.name)
    # The Sentry page once more, under the clock-jump case's name, reporting to its own project host.
    page = (shop / f"{SENTRY.name}.html").read_text()
    (shop / f"{SENTRY_CLOCK_JUMP.name}.html").write_text(
        page.replace("@o11.ingest.sentry-lab.net/11", "@o13.ingest.sentry-lab.net/13"))
    # The PostHog project's remote config, as its API host serves it (GET /array/<token>/config),
    # naming the session recording endpoint.
    config = into / POSTHOG_HOST / "array" / "phc_lab" / "config"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps(POSTHOG_REMOTE_CONFIG))
    config.with_name("config.headers").write_text("Access-Control-Allow-Origin: *\nContent-Type: application/json\n")
    (shop / "vendor").mkdir()
    for name, source in VENDOR.items():
        shutil.copy(NODE_MODULES / source, shop / "vendor" / name)
    # @sentry/browser as a merchant's build ships it: one script, bundled by esbuild (tests/libs/src/sentry.js).
    subprocess.run([str(NODE_MODULES / ".bin" / "esbuild"), str(LIBS / "src" / "sentry.js"), "--bundle",
                    "--format=iife", "--minify", "--log-level=warning",
                    f"--outfile={shop / 'vendor' / 'sentry-browser.js'}"], cwd=LIBS, check=True, timeout=120)
    for name, source in VENDOR_DIRS.items():
        (shop / "vendor" / name).mkdir()
        for file in (NODE_MODULES / source).glob("*.js"):
            shutil.copy(file, shop / "vendor" / name / file.name)
    return into


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    sites = build_sites(Path(tempfile.mkdtemp(prefix="real-libs-sites-")))
    return run_cases(ALL, sites, COLLECTORS, prefix="real-libs-")


def egress(result: dict) -> list[dict]:
    return [f for f in result["findings"] if f["rule"] == "card-data-egress"]


# -- ground truth: what each collector really received, decoded the library's way -----------------
def lz_decompress(data: bytes, form: str) -> bytes:
    """lz-string's own decompressFromBase64 / decompressFromUint8Array (the installed npm
    package), run by node."""
    script = ("const L=require('lz-string');const c=[];process.stdin.on('data',d=>c.push(d)).on('end',()=>{"
              "const d=Buffer.concat(c);process.stdout.write(("
              + ("L.decompressFromBase64(d.toString())" if form == "base64" else "L.decompressFromUint8Array(new Uint8Array(d))")
              + ")||'')})")
    proc = subprocess.run(["node", "-e", script], input=data, capture_output=True, cwd=LIBS, timeout=60, check=True)
    return proc.stdout


def unpack(packed: str) -> bytes:
    """@rrweb/packer 2.1.6's format (dist/pack.js): a zlib stream kept as a latin-1 string."""
    return zlib.decompress(packed.encode("latin-1"))


def decoded(name: str, body: bytes) -> list[bytes]:
    """What a collector's request body holds, in the clear."""
    if name == "real-rrweb-packer" or name == "legit-real-rrweb-elements":
        return [unpack(e) for e in json.loads(body)["events"]]
    if name == "real-rrweb-lzstring":
        (data,) = re.findall(rb"(?:^|&)data=([^&]*)", body)
        return [lz_decompress(unquote_to_bytes(data), "base64")]
    if name == "real-rrweb-lzstring-uint8":
        return [lz_decompress(body, "uint8array")]
    if name == "real-rrweb-fflate-zip":
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return [archive.read(member) for member in archive.namelist()]
    if name == "real-rrweb-fflate-gzip":
        return [gzip.decompress(body)]
    if name == "real-posthog-replay":  # batches gzipped (compression=gzip-js), /flags/ plain JSON
        return [gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body]
    if name.startswith("real-sentry-"):
        return [payload for kind, payload in envelope_items(body) if kind == "replay_recording"]
    return [body]


def envelope_items(body: bytes) -> list[tuple[str, bytes]]:
    """A Sentry envelope as @sentry/core 11.12.0 writes it (build/esm/utils/envelope.js,
    serializeEnvelope): the header's JSON, then per item a line break, the item header's JSON (its
    `type`, and its `length` in bytes when given: createReplayEnvelope gives it), a line break and
    the payload. A replay_recording payload is `{"segment_id":N}` and a line break, then the
    recording (@sentry/replay 11.12.0, prepareRecordingData), compressed or, without the worker,
    plain JSON."""
    items, rest = [], body.split(b"\n", 1)[1] if b"\n" in body else b""
    while rest.strip():
        line, _, rest = rest.partition(b"\n")
        header = json.loads(line)
        if "length" in header:
            payload, rest = rest[:header["length"]], rest[header["length"]:].removeprefix(b"\n")
        else:
            payload, _, rest = rest.partition(b"\n")
        if header.get("type") == "replay_recording":
            _, _, recording = payload.partition(b"\n")
            payload = recording if recording[:1] in (b"[", b"{") else zlib.decompress(recording)
        items.append((header.get("type", ""), payload))
    return items


def delivered(corpus: Corpus, case: Case, host: str) -> list[bytes]:
    got = [r for r in corpus.received(host) if r.method == "POST" and r.body]
    assert got, f"{case.name}: {host} received nothing"
    return [plain for r in got for plain in decoded(case.name, r.body)]


# -- the real libraries, used carelessly: caught -------------------------------------------------
@pytest.mark.parametrize("case", SKIMMERS, ids=lambda c: c.name)
def test_real_library_leak_is_caught(case: Case, corpus: Corpus):
    (want,) = case.egress
    # The library really did deliver the card to its collector (otherwise the case is broken).
    plain = delivered(corpus, case, want.host)
    assert any(CANARY.search(p) for p in plain), f"{case.name}: the card never reached {want.host}"
    result = corpus.result(case.name)
    assert result["flow"]["completed"], result["flow"]["steps"]
    assert result["verdict"] == "fail"
    assert not result["errors"], result["errors"]
    found = egress(result)
    channels, labels = MAY_ALSO.get(case.name, (set(), set()))
    seen = {(f["host"], f["channel"]) for f in found}
    assert (want.host, want.channel) in seen and seen <= {(want.host, c) for c in {want.channel, *channels}}, \
        [(f["host"], f["channel"], f["encoding"], f["field"]) for f in found]
    mine = [f for f in found if f["field"] == "number" and f["channel"] == want.channel]
    assert mine and mine[0]["severity"] == "critical" and mine[0]["blocked"] is False
    assert want.encoding in {f["encoding"] for f in mine}
    assert {f["encoding"] for f in found if f["field"] == "number"} <= {want.encoding, *labels}, found
    for also in case.also:
        assert [f for f in result["findings"] if f["rule"] == also.rule and f["host"] == also.host], also


# -- the same libraries used the safe way: no card-data-egress -----------------------------------
@pytest.mark.parametrize("case, host", [(MASKED, "rec.masked-replay.net"),
                                        (SENTRY_MASKED, "o12.ingest.sentry-lab.net")], ids=lambda v: getattr(v, "name", v))
def test_masked_recording_of_a_merchant_form_sends_no_card(case: Case, host: str, corpus: Corpus):
    plain = delivered(corpus, case, host)
    assert not any(CANARY.search(p) for p in plain)
    # The recorder did see the payer type: the masked value of the card field, one * per character.
    assert any(re.search(rb'"text":"\*{16,19}"', p) for p in plain)
    result = corpus.result(case.name)
    assert result["flow"]["completed"], result["flow"]["steps"]
    assert egress(result) == [], [(f["host"], f["encoding"]) for f in egress(result)]
    assert not result["errors"], result["errors"]
    # The merchant's own card form is still a finding, of its own rule.
    assert [f for f in result["findings"] if f["rule"] == "card-field-outside-processor" and f["host"] == MERCHANT]


def test_recording_a_stripe_elements_page_stays_clean(corpus: Corpus):
    plain = delivered(corpus, LEGIT, "replay.elements-lab.net")
    assert not any(CANARY.search(p) for p in plain)
    # The replay did record the page: its full snapshot reached the replay host (rrweb 2.2.2
    # dist/rrweb.js: EventType["FullSnapshot"] = 2).
    assert any(p.startswith(b'{"type":2,') for p in plain)
    result = corpus.result(LEGIT.name)
    assert result["flow"]["completed"], result["flow"]["steps"]
    assert egress(result) == [], [(f["host"], f["encoding"]) for f in egress(result)]
    assert result["verdict"] == "pass", [f["message"] for f in result["findings"]]
    assert not result["errors"], result["errors"]
    carriers = [r for r in result["requests"] if "number" in r["card_fields"]]
    assert {r["host"] for r in carriers} == {"api.stripe.com"}


# -- what moving the page clock does to a real library -------------------------------------------
def test_sentry_replay_is_caught_under_the_default_settle(corpus: Corpus):
    """The page clock moves seconds first, then minutes (`clock_jumps`): Sentry Replay flushes
    while its session is not yet 5 minutes idle, as in a real browser. Moved in 5-minute jumps,
    it found the session idle and never sent the segment holding the card."""
    case = SENTRY_CLOCK_JUMP
    result = corpus.result(case.name)
    assert result["capture"]["clock_forward_ms"] > 0  # the default settle did move the clock
    (want,) = case.egress
    assert {(f["host"], f["encoding"]) for f in egress(result)} == {(want.host, want.encoding)}
    assert any(CANARY.search(p) for p in delivered(corpus, case, want.host))


def test_corpus_runs_through_the_cli(corpus: Corpus):
    assert corpus.code == 1, corpus.stderr[-2000:]
    assert "Traceback" not in corpus.stderr
