"""The HTML report and index rendered from sample results: sections, key strings, CSP, robustness."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from audit.output import render_index, render_report, sections, view
from audit.output.flowgraph import build
from test_output_support import SAMPLES, deep_copy, load, png, write_screenshots


class _Collector(HTMLParser):
    """Collects what a browser would load or run: tags with URLs, inline scripts and styles, the CSP."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in = tag if tag in ("script", "style") else None

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            self.scripts.append(data)
        elif self._in == "style":
            self.styles.append(data)


def _parse(path: Path) -> _Collector:
    collector = _Collector()
    collector.feed(path.read_text(encoding="utf-8"))
    return collector


def _sha(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def _render(name: str, tmp_path: Path) -> tuple[dict[str, Any], str]:
    result = load(name)
    write_screenshots(result, tmp_path)
    html = render_report(result, tmp_path).read_text(encoding="utf-8")
    return result, html


EXPECTED = [
    ("pass", ["PASS", "Invoice 1001 paid with Stripe Elements", "4000 0566 5566 5556", "12/34",
              "The card number, expiry, CVC and postal code were typed in a frame served by js.stripe.com.",
              "Chromium 156.0.8078.108", "card-audit 0.1.0", "No findings.", "api.stripe.com", "__privateStripeFrame5",
              "SAQ A", "6.4.3", "11.6.1", "FAQ 1438", "FAQ 1588", "https://docs.stripe.com/ips",
              "Browser storage written", "localStorage"]),
    ("fail", ["FAIL", "Invoice 1002 with a skimmer", "card-data-egress", "card-field-outside-processor",
              "stats.example.net", "ws.stats.example.net", "base64", "script-not-in-baseline",
              "baselines/invoice-1002.json", "Support chat", "missing", 'href="#req-r11"', "Not shown",
              "Data handed to network APIs", "eyJjYXJkIjoiNDAwMDA1NjY1NTY2NTU1Ni"]),
    ("inconclusive", ["INCONCLUSIVE", "Why the audit is inconclusive", "Timeout 15000ms exceeded",
                      "net::ERR_CONNECTION_REFUSED", "web.squarecdn.com", "square"]),
    ("adblock", ["ERR_BLOCKED_BY_CLIENT.Inspector", "Chromium error -20", "The client chose to block the request",
                 "processor-blocked-by-client", "blocked by the browser", "with ad blocking", "m.stripe.network"]),
    ("minimal", ["PASS", "Old run", "paypal", "shop.example.test", "No findings.", "no host received card data"]),
]


@pytest.mark.parametrize(("name", "needles"), EXPECTED, ids=[e[0] for e in EXPECTED])
def test_report_shows_sections_and_key_strings(name: str, needles: list[str], tmp_path: Path) -> None:
    result, html = _render(name, tmp_path)
    for section in ("summary", "flow", "findings", "steps", "requests", "console", "frames", "scripts",
                    "screenshots", "pci"):
        assert f'id="{section}"' in html
    assert f'class="verdict verdict-{view.verdict(result)}"' in html
    for needle in needles:
        assert needle in html, needle


@pytest.mark.parametrize("name", SAMPLES)
def test_report_is_self_contained_under_a_strict_csp(name: str, tmp_path: Path) -> None:
    _, _ = _render(name, tmp_path)
    doc = _parse(tmp_path / "report.html")
    metas = [a for t, a in doc.tags if t == "meta" and (a.get("http-equiv") or "").lower() == "content-security-policy"]
    assert len(metas) == 1
    csp = metas[0]["content"] or ""
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'" and directives["img-src"] == "data:"
    assert [_sha(s) for s in doc.styles] == [directives["style-src"].strip("'")]
    assert [_sha(s) for s in doc.scripts] == [directives["script-src"].strip("'")]
    # Nothing that could fetch: every src/href is a data: URI or a same-document fragment.
    for tag, attrs in doc.tags:
        for key in ("src", "href", "srcset", "action", "data", "poster"):
            value = attrs.get(key)
            if value is not None:
                assert value.startswith(("data:", "#")), (tag, key, value)
    assert not any(t == "script" and a.get("src") for t, a in doc.tags)


def test_screenshots_are_inlined_as_data_uris(tmp_path: Path) -> None:
    result, html = _render("pass", tmp_path)
    expected = "data:image/png;base64," + base64.b64encode(png()).decode()
    images = [a["src"] for t, a in _parse(tmp_path / "report.html").tags if t == "img"]
    assert images == [expected] * 4  # three step screenshots and final.png, each once
    assert "step 1: click text=Pay Invoice" in html


@pytest.mark.parametrize(("relative", "content"), [
    ("../outside.png", png()),                       # outside the output folder
    ("screenshots/evil.png", b"<svg onload=alert(1)>"),  # not an image at all
    ("/etc/hostname", None),                         # absolute path
    ("screenshots/missing.png", None),               # never written
])
def test_screenshots_outside_the_folder_or_not_images_are_not_inlined(
        relative: str, content: bytes | None, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    if content is not None:
        target = (out / relative).resolve()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    html = render_report({"verdict": "pass", "screenshots": [relative]}, out).read_text(encoding="utf-8")
    assert "data:image" not in html
    assert "image not available" in html


def test_request_bodies_are_cut_at_2_kb(tmp_path: Path) -> None:
    body = ("A" * 2040 + "é" + "TAIL-NOT-SHOWN" * 50).encode()
    result = {"requests": [{"id": "r1", "host": "h.example", "url": "https://h.example/",
                            "body_b64": base64.b64encode(body).decode()}]}
    html = render_report(result, tmp_path).read_text(encoding="utf-8")
    assert "A" * 2040 in html and "TAIL-NOT-SHOWN" not in html
    assert f"{len(body)} bytes" in html and f"{len(body) - 2048} more bytes not shown" in html


def test_credentials_in_headers_are_redacted(tmp_path: Path) -> None:
    _, html = _render("pass", tmp_path)
    assert "session=abc123" not in html and "Bearer pk_test_canary" not in html
    assert view.REDACTED in html


DAMAGED = [
    {},
    {"verdict": None, "findings": None, "requests": None, "frames": None, "flow": None},
    {"findings": "x", "requests": [None, 3, "r"], "frames": [1, {"parent": 99}], "console": {"a": 1}},
    {"scenario": "not a dict", "card": ["x"], "summary": {"proof": "one line"}, "duration_s": "NaN"},
    {"frames": [{"index": 0, "parent": 1}, {"index": 1, "parent": 0}]},  # a parent cycle
    {"baseline": {"scripts": None, "headers": [None]}, "policy": {"card_data_hosts": None}},
    {"findings": [{"severity": "bogus", "rule": None}], "websockets": [{"frames": [{"payload_b64": "%%%"}]}]},
]


@pytest.mark.parametrize("result", DAMAGED, ids=range(len(DAMAGED)))
def test_old_or_damaged_results_render_without_crashing(result: dict[str, Any], tmp_path: Path) -> None:
    path = render_report(result, tmp_path)
    html = path.read_text(encoding="utf-8")
    assert html.rstrip().endswith("</html>")
    # Fail closed: a result that records no completed flow is never shown as a pass.
    if "verdict" not in result or result["verdict"] not in ("pass", "fail", "inconclusive"):
        assert 'verdict verdict-pass"' not in html


def test_frame_tree_nests_by_parent_and_survives_cycles() -> None:
    tree = sections.frame_tree(load("pass"))
    assert [f["host"] for f in tree] == ["invoices.example.test"]
    assert [c["name"] for c in tree[0]["children"]] == ["__privateStripeFrame5", "__privateStripeController1"]
    cyclic = sections.frame_tree({"frames": [{"index": 0, "parent": 1}, {"index": 1, "parent": 0}]})
    assert sum(1 + len(n["children"]) for n in cyclic) == 2  # each frame placed exactly once


def test_flow_graph_links_fields_frames_and_hosts() -> None:
    graph = build(load("fail"))
    nodes = {n.key: n for n in graph.nodes}
    assert nodes["host:stats.example.net"].cls == "bad" and nodes["host:ws.stats.example.net"].cls == "bad"
    edges = {(e.source, e.target) for e in graph.edges}
    frame = next(k for k in nodes if k.startswith("frame:"))
    assert ("field:number", frame) in edges and (frame, "host:stats.example.net") in edges
    assert (frame, "host:ws.stats.example.net") in edges  # a WebSocket egress without a request row
    ok = build(load("pass"))
    assert [n.cls for n in ok.nodes if n.key.startswith("host:")] == ["ok"]


def test_index_lists_worst_first_with_counts_and_safe_links(tmp_path: Path) -> None:
    entries = [{"result": load(n), "report": f"{n}/report.html"} for n in ("pass", "inconclusive", "fail")]
    entries.append({"result": load("adblock"), "report": "javascript:window.__pwned=1"})
    entries.append({"result": {"scenario": {"name": "abs"}}, "report": "//evil.example/x"})
    html = render_index(entries, tmp_path).read_text(encoding="utf-8")
    order = [m for m in re.findall(r'class="row-(\w+)"', html)]
    assert order == ["fail", "fail", "inconclusive", "inconclusive", "pass"]
    assert 'class="verdict verdict-fail"' in html
    assert 'href="fail/report.html"' in html and 'href="pass/report.html"' in html
    assert "javascript:" not in html and "evil.example" not in html
    assert '<span class="badge sev-critical">3</span>' in html  # the skimmer's three critical findings
    doc = _parse(tmp_path / "index.html")
    assert all(a.get("href", "").startswith(("data:", "#")) or not re.match(r"^[a-z]+:|^//", a.get("href", ""))
               for t, a in doc.tags if "href" in a)


def test_index_of_nothing_renders(tmp_path: Path) -> None:
    assert "No scenario results." in render_index([], tmp_path).read_text(encoding="utf-8")


def test_captured_markup_is_escaped_in_the_source(tmp_path: Path) -> None:
    result = deep_copy(load("pass"))
    result["scenario"]["name"] = "<script>window.__pwned=1</script>"
    result["frames"][1]["name"] = '"><img src=x onerror=window.__pwned=1>'
    html = render_report(result, tmp_path).read_text(encoding="utf-8")
    assert "<script>window.__pwned" not in html and "<img src=x" not in html
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert "&#34;&gt;&lt;img src=x onerror=window.__pwned=1&gt;" in html
