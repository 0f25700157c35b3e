"""Console messages and uncaught page errors from every page, frame and worker.

A page can write to the console without end. Lines the browser writes about requests (a request
its Content Security Policy refused, one the ad blocker stopped) are what the network layer may
not show, so every one of them is kept, up to a bound past which the capture is incomplete. Other
lines are kept up to a count and a length; the rest are counted and said, never judged: card data
in the console has not left the browser.

Past the count, Playwright's console events are let go: each costs the driver and this process a
message and an object, and a page writing a hundred thousand lines a second would hold every
browser call behind them (the start page of such a page never finished loading within a 150 s
deadline). The lines the browser writes itself (refused and blocked requests) are then read from
the page's own DevTools Log domain, which carries no `console.log` line of the page's
(https://chromedevtools.github.io/devtools-protocol/tot/Log/#event-entryAdded).

Letting the events go is not enough: the browser still sends the driver every line (Playwright
keeps the Runtime domain on). On a page writing 100,000 lines a second, a bare Playwright script
waited 66 ms at the median for a script evaluation and 2.3 s for a screenshot, and an audit took
115-158 s (the card step alone 45-77 s). Past the count, the page's console methods are therefore
made to do nothing as well, in every frame and worker the context has and in every document it
loads later: the same bare script then waited 1.4 ms and 0.07 s, and the audit took 29 s. What
the page writes after that point was not kept before either; the browser's own lines come from
the Log domain and are unaffected. The report says it was done."""

from __future__ import annotations

import asyncio
from typing import Any

from ..evidence import ConsoleRecord
from . import Recorder, later
from .network import is_blocked_by_client


CONSOLE_KEPT = 5_000              # ordinary lines kept...
CONSOLE_TEXT_MAX = 64 * 1024      # ...each up to this many characters
REPORT_LINES_MAX = 50_000         # lines about requests (CSP refusals, blocked by client) kept in full
MUTE_TIMEOUT_S = 30.0             # one frame's or worker's mute

# The methods that write a console line, made to do nothing (the page's own `console` object, in
# its main world: the one the page's scripts call).
MUTE_JS = """(() => {
  const quiet = function () {};
  for (const name of ['log', 'info', 'debug', 'warn', 'error', 'dir', 'dirxml', 'table', 'trace',
                      'group', 'groupCollapsed', 'groupEnd', 'clear', 'count', 'countReset', 'assert',
                      'time', 'timeLog', 'timeEnd', 'timeStamp']) {
    try { console[name] = quiet; } catch (e) {}
  }
})()"""


def reports_a_request(text: str) -> bool:
    """A line the browser writes about a request it did not send: a CSP refusal ("... violates
    the following Content Security Policy directive") or an ad blocker's stop."""
    return "violates" in text or is_blocked_by_client(text)


