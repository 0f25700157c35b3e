"""Reports opened in real Chromium: hostile captured data stays inert, nothing is fetched, the CSP
admits the report's own stylesheet and script, and printing expands everything."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from audit.output import render_index, render_report
from test_output_support import SAMPLES, deep_copy, load, write_screenshots

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--disable-background-networking", "--disable-component-update", "--no-first-run"]

PAYLOADS = [
    "<script>window.__pwned=1</script>",
    '"><img src=x onerror=window.__pwned=1>',
    "'><svg onload=window.__pwned=1>",
    "javascript:window.__pwned=1//",
    "</svg><script>window.__pwned=1</script>",
    "</style><script>window.__pwned=1</script>",
    "</pre></textarea><iframe src=\"javascript:top.__pwned=1\"></iframe>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(2)" id=clickme>x</a>',
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    '<link rel=stylesheet href="https://evil.example/x.css"><img src="https://evil.example/p.png">',
    '<base href="https://evil.example/"><form action="https://evil.example/"><button>go</button></form>',
    "]]><!--<script>window.__pwned=1</script>-->",
    "<style>body{background:url(https://evil.example/bg.png)}</style>",
]
# Recorded after the page's own scripts are set up but before any of the report runs.
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()


class Opened:
    def __init__(self, page: Page, requests: list[str], dialogs: list[str], console: list[str]) -> None:
        self.page, self.requests, self.dialogs, self.console = page, requests, dialogs, console


@pytest.fixture
def open_file(chromium_browser: Browser) -> Iterator[Any]:
    context = chromium_browser.new_context()
    pages: list[Page] = []

    def opener(path: Path) -> Opened:
        page = context.new_page()
        pages.append(page)
        requests: list[str] = []
        dialogs: list[str] = []
        console: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("console", lambda m: console.append(m.text))
        page.add_init_script(WATCH)
        page.goto(path.resolve().as_uri(), wait_until="load")
        page.wait_for_timeout(300)  # let any onerror/onload/refresh that slipped through fire
        return Opened(page, requests, dialogs, console)

    yield opener
    context.close()


def _poison(value: Any, counter: list[int]) -> Any:
    """Every string (and every header name) replaced by a payload, cycling through PAYLOADS."""
    if isinstance(value, str):
        counter[0] += 1
        return PAYLOADS[counter[0] % len(PAYLOADS)]
    if isinstance(value, list):
        return [_poison(v, counter) for v in value]
    if isinstance(value, dict):
        return {(_poison(k, counter) if counter[0] % 3 == 0 and k not in _STRUCTURE else k): _poison(v, counter)
                for k, v in value.items()}
    return value


# Keys kept so the poisoned result still has its shape and every section renders.
_STRUCTURE = frozenset(load("fail")) | {"id", "url", "host", "rule", "severity", "message", "frames", "steps",
                                         "screenshot", "name", "file", "processor", "text", "type", "payload_b64",
                                         "body_b64", "headers", "response_headers", "card_fields", "typed_fields",
                                         "card_inputs", "parent", "index", "page", "status", "completed", "proof"}


def _targeted() -> dict[str, Any]:
    """A realistic result whose attacker-reachable strings hold payloads."""
    r = deep_copy(load("fail"))
    p = PAYLOADS
    r["scenario"]["name"] = p[0]
    r["scenario"]["file"] = p[1]
    r["start_url"] = "https://invoices.example.test/?q=" + p[4]
    r["summary"]["proof"].append(p[2])
    r["findings"][1].update(message=p[5], url=p[3], excerpt=p[6], host=p[4], frame_url=p[1])
    r["findings"][2]["message"] = p[8]
    r["requests"][0]["url"] = p[3]
    r["requests"][0]["headers"] = {p[1]: p[0], "referer": p[9]}
    r["requests"][1]["host"] = p[4]
    r["requests"][1]["body_b64"] = base64.b64encode(p[10].encode()).decode()
    r["requests"][2]["failure"] = p[7]
    r["console"][0]["text"] = p[11] + p[12]
    r["frames"][0]["name"] = p[1]
    r["frames"][0]["host"] = p[4]
    r["frames"].append({"index": 1, "url": p[3], "host": p[5], "parent": 0, "page": 0, "name": p[13],
                        "card_inputs": ["number"], "typed_fields": ["number", p[0]], "allowed": False})
    r["websockets"][0]["frames"][0]["payload_b64"] = base64.b64encode(p[4].encode()).decode()
    r["scripts"][0]["url"] = p[2]
    r["api_calls"][0].update(kind=p[11], url=p[3], data=p[0] + p[13])
    r["errors"] = [{"stage": p[0], "message": p[1]}]
    r["storage"][0].update(origin=p[3], key=p[5], value=p[1])
    r["policy"]["profile_sources"][0]["url"] = p[3]
    r["baseline"]["scripts"][0]["justification"] = p[12]
    r["screenshots"] = [f"screenshots/{p[1]}.png", f"screenshots/{p[0].replace('/', '_')}.png"]
    r["flow"]["steps"][0]["target"] = p[9]
    return r


def _assert_inert(opened: Opened, path: Path) -> None:
    page = opened.page
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert opened.dialogs == []
    assert opened.requests == [path.resolve().as_uri()]  # the file itself, nothing else
    assert page.url == path.resolve().as_uri()           # no meta refresh, no navigation
    assert page.evaluate("window.__violations") == []    # nothing even tried to load or run
    assert [f.url for f in page.frames] == [page.url]    # no injected iframe


@pytest.mark.parametrize("kind", ["targeted", "everything-poisoned"])
def test_hostile_captured_data_stays_inert_in_chromium(kind: str, tmp_path: Path, open_file: Any) -> None:
    result = _targeted() if kind == "targeted" else _poison(load("fail"), [0])
    written = write_screenshots(result, tmp_path)
    path = render_report(result, tmp_path)
    opened = open_file(path)
    _assert_inert(opened, path)
    body = opened.page.inner_text("body")
    if kind == "targeted":
        for payload in (PAYLOADS[0], PAYLOADS[1], PAYLOADS[5], PAYLOADS[8]):
            assert payload in body  # shown to the reader as text, not dropped
        # Screenshots with hostile names are still inlined (shown), their names only as text.
        assert opened.page.locator("figure img").count() == len(written) == 5
        assert f"screenshots/{PAYLOADS[1]}.png" in body
    opened.page.emulate_media(media="print")  # printing must not wake anything either
    opened.page.wait_for_timeout(100)
    _assert_inert(opened, path)


def test_hostile_index_stays_inert_in_chromium(tmp_path: Path, open_file: Any) -> None:
    entries = [{"result": _targeted(), "report": "javascript:window.__pwned=1"},
               {"result": _poison(load("pass"), [0]), "report": PAYLOADS[1]}]
    path = render_index(entries, tmp_path)
    opened = open_file(path)
    _assert_inert(opened, path)
    assert PAYLOADS[0] in opened.page.inner_text("body")


@pytest.mark.parametrize("name", SAMPLES)
def test_reports_render_cleanly_under_their_own_csp(name: str, tmp_path: Path, open_file: Any) -> None:
    result = load(name)
    write_screenshots(result, tmp_path)
    path = render_report(result, tmp_path)
    opened = open_file(path)
    _assert_inert(opened, path)
    assert not [m for m in opened.console if "Content Security Policy" in m]
    page = opened.page
    colours = {"pass": "rgb(26, 127, 55)", "fail": "rgb(207, 34, 46)", "inconclusive": "rgb(176, 111, 0)"}
    verdict = page.get_attribute("header.verdict", "class").split("verdict-")[-1]
    # The stylesheet ran (its hash is right): the verdict banner has its colour.
    assert page.eval_on_selector("header.verdict", "e => getComputedStyle(e).backgroundColor") == colours[verdict]
    assert page.locator("#flow svg").count() == 1


def test_filter_script_runs_and_filters_by_text_and_party(tmp_path: Path, open_file: Any) -> None:
    path = render_report(load("adblock"), tmp_path)
    page = open_file(path).page
    assert page.is_visible("#request-filters")  # unhidden by the script: it ran under the CSP
    groups = page.locator(".host-group")
    visible = lambda: [g.get_attribute("data-host") for g in groups.all() if g.is_visible()]  # noqa: E731
    everything = visible()
    assert len(everything) == 6
    page.fill("#filter-text", "payment_methods")
    assert visible() == ["api.stripe.com"]
    assert page.inner_text("#filter-count") == "1 shown"
    page.fill("#filter-text", "")
    page.select_option("#filter-party", "blocked")
    assert visible() == ["m.stripe.network", "stats.example.net"]
    page.select_option("#filter-party", "merchant")
    assert visible() == ["invoices.example.test"]
    page.select_option("#filter-party", "")
    assert visible() == everything


def test_print_hides_filters_and_expands_everything(tmp_path: Path, open_file: Any) -> None:
    path = render_report(load("fail"), tmp_path)
    page = open_file(path).page
    page.fill("#filter-text", "no request matches this")
    body = page.locator("#req-r11 details pre").first
    assert not body.is_visible()
    page.emulate_media(media="print")
    assert not page.is_visible("#request-filters") and not page.is_visible("nav.toc")
    assert body.is_visible()                      # closed <details> shown on paper
    assert page.locator("#req-r11").is_visible()  # and rows a reader filtered out
    pdf = page.pdf()
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
