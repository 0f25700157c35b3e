"""pytest plugin: audit the card flow of any Playwright test.

    def test_pay_invoice(page, card_audit):
        page.goto("https://invoices.example.test/invoice/1001")
        page.get_by_text("Pay Invoice").click()
        card_audit.fill_card()                  # types the canary into the processor's fields
        page.get_by_text("Payment received").wait_for()
        card_audit.assert_no_card_egress()      # judges the recording, writes result.json + report

`card_audit` is built on pytest-playwright's `context` fixture: it records that context (every
page, popup, frame and worker) from the moment the fixture is requested. Settings come from the
"card-audit" option group or from fixtures a conftest overrides (`card_audit_processor`,
`card_audit_policy`), as pytest-playwright does with `browser_context_args`.

The plugin is registered for every pytest session of an environment it is installed in (the
`pytest11` entry point), so it costs nothing unless a test asks for `card_audit`: this module imports
neither Playwright nor the capture layer, and no fixture here is autouse.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from . import __version__
from .evidence import Card, Evidence, StepRecord


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("card-audit", "card-audit: where card data goes")
    group.addoption("--card-audit-processor", default="stripe",
                    help="processor profile (stripe, square, paypal, or a profile YAML path)")
    group.addoption("--card-audit-out", default="reports/pytest",
                    help="folder for each test's result.json and report.html")
    group.addoption("--card-audit-settle-ms", type=int, default=1000,
                    help="quiet network wanted before judging")
    group.addoption("--card-audit-known-host", action="append", default=[],
                    help="host pattern the payment page may use (repeatable)")


@pytest.fixture
def card_audit_processor(pytestconfig: pytest.Config) -> str:
    return pytestconfig.getoption("--card-audit-processor")


@pytest.fixture
def card_audit_policy(pytestconfig: pytest.Config) -> dict[str, list[str]]:
    """Extra host lists, as a scenario's `policy:` holds them."""
    return {"known_hosts": list(pytestconfig.getoption("--card-audit-known-host"))}


UNANNOUNCED_JS = """(() => {
  try { Object.defineProperty(Navigator.prototype, 'webdriver', {get: () => false, configurable: true}); } catch (e) {}
  try { const ua = navigator.userAgent.replace('HeadlessChrome', 'Chrome');
        Object.defineProperty(Navigator.prototype, 'userAgent', {get: () => ua, configurable: true}); } catch (e) {}
})();"""
ANNOUNCED_JS = "() => navigator.webdriver === true || /HeadlessChrome/.test(navigator.userAgent)"


def launch_args() -> list[str]:
    """Chromium flags card-audit's own runs use: no background traffic, no automation banner.
    For `browser_type_launch_args` in a conftest: {"args": audit.pytest_plugin.launch_args()}."""
    from .browser import QUIET_ARGS, STEALTH_ARGS
    return [*QUIET_ARGS, *STEALTH_ARGS]