class ConsoleRecorder(Recorder):
    name = "console"

    def __init__(self, session: Any) -> None:
        super().__init__(session)
        self._lines: list[ConsoleRecord] = []
        self._ordinary = 0
        self._reports = 0
        self._dropped = 0
        self._cut = 0
        self._context: Any = None
        self._listener: Any = None
        self._browser_only = False   # past the count: only the browser's own lines, from the Log domain
        self._muting: asyncio.Task[Any] | None = None
        self._muted: list[int] = []    # [frames and workers muted, those that did not answer, documents to come]

    def attach_context(self, context: Any) -> None:
        # Context-level console events cover every page and popup, and workers as well.
        self._context = context
        self._listener = self.on(self._console)
        context.on("console", self._listener)

    def attach_page(self, page: Any, index: int) -> None:
        page.on("pageerror", self.on(lambda err: self._add("pageerror", str(err), None, page.url,
                                                           index, "page")))
        if self._context is None:
            return
        try:  # read only once the console events were let go (the lines are the same until then)
            cdp = self._context.new_cdp_session(page)
            cdp.on("Log.entryAdded", self.on(lambda event: self._logged(event, page, index)))
            cdp.send("Log.enable")
        except Exception as exc:  # noqa: BLE001 - a page closing at once; said, not hidden
            self.session.note(f"console: the browser's own lines of page {index} cannot be read past a "
                              f"flood ({type(exc).__name__}: {str(exc)[:120]})")

    def _logged(self, event: dict[str, Any], page: Any, index: int) -> None:
        if not self._browser_only:
            return
        entry = event.get("entry") or {}
        if entry.get("source") == "worker":
            return
        kind = {"warning": "warning", "error": "error", "verbose": "debug"}.get(entry.get("level"), "info")
        self._add(kind, str(entry.get("text") or ""), entry.get("url") or None, page.url, index,
                  "page" if index == 0 else "popup")

    def _let_go(self) -> None:
        """Stop Playwright's console events (the driver stops sending them once no one listens)."""
        if self._browser_only or self._context is None:
            return
        self._browser_only = True
        try:
            self._context.remove_listener("console", self._listener)
        except Exception as exc:  # noqa: BLE001 - the lines keep coming, counted
            self._browser_only = False
            self.session.note(f"console: {type(exc).__name__}: {str(exc)[:200]}")
            return
        # Queued: this runs inside an event handler, where no call into the browser can be waited
        # for; the task starts at the flow's next call and is collected at export.
        self._muting = later.queue(self._context, self._mute())

    async def _mute(self) -> None:
        """The console methods of every frame and worker made to do nothing, now and in every
        document loaded from here on."""
        context = self._context._impl_obj
        targets = [t for page in context.pages for t in (*page.frames, *page.workers)]

        async def one(call: Any) -> bool:
            try:
                await asyncio.wait_for(call, MUTE_TIMEOUT_S)
                return True
            except Exception:  # noqa: BLE001 - a frame gone or frozen: counted, said
                return False

        # The documents loaded from here on, and those there now, at once (a frozen frame does not
        # hold back the others).
        later_too, *done = await asyncio.gather(one(context.add_init_script(script=MUTE_JS, path=None)),
                                                *(one(t.evaluate(MUTE_JS, None)) for t in targets))
        self._muted = [sum(done), len(done) - sum(done), int(later_too)]

    def _console(self, msg: Any) -> None:
        location = msg.location or {}
        page = msg.page
        index = self.session.page_index(page) if page is not None else 0
        worker = getattr(msg, "worker", None)
        source = "worker" if worker is not None else ("page" if index == 0 else "popup")
        frame_url = worker.url if worker is not None else (page.url if page is not None else None)
        self._add(msg.type, msg.text, location.get("url") or None, frame_url, index, source)

    def _add(self, kind: str, text: str, url: str | None, frame_url: str | None, page: int,
             source: str) -> None:
        text = text or ""
        if reports_a_request(text):
            self._reports += 1
            if self._reports > REPORT_LINES_MAX:
                if self._reports == REPORT_LINES_MAX + 1:
                    self.session.error("console", f"the page wrote more than {REPORT_LINES_MAX:,} console lines about "
                                                  "refused or blocked requests: the ones after that were not kept")
                return
        else:
            self._ordinary += 1
            if self._ordinary > CONSOLE_KEPT:
                self._dropped += 1
                self._let_go()
                return
            if len(text) > CONSOLE_TEXT_MAX:
                self._cut += 1
                text = text[:CONSOLE_TEXT_MAX] + f" [... {len(text) - CONSOLE_TEXT_MAX:,} more characters not kept]"
        self._lines.append(ConsoleRecord(type=kind, text=text, url=url, frame_url=frame_url, page=page,
                                         source=source, blocked_by_client=is_blocked_by_client(text),
                                         time=self.session.now()))

    def export(self) -> dict[str, Any]:
        if self._muting is not None:
            why = later.problem(self._muting)
            if why is None:
                muted, silent, later_too = self._muted
                self.session.note(f"console: past {CONSOLE_KEPT:,} lines, the page's console methods were made to do "
                                  f"nothing ({muted} frames and workers at that time"
                                  + (f", {silent} more did not answer" if silent else "")
                                  + (", and every document loaded after" if later_too else
                                     "; documents loaded after were not reached")
                                  + "), so that the flood could not hold back the browser's other work")
            else:
                self.session.note(f"console: the page's console methods could not be made to do nothing past "
                                  f"{CONSOLE_KEPT:,} lines ({why})")
        if self._dropped and self._browser_only:
            self.session.note(f"console: the page wrote more than {CONSOLE_KEPT:,} console lines; the first "
                              f"{CONSOLE_KEPT:,} are kept, the page's own lines after them are not read (every "
                              "line the browser wrote about a refused or blocked request in a page is kept; "
                              "past that point, those of cross-site frames and workers are not read)")
        elif self._dropped:
            self.session.note(f"console: the page wrote {self._ordinary:,} console lines; the first {CONSOLE_KEPT:,} "
                              f"are kept, {self._dropped:,} more are counted only (every line about a refused or "
                              "blocked request is kept)")
        if self._cut:
            self.session.note(f"console: {self._cut:,} lines longer than {CONSOLE_TEXT_MAX:,} characters are kept "
                              "in part")
        return {"console": tuple(self._lines)}
