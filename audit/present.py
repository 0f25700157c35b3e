"""`card-audit run ... --present`: the audit as a live demonstration of the manual DevTools procedure.

The browser is headed and slowed down (400 ms before each action); DevTools opens with every tab
on its Network panel, as a person doing the check by hand would have it; the terminal shows each
request as it completes (host, party, whether it carries the canary card, whether it was blocked)
with a progress line for the steps; the report opens in the browser at the end.

The feed is a live view for the audience: it looks for the canary in each request's URL and body
with the tool's matcher; the verdict is the report's, from everything recorded (headers, frames,
WebSockets, the network stack's own record, storage).

DevTools: Chromium's `--auto-open-devtools-for-tabs` opens it with each tab
(https://peter.sh/experiments/chromium-command-line-switches/); the panel it shows first is the
DevTools setting `panel-selected-tab`, kept in the profile's `Preferences` under
`devtools.preferences` as a JSON-encoded string, so the run uses a fresh profile holding it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable

from .detect.match import find_card
from .hosts import host_of, matches_any, same_site

SLOW_MO_MS = 400
DEVTOOLS_WAIT_S = 20.0
DEVTOOLS_PAINT_MS = 2000
DEVTOOLS_ARGS = ("--auto-open-devtools-for-tabs", "--window-size=1600,1000")
# Values are JSON strings inside the JSON file, as DevTools stores them.
DEVTOOLS_PREFERENCES = {
    "panel-selected-tab": json.dumps("network"),
    "currentDockState": json.dumps("bottom"),
    "releaseNoteVersionSeen": json.dumps("999"),   # no "What's new" drawer over the panel
}


def devtools_profile(user_data_dir: Path) -> Path:
    """A browser profile whose DevTools opens on the Network panel."""
    prefs = user_data_dir / "Default" / "Preferences"
    prefs.parent.mkdir(parents=True, exist_ok=True)
    # Autofill off: its "save card?" bubble would cover the card fields the audience watches.
    prefs.write_text(json.dumps({"devtools": {"preferences": DEVTOOLS_PREFERENCES},
                                 "autofill": {"credit_card_enabled": False, "profile_enabled": False}}))
    return prefs


class LiveFeed:
    """One terminal line per request the browser finished or gave up on."""

    def __init__(self, scenario: Any, write: Callable[[str], None], colour: bool | None = None) -> None:
        self.write = write
        self.colour = sys.stderr.isatty() if colour is None else colour
        profile = scenario.profile
        self.processor_hosts = [*profile.processor_hosts, *scenario.policy.card_data_hosts,
                                *scenario.policy.card_frame_hosts]
        self.start_host = scenario.start_host
        self.merchant_hosts = list(scenario.merchant_hosts)
        self.card = scenario.resolved_card(profile)
        self.seen = 0
        self.steps = 0

    # -- wiring ------------------------------------------------------------------------------
    def attach(self, context: Any) -> None:
        context.on("requestfinished", lambda r: self._guard(self._finished, r))
        context.on("requestfailed", lambda r: self._guard(self._failed, r))
        if not context.pages:
            context.new_page()  # the first tab, which DevTools opens with
        self.write("DevTools: open on the Network panel" if wait_for_devtools(context)
                   else f"DevTools: not open after {DEVTOOLS_WAIT_S:.0f} s; the run goes on without it")
        self.write("live feed: one line per request — status, host, party, card data, blocked "
                   "(a live view: the report holds the verdict)")

    def progress(self, line: str) -> None:
        """The run's progress lines; a step becomes a progress bar."""
        if line.startswith("step ") and "/" in line.split(":")[0]:
            done, total = line.split(":")[0][5:].split("/")
            n, of = int(done), int(total)
            bar = "#" * n + "-" * (of - n)
            self.write(self._paint(f"[{bar}] {line}", "1"))
        else:
            self.write(line)

    def _guard(self, handler: Callable[[Any], None], request: Any) -> None:
        try:
            handler(request)
        except Exception:  # the feed is for the audience: it never disturbs the audit
            pass

    # -- lines -------------------------------------------------------------------------------
    def _finished(self, request: Any) -> None:
        try:
            response = request.response()
            status = str(response.status) if response is not None else "---"
        except Exception:
            status = "---"
        self._line(request, status, None)

    def _failed(self, request: Any) -> None:
        self._line(request, "---", request.failure or "failed")

    def party(self, host: str) -> str:
        if matches_any(host, self.processor_hosts):
            return "processor"
        if host == self.start_host or same_site(host, self.start_host) or matches_any(host, self.merchant_hosts):
            return "merchant"
        return "third party"

    def carries_card(self, request: Any) -> bool:
        data = request.url.encode()
        try:
            body = request.post_data_buffer
        except Exception:
            body = None
        if body:
            data += b"\n" + body
        # The tool's own matcher: every encoding the report would name.
        return any(m.field in ("number", "cvc") and m.context_ok for m in find_card(data, self.card))

    def _line(self, request: Any, status: str, failure: str | None) -> None:
        url = request.url
        if not url.startswith(("http://", "https://", "ws://", "wss://")):
            return
        host = host_of(url)
        party = self.party(host)
        card = self.carries_card(request)
        blocked = failure is not None and any(k in failure for k in ("BLOCKED", "blocked", "csp", "NAME_NOT_RESOLVED"))
        self.seen += 1
        card_text = "CARD DATA" if card else "no card"
        if card and party != "processor":
            card_text = self._paint(card_text, "1;31")
        elif card:
            card_text = self._paint(card_text, "32")
        tail = f"blocked ({failure})" if blocked else (f"failed ({failure})" if failure else "")
        if blocked:
            tail = self._paint(tail, "33")
        path = url.split("?")[0].split("//", 1)[-1][len(host):][:48]
        self.write(f"  {status:>3}  {host[:32]:<32} {party:<11}  {card_text:<9}  "
                   f"{request.resource_type:<10} {path} {tail}".rstrip())

    def _paint(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.colour else text


def wait_for_devtools(context: Any) -> bool:
    """Wait until the DevTools window of the first tab exists, so the audience sees every request
    of the flow in it; the browser's own target list says when."""
    import time
    browser = context.browser
    if browser is None:
        return False
    try:
        session = browser.new_browser_cdp_session()
    except Exception:
        return False
    deadline = time.monotonic() + DEVTOOLS_WAIT_S
    try:
        while time.monotonic() < deadline:
            targets = session.send("Target.getTargets")["targetInfos"]
            if any(t.get("url", "").startswith("devtools://") for t in targets):
                context.pages[0].wait_for_timeout(DEVTOOLS_PAINT_MS)  # its first paint
                return True
            time.sleep(0.2)
    except Exception:
        return False
    finally:
        try:
            session.detach()
        except Exception:
            pass
    return False


def open_report(report: Path) -> bool:
    """Show the report in the user's browser (the one Python's webbrowser finds, or $BROWSER)."""
    import webbrowser
    try:
        return bool(webbrowser.open(report.resolve().as_uri()))
    except Exception:
        return False