class CardAudit:
    """A recording of one test's browser context, and its judgement."""

    def __init__(self, context: Any, profile: Any, policy_extra: dict[str, list[str]], out_dir: Path,
                 name: str, source: str, settle_ms: int) -> None:
        from .capture.recording import Recording

        self.context = context
        self.profile = profile
        self.card: Card = Card(**profile.default_card.model_dump())
        self.policy_extra = policy_extra
        self.out_dir = out_dir
        self.name = name
        self.source = source
        self.settle_ms = settle_ms
        self.recording = Recording(context)
        # A skimmer that hides from bots must still show itself. Tests launch the browser their own
        # way, so the page is told what card-audit's own runs say at launch: no webdriver flag, no
        # "HeadlessChrome". judge() checks that it held and fails closed when it did not.
        context.add_init_script(UNANNOUNCED_JS)
        self.steps: list[StepRecord] = []
        self.result: dict[str, Any] | None = None
        self._t0 = datetime.now(timezone.utc)

    def fill_card(self, fields: list[str] | None = None, timeout_ms: int = 15000) -> None:
        """Type the canary, key by key, into the profile's card fields, wherever they are."""
        from .steps import StepRunner

        runner = StepRunner(self.recording.live_pages, self.card, self.profile, timeout_ms,
                            self.recording.frames.note_typed, lambda _n: None)
        began = time.monotonic()
        target = ", ".join(fields) if fields else "card fields"
        try:
            runner.fill_card(fields, timeout_ms)
        except Exception as exc:
            self.steps.append(StepRecord("fill_card", target, False, (str(exc).strip() or type(exc).__name__).splitlines()[0][:500],
                                         duration_s=round(time.monotonic() - began, 3)))
            raise
        finally:
            self.recording.snapshot()
        self.steps.append(StepRecord("fill_card", target, True, duration_s=round(time.monotonic() - began, 3)))

    def _start_url(self, fields: dict[str, Any]) -> str:
        """The first page the test loaded: its site is the merchant's."""
        for request in fields.get("requests", ()):
            if request.page == 0 and request.source == "page" and request.resource_type == "document":
                return request.url
        return next((p.url for p in self.recording.pages if p.url.startswith("http")), "")

    def judge(self, leave_pages: bool = True) -> dict[str, Any]:
        """Settle, judge the recording, write result.json and the report; returns the result.

        With `leave_pages` (the default) the pages are left (about:blank) before judging, so data
        sent on pagehide is seen; pass False to keep using them afterwards."""
        from .outputs import write_run
        from .detect.policy import HostPolicy
        from .result import build_result

        self.recording.settle(self.settle_ms)
        self.recording.snapshot(final=True)
        for page in self.recording.live_pages()[:1]:
            try:
                if page.evaluate(ANNOUNCED_JS):
                    self.recording.session.error("browser", "the page can see it is automated "
                                                 "(navigator.webdriver or HeadlessChrome): a skimmer "
                                                 "that hides from bots would stay silent")
            except Exception:
                pass
        if leave_pages:
            self.recording.unload(500)  # pagehide and keepalive senders
        fields = self.recording.export()
        start = self._start_url(fields)
        browser = self.context.browser
        evidence = Evidence(
            scenario_name=self.name, scenario_file=self.source, processor=self.profile.name,
            start_url=start, card=self.card, started_at=self._t0.isoformat(timespec="seconds"),
            duration_s=round((datetime.now(timezone.utc) - self._t0).total_seconds(), 2),
            completed=all(s.ok for s in self.steps), steps=tuple(self.steps),
            browser=f"Chromium {browser.version}" if browser else "", tool_version=__version__, **fields)
        self.result = build_result(evidence, HostPolicy.build(self.profile, start, self.policy_extra))
        write_run(self.result, self.out_dir)
        return self.result

    def assert_no_card_egress(self) -> None:
        """Fail the test on any critical or high finding (card data to a host not allowed, a card
        field outside the processor's frames, card data at rest), and, failing closed, on a run
        that proves nothing (the canary never typed, a recorder that broke)."""
        result = self.judge()
        report = self.out_dir / "report.html"
        serious = [f for f in result["findings"] if f["severity"] in ("critical", "high")]
        if serious:
            lines = "\n".join(f"  {f['severity']}: {f['rule']}: {f['message']}" for f in serious)
            raise AssertionError(f"card-audit found {len(serious)} problem(s):\n{lines}\nreport: {report}")
        if not any(f["typed_fields"] for f in result["frames"]):
            raise AssertionError("card-audit: the canary card was never typed (call "
                                 "card_audit.fill_card() or type card_audit.card.number): nothing was proven")
        if result["verdict"] != "pass":
            lines = "\n".join(f"  {e['stage']}: {e['message']}" for e in result["errors"])
            raise AssertionError(f"card-audit: inconclusive, the recording cannot be trusted:\n{lines}\n"
                                 f"report: {report}")


@pytest.fixture
def card_audit(request: pytest.FixtureRequest, context: Any, card_audit_processor: str,
               card_audit_policy: dict[str, list[str]], pytestconfig: pytest.Config) -> CardAudit:
    from .profiles import load_profile

    profile = load_profile(card_audit_processor, Path(str(pytestconfig.rootpath)))
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", request.node.nodeid).strip("_")[:120]
    out = Path(pytestconfig.getoption("--card-audit-out")) / slug
    return CardAudit(context, profile, card_audit_policy, out, request.node.nodeid,
                     request.node.nodeid.split("::")[0], pytestconfig.getoption("--card-audit-settle-ms"))
