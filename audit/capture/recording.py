"""A recording: every recorder attached to one browser context, its pages and popups."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from . import Session, all_recorders, later
from .frames import FrameRecorder

# What a browser tells a page that is being left: hidden first, then pagehide.
HIDE_JS = """() => {
  try { Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});
        Object.defineProperty(document, 'hidden', {value: true, configurable: true}); } catch (e) {}
  try { document.dispatchEvent(new Event('visibilitychange')); } catch (e) {}
  try { window.dispatchEvent(new PageTransitionEvent('pagehide', {persisted: false})); } catch (e) {}
}"""
# alert(), confirm(), prompt() and print() answered inside the page, as a payer going ahead would (OK to an
# alert or a confirm, nothing typed into a prompt), without a round trip per dialog: a page that
# opens a dialog every few milliseconds cannot stall the flow. A print dialog is closed as a payer
# closes it (headless Chromium opens none; a headed one's print preview holds the page behind it).
# The replacements keep the native functions' names and source text.
ANSWER_DIALOGS_JS = r"""
(() => {
  const answers = {alert: undefined, confirm: true, prompt: null, print: undefined};
  for (const name of Object.keys(answers)) {
    const native = window[name];
    if (typeof native !== 'function') continue;
    const answer = {[name]() { return answers[name]; }}[name];
    try { Object.defineProperty(answer, 'toString', {value: () => Function.prototype.toString.call(native)}); } catch (e) {}
    try { window[name] = answer; } catch (e) {}
  }
})();
"""
SETTLE_BOUND_FACTOR = 5     # the settle period ends at last after this many times its length...
SETTLE_BOUND_MAX_S = 30.0   # ...and never later than this: a page that never goes quiet cannot hang a run
HIDE_TIMEOUT_S = 5.0        # telling every frame it is hidden, all at once


# Where the page clock's jumps end, from the moment the flow ended: seconds first, then minutes,
# hours and days, up to the scenario's settle.fast_forward.
CLOCK_STOPS_MS = (2_000, 10_000, 60_000, 5 * 60_000, 15 * 60_000, 3_600_000, 6 * 3_600_000, 86_400_000)


def clock_jumps(ms: int) -> list[int]:
    """The clock's positions after each jump of a fast-forward by `ms`: every stop short of it,
    and its thirds (a timer that sets a timer that sets a timer still comes due), ending at `ms`."""
    if ms <= 0:
        return []
    thirds = {ms // 3, 2 * ms // 3} if ms >= 3000 else set()
    return sorted({stop for stop in CLOCK_STOPS_MS if stop < ms} | thirds | {ms})


class Recording:
    def __init__(self, context: Any, progress: Callable[[str], None] | None = None,
                 netlog_path: Path | None = None, blocker: Any = None, out_dir: Path | None = None,
                 one_witness: str | None = "the browser was launched by the test itself, without "
                                           "card-audit's NetLog") -> None:
        """`netlog_path`: the NetLog the browser writes (the network witness). Without one, the
        recording has one witness: `one_witness` says why, and None makes that a capture error."""
        self.session = Session()
        self.closing = False  # the run closes the browser itself: that is no crash
        self.recorders = all_recorders(self.session, netlog_path=netlog_path, blocker=blocker, out_dir=out_dir,
                                       one_witness=one_witness)
        self.pages: list[Any] = []
        self.notes: list[str] = []
        self.halted: str | None = None   # set when the browser was stopped: nothing is left to ask
        self.dialogs = 0
        self.clock_forward_ms = 0
        self.incomplete: str | None = None   # why capture stopped before the network went quiet
        self._progress = progress or (lambda _line: None)
        for recorder in self.recorders:
            self.session.guard(recorder.name, recorder.attach_context, context)
        context.add_init_script(ANSWER_DIALOGS_JS)
        context.on("page", self._page_opened)
        for page in context.pages:  # pages opened before the recording started
            self._page_opened(page)

    @property
    def frames(self) -> FrameRecorder:
        return next(r for r in self.recorders if isinstance(r, FrameRecorder))

    def explain_failure(self, locator: Any, step: int) -> None:
        """A step failed: let recorders that change what the payer sees (the ad blocker's element
        hiding) say whether they hid its target."""
        for recorder in self.recorders:
            if hasattr(recorder, "explain"):
                page = self.live_pages()[-1] if self.live_pages() else None
                self.session.guard(recorder.name, recorder.explain, locator, step,
                                   self.session.page_index(page) if page is not None else 0)

    def live_pages(self) -> list[Any]:
        return [p for p in self.pages if not p.is_closed()]

    def _page_opened(self, page: Any) -> None:
        if any(p is page for p in self.pages):
            return
        self.pages.append(page)
        index = self.session.page_index(page)
        page.on("crash", lambda _p: self.session.error(
            "browser", f"page {index}: the renderer crashed (out of memory, or stopped for not answering)"))
        page.on("dialog", self._dialog)
        changed = self.session.changed_frames
        page.on("framenavigated", lambda frame: changed.add(id(frame)))
        page.on("frameattached", lambda frame: changed.add(id(frame)))
        page.on("domcontentloaded", lambda p: changed.update(id(f) for f in p.frames))
        changed.update(id(f) for f in page.frames)
        for recorder in self.recorders:
            self.session.guard(recorder.name, recorder.attach_page, page, index)
        if index:
            self._progress(f"  popup opened: {page.url}")

    def _dialog(self, dialog: Any) -> None:
        """A payer closes alerts and confirms leaving; an unanswered dialog blocks the page (and,
        for beforeunload, leaving it). Dialogs are answered at once, however many come."""
        self.dialogs += 1
        try:
            if dialog.type in ("beforeunload", "confirm"):
                dialog.accept()
            else:
                dialog.dismiss()
        except Exception:  # the page went away with its dialog
            pass

    def snapshot(self, final: bool = False) -> None:
        """Let recorders look at live state: after each step, and once more at the end (`final`)."""
        if self.halted:
            return
        if final:
            self.frames.dirty = True  # the last look reads every tree, changed or not
        looked = set(self.session.changed_frames)
        self.session.only_changed = not final
        try:
            for recorder in self.recorders:
                if final or recorder.per_step:
                    self.session.guard(recorder.name, recorder.snapshot, self.pages)
        finally:
            self.session.only_changed = False
        self.session.changed_frames.difference_update(looked)

    def wait(self, ms: int) -> None:
        if self.halted:
            return
        live = self.live_pages()
        if live:
            try:
                live[-1].wait_for_timeout(ms)
                return
            except Exception:
                pass
        time.sleep(ms / 1000)

    def fast_forward(self, context: Any, ms: int) -> None:
        """Move the page clock `ms` forward in growing jumps (`clock_jumps`): each jump fires every
        timer due by then once (Playwright's clock.fast_forward), so a timer set by a timer comes
        due at a later jump, and a script that compares the time with the payer's last action (a
        session-replay library that stops a session idle for 5 minutes before sending what it
        recorded) first sees seconds pass, then minutes, as it would in a real browser."""
        moved = 0
        jumps = clock_jumps(ms)
        for n, target in enumerate(jumps):
            step = target - moved
            try:
                context.clock.fast_forward(step)
            except Exception as exc:  # every page closed, or a page that does not answer
                self.session.note(f"page clock: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
                break
            moved = target
            self.session.touch()  # what the timers send comes after this
            if n < len(jumps) - 1:  # after the last jump, the settle period waits for what they send
                self.wait(30)
        self.clock_forward_ms += moved

    def settle(self, settle_ms: int, from_now: bool = False, bound_s: float | None = None) -> None:
        """Keep capturing until the network has been quiet for `settle_ms` (bounded), counted from
        the last network event, or from now when something that sends nothing visible just
        happened (pages being left). Stopping at the bound while the network is still busy makes
        capture incomplete."""
        quiet = settle_ms / 1000
        limit = bound_s if bound_s is not None else min(quiet * SETTLE_BOUND_FACTOR, SETTLE_BOUND_MAX_S)
        bound = time.monotonic() + limit
        if from_now:
            self.session.touch()
        while time.monotonic() < bound and not self.halted:
            if time.monotonic() - self.session.last_activity >= quiet:
                return
            self.wait(min(100, max(20, settle_ms // 3)))
        if quiet and not self.halted:
            self.incomplete = (f"the network never went quiet for {settle_ms} ms within {limit:.0f} s: capture "
                               "stopped while requests were still being sent")

    def hide(self) -> None:
        """Tell every frame it is being left (visibilitychange to hidden, then pagehide) while it is
        still alive, so that what its handlers send is recorded with its body.

        A request sent while the document is really going away (fetch keepalive, sendBeacon on
        pagehide) reaches the network without the page seeing it: Playwright reports no request for
        it. Told first, the handlers send while the page layer still sees them; `leave` does the
        real navigation after. Every frame at once: a frame that does not answer holds back none of
        the others; detached or navigating frames have nothing left to hide."""
        if self.halted:
            return
        frames = [f for p in self.live_pages() for f in p.frames]
        if frames:
            later.together(frames[0], [f._impl_obj.evaluate(HIDE_JS, None) for f in frames], HIDE_TIMEOUT_S)
            self.session.touch()  # what the handlers send comes after this

    def leave(self, settle_ms: int, bound_s: float | None = None) -> None:
        """Navigate every page away, so that real pagehide/unload handlers run, and wait for quiet
        (`settle`, counted from now) for what they send."""
        if self.halted:
            return
        for page in self.live_pages():
            try:
                page.goto("about:blank", timeout=5000)
            except Exception:
                pass
        self.settle(settle_ms, from_now=True, bound_s=bound_s)

    def unload(self, settle_ms: int, bound_s: float | None = None) -> None:
        """`hide`, a short wait for what its handlers send, then `leave`: leaving the pages in one go,
        for a caller that has no settle period of its own between the two."""
        if self.halted:
            return
        self.hide()
        if self.live_pages():
            self.wait(150)
        self.leave(settle_ms, bound_s=bound_s)

    def export(self, close_browser: Callable[[], None] | None = None) -> dict[str, Any]:
        """Evidence fields from every recorder, plus errors and notes. The page layer is read while
        the browser is alive; then `close_browser` shuts it down, and the witnesses that can only be
        read afterwards (the NetLog) complete the fields."""
        fields: dict[str, Any] = {}
        for recorder in self.recorders:
            exported = self.session.guard(recorder.name, recorder.export)
            if exported:
                fields.update(exported)
        for recorder in self.recorders:  # recorders that add to the others' records (the ad blocker's reasons)
            if hasattr(recorder, "annotate"):
                fields = self.session.guard(recorder.name, recorder.annotate, fields) or fields
        if close_browser is not None:
            self.closing = True
            close_browser()
        for recorder in self.recorders:
            finished = self.session.guard(recorder.name, recorder.finish, dict(fields))
            if finished:
                fields.update(finished)
        page_headers: dict[str, str] = {}
        for request in fields.get("requests", ()):
            if request.page == 0 and request.source == "page" and request.resource_type == "document" \
                    and request.status and request.status < 300:
                page_headers = dict(request.response_headers)
                break
        fields["page_headers"] = page_headers
        fields["errors"] = tuple(self.session.errors)
        notes = self.notes + self.session.notes
        if self.dialogs:
            notes.append(f"{self.dialogs} dialog(s) (alert, confirm, prompt, beforeunload) were answered")
        fields["notes"] = tuple(notes)
        return fields
