"""One audit run: start the browser, attach the recorders, drive the flow, return Evidence."""

from __future__ import annotations

import logging
import re
import time
import warnings
from contextlib import ExitStack
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any, Callable

from . import __version__, disguise
from .browser import QUIET_ARGS, STEALTH_ARGS, find_browser, host_resolver_rules
from .capture import later
from .capture.recording import Recording
from .errors import InconclusiveError
from .evidence import CaptureRecord, Evidence, StepRecord
from .watchdog import Watchdog
from .source import scenario_source

Progress = Callable[[str], None]
UNLOAD_SETTLE_MS = 300      # after pagehide, for beacons sent on the way out
SETTLE_BOUND_FACTOR = 20    # capture waits for quiet at most this many quiet periods...
SETTLE_BOUND_MIN_S = 15.0   # ...but at least this long (a burst of thousands of requests)...
SETTLE_BOUND_MAX_S = 45.0   # ...and never longer than this: a never-quiet page cannot hold a run
DEADLINE_RESERVE_S = 15.0   # kept before the deadline for the final look, leaving pages, closing
UNLOAD_BOUND_S = 5.0       # pages left are quiet at once; what still sends is a worker or a popup


# The clock is installed in every frame, each frame with its own. A script that takes setTimeout
# from an empty iframe it then removes (a clean copy of the function, out of reach of other
# scripts' patches: @sentry/browser 11.12.0's getNativeImplementation does this for its Session
# Replay flush) would leave its timers on the removed frame's clock, which nothing drives any more:
# they would never fire, where a real browser fires them on the page. So an empty same-origin
# frame's timer functions hand their timers to its parent's clock, which is moved with the page.
ONE_CLOCK_JS = r"""
(() => {
  try {
    if (window === window.top || location.href !== 'about:blank') return;
    const parent = window.parent;
    void parent.setTimeout;  // another origin's window throws here: its frames keep their own
    for (const name of ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval',
                        'requestAnimationFrame', 'cancelAnimationFrame', 'requestIdleCallback',
                        'cancelIdleCallback']) {
      const own = window[name];
      if (typeof own !== 'function' || typeof parent[name] !== 'function') continue;
      // As the browser's own functions do, a timer called on another window (bound to it) is
      // that window's timer; code given as a string runs in the scope of the window it is set on.
      const handed = {[name](...args) {
        if (this && this !== window && this.window === this) return this[name](...args);
        return typeof args[0] === 'string' ? own.apply(window, args) : parent[name](...args); }}[name];
      try { Object.defineProperty(handed, 'toString', {value: () => Function.prototype.toString.call(own)}); } catch (e) {}
      window[name] = handed;
    }
  } catch (e) {}
})();
"""


def _quietly(close: Any) -> None:
    """Tear-down must not replace a run's evidence with its own error."""
    try:
        close()
    except Exception:
        pass


def _first_line(message: str) -> str:
    """Playwright's error text, first line, without its call log."""
    text = str(message).strip().splitlines()[0] if str(message).strip() else type(message).__name__
    return re.sub(r"\s+", " ", text)[:500]


class Run:
    """A single scenario run. `execute()` returns Evidence; it never raises for a failing flow."""

    def __init__(self, scenario: Any, config: Any, out_dir: Path, *, adblock: str | bool | None = False,
                 progress: Progress | None = None, on_context: Callable[[Any], None] | None = None) -> None:
        self.scenario = scenario
        self.config = config
        self.out_dir = out_dir
        # adblock: "processor" | "lists" | "auto"/True (plain --adblock) | False/None (the scenario's)
        self.adblock_request = adblock
        self.adblock = bool(adblock) or bool(getattr(scenario, "adblock", None))
        self.progress = progress or (lambda _line: None)
        self.recording: Recording | None = None
        self.steps: list[StepRecord] = []
        self.screenshots: list[str] = []
        self._shot_no = 0
        self._queued_shots: list[tuple[Any, str, str]] = []   # (task, path, name) of pictures on their way
        self.watchdog: Watchdog | None = None
        self._early_errors: list[str] = []   # recorded before the recording exists
        self._early_notes: list[str] = []
        self._clock_installed = False
        self.on_context = on_context       # e.g. the live feed of --present
        self._persistent: Any = None       # the context of a browser started with its own profile

    def _watchdog_error(self, message: str) -> None:
        if self.recording is not None:
            self.recording.session.error("browser", message)
        else:
            self._early_errors.append(message)

    def _halted(self, reason: str) -> None:
        if self.recording is not None:
            self.recording.halted = reason
        # The browser was stopped on purpose: the calls the driver leaves unanswered, and the
        # events it still delivers for objects already gone, are expected and say nothing the
        # result does not (it names the reason). They are not printed as if something broke.
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)
        logging.getLogger("playwright").setLevel(logging.CRITICAL)
        warnings.filterwarnings("ignore", message="coroutine .* was never awaited", category=RuntimeWarning)

    def _phase(self, what: str, seconds: float) -> Any:
        assert self.watchdog is not None
        return self.watchdog.phase(what, seconds)

    # -- set-up ------------------------------------------------------------------------------
    def _launch(self, stack: ExitStack, playwright: Any, hosts: dict[str, str], spki: str | None,
                offline: bool, netlog: Path | None) -> Any:
        args = [*QUIET_ARGS, *STEALTH_ARGS, *self.config.args]
        if netlog is not None:
            # The network witness: every request and every plaintext byte the network stack sends
            # (capture/wire.py). QUIC is off so that every byte goes through TLS over TCP, whose
            # plaintext the NetLog shows.
            args += [f"--log-net-log={netlog}", "--net-log-capture-mode=Everything", "--disable-quic"]
        args.append("--host-resolver-rules=" + host_resolver_rules(hosts, offline))
        if spki:
            args.append("--ignore-certificate-errors-spki-list=" + spki)
        if self.scenario.tls.ignore_errors:
            # Covers every request of the browser, service-worker scripts included.
            args.append("--ignore-certificate-errors")
        headless = self.config.headless
        if self.config.connect:
            import json
            # The server launches the browser from these options. `args` (host mapping, quiet and
            # stealth flags) and `executablePath` (a path on the server's machine) are honoured
            # only by a server started with `playwright run-server --unsafe`; others drop them.
            options: dict[str, Any] = {"args": args, "headless": headless, "slowMo": self.config.slow_mo_ms}
            if self.config.executable_path:
                options["executablePath"] = self.config.executable_path
            try:
                browser = playwright.chromium.connect(
                    self.config.connect, timeout=self._timeout() * 2,
                    headers={"x-playwright-launch-options": json.dumps(options)})
            except Exception as exc:
                hint = (" (a server started without --unsafe ignores executable_path)"
                        if "Executable doesn't exist" in str(exc) else "")
                raise InconclusiveError(f"cannot use the Playwright server at {self.config.connect}: "
                                        f"{_first_line(exc)}{hint}") from exc
            stack.callback(_quietly, browser.close)
            self._check_remote_args(browser)
            return browser
        elif self.config.devtools:
            # DevTools reads the panel to open from the profile: a fresh profile holding it.
            from .present import DEVTOOLS_ARGS, devtools_profile
            profile_dir = Path(stack.enter_context(TemporaryDirectory()))
            devtools_profile(profile_dir)
            self._persistent = playwright.chromium.launch_persistent_context(
                str(profile_dir), executable_path=find_browser(self.config.executable_path), headless=False,
                slow_mo=self.config.slow_mo_ms or None, args=[*args, *DEVTOOLS_ARGS], no_viewport=True,
                ignore_https_errors=bool(self.scenario.tls.ignore_errors))
            stack.callback(_quietly, self._persistent.close)
            browser = self._persistent.browser
        else:
            browser = playwright.chromium.launch(
                executable_path=find_browser(self.config.executable_path), headless=headless,
                slow_mo=self.config.slow_mo_ms or None, args=args)
        stack.callback(_quietly, browser.close)
        return browser

    def _check_remote_args(self, browser: Any) -> None:
        """Fail closed when a remote server dropped the launch args: without them the host mapping
        is gone (the page's names would go to real DNS) and the browser announces automation.
        `navigator.webdriver` is false only under STEALTH_ARGS, so it shows whether args arrived."""
        context = browser.new_context()
        try:
            webdriver = context.new_page().evaluate("navigator.webdriver")
        finally:
            context.close()
        if webdriver:
            raise InconclusiveError(
                f"the Playwright server at {self.config.connect} ignored the browser flags card-audit "
                "needs (host mapping, no background traffic): start it with `playwright run-server "
                "--unsafe` so that it honours `args` and `executablePath`")

    def _new_context(self, browser: Any) -> Any:
        if self._persistent is not None:
            return self._persistent
        viewport = self.config.viewport
        size = {"width": viewport.width, "height": viewport.height} if viewport else {"width": 1280, "height": 900}
        major = browser.version.split(".")[0]
        # The headless build says "HeadlessChrome": skimmers that hide from bots look for it.
        agent = (f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                 f"Chrome/{major}.0.0.0 Safari/537.36")
        options: dict[str, Any] = {"ignore_https_errors": bool(self.scenario.tls.ignore_errors),
                                   "viewport": size, "user_agent": agent, **disguise.context_options()}
        if self.config.video != "off":
            options["record_video_dir"] = str(self.out_dir / "video")
        context = browser.new_context(**options)
        disguise.apply(context, agent)
        return context

    # -- the run -----------------------------------------------------------------------------
    def execute(self) -> Evidence:
        with Watchdog(self.config.run_timeout_ms, self._watchdog_error, self._halted) as dog:
            self.watchdog = dog
            return self._execute()

    def _execute(self) -> Evidence:
        started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        t0 = time.monotonic()
        profile = self.scenario.profile
        card = self.scenario.resolved_card(profile)
        blocker = None
        if self.adblock:  # before the browser starts: a missing list is an input error
            from .blocking import blocker_for
            began = time.monotonic()
            blocker = blocker_for(self.scenario, profile, self.adblock_request)
            self.progress(f"ad blocker: {blocker.describe()} (ready in {time.monotonic() - began:.1f} s"
                          f"{', from the cache' if blocker.from_cache else ''})")
        stack = ExitStack()
        try:
            with self._phase("starting the browser", 90):
                browser, context = self._start(stack, blocker)
            browser_name = f"Chromium {browser.version}"
            if self.on_context is not None:
                self.on_context(context)
            completed = False
            try:
                with self._phase("opening the first page", 60):
                    if not context.pages:  # a browser with its own profile starts with its first tab
                        context.new_page()
                completed = self._drive(card, profile)
                self._finish(context, completed)
            except Exception as exc:  # noqa: BLE001 - keep what was recorded; the run is inconclusive
                self.recording.session.error("browser", f"the run broke: {_first_line(exc)}")
                completed = False
            # The page layer is read before the browser closes (closing is not a crash); the
            # NetLog is whole only once it has.
            close = lambda: (_quietly(context.close), _quietly(browser.close))  # noqa: E731
            with self._phase("reading what was recorded", 60):
                self._collect_shots(context)
                return self._evidence(card, started_at, time.monotonic() - t0, completed, browser_name, close)
        finally:
            with self._phase("closing the browser", 30):
                try:
                    stack.close()
                except Exception:  # noqa: BLE001 - a driver stopped by the watchdog: the evidence stands
                    pass

    def _start(self, stack: ExitStack, blocker: Any) -> tuple[Any, Any]:
        from playwright.sync_api import sync_playwright

        hosts = dict(self.scenario.hosts or {})
        spki = None
        # Offline: only mapped names resolve, so the audit cannot reach anything else.
        offline = bool(getattr(self.scenario, "offline", False))
        if getattr(self.scenario, "demo", False):
            from .demo import DemoWorld
            world = DemoWorld().start()
            stack.callback(_quietly, world.stop)
            hosts = {**world.host_map(), **hosts}
            spki, offline = world.spki_sha256, True
        playwright = stack.enter_context(sync_playwright())
        no_netlog = bool(self.config.connect) or self.config.witness == "page-only"
        netlog = None if no_netlog else Path(stack.enter_context(TemporaryDirectory())) / "netlog.json"
        browser = self._launch(stack, playwright, hosts, spki, offline, netlog)
        context = self._new_context(browser)
        stack.callback(_quietly, context.close)
        context.set_default_timeout(self._timeout())
        self._clock_installed = self._install_clock(context)
        one_witness = None if self.config.witness != "page-only" else (
            "a remote browser keeps no NetLog card-audit can read (witness: page-only in "
            "playwright.config.yaml)" if self.config.connect else
            "witness: page-only in playwright.config.yaml, so the browser's network stack was not recorded")
        self.recording = Recording(context, self.progress, netlog, blocker=blocker, out_dir=self.out_dir,
                                   one_witness=one_witness)
        for message in self._early_errors:
            self.recording.session.error("browser", message)
        for message in self._early_notes:
            self.recording.session.note(message)
        if self.watchdog is not None and self.watchdog.halted:
            self.recording.halted = self.watchdog.halted
        if self.config.trace != "off":
            # Every browser call, the network and the console, without the trace's own screencast
            # (the pictures of each step are in screenshots/ already); the DOM snapshot of every
            # call only when asked (`trace_snapshots: true`): with the screencast, they were the
            # trace's whole cost on the audited flow.
            context.tracing.start(screenshots=False, snapshots=self.config.trace_snapshots)
        browser.on("disconnected", lambda _b: self.recording.closing
                   or self.recording.session.error("browser", "the browser disconnected"))
        return browser, context

    def _install_clock(self, context: Any) -> bool:
        """Playwright's clock on every page of the context, time flowing normally, so that after
        the flow it can be moved forward and senders waiting on a timer fire at once."""
        if not self.scenario.settle.fast_forward:
            return False
        try:
            context.clock.install()
            context.add_init_script(ONE_CLOCK_JS)  # after the clock's own script, in every frame
            return True
        except Exception as exc:  # an older remote server: timers then run on real time only
            self._early_notes.append(f"the page clock could not be installed ({_first_line(exc)}); "
                                     "senders on a timer are seen only within the settle period")
            return False

    def _finish(self, context: Any, completed: bool) -> None:
        """After the last step: settle, look once more, leave the pages."""
        rec = self.recording
        spec = self.scenario.settle
        # The longest of the quiet periods asked for: more capture is safer.
        quiet_ms = max(spec.quiet_ms, self.scenario.settle_ms or 0, self.config.settle_ms or 0)
        # Once the browser was stopped (deadline, no answer, SIGTERM) there is nothing left to
        # wait for or look at: what was recorded is judged at once.
        def phase(what: str, seconds: float, act: Callable[[], Any]) -> None:
            if not rec.halted:
                with self._phase(what, seconds):
                    act()

        if spec.fast_forward and self._clock_installed:
            phase("moving the page clock forward", 30, lambda: rec.fast_forward(context, spec.fast_forward))
        # The pages are told they are being left before the settle period, so that one quiet
        # period catches both what the timers sent and what pagehide handlers send; the real
        # navigation away comes after the final look.
        phase("telling the pages they are left", 10, rec.hide)
        bound_s = self._settle_bound(quiet_ms)
        phase("the settle period", bound_s + 30, lambda: rec.settle(quiet_ms, bound_s=bound_s))
        phase("the final look at the pages", 30, lambda: rec.snapshot(final=True))
        phase("the final screenshot", 20, lambda: self._shoot("final"))
        phase("leaving the pages", 40,
              lambda: rec.leave(UNLOAD_SETTLE_MS, bound_s=min(self._settle_bound(quiet_ms), UNLOAD_BOUND_S)))
        phase("writing the trace", 60, lambda: self._stop_trace(context, completed))

    def _settle_bound(self, quiet_ms: int) -> float:
        """How long capture may wait for the network to go quiet: long enough for a burst of
        thousands of requests, never past the run's deadline (keeping time to leave the pages)."""
        bound = min(max(quiet_ms / 1000 * SETTLE_BOUND_FACTOR, SETTLE_BOUND_MIN_S), SETTLE_BOUND_MAX_S)
        if self.watchdog is not None:
            bound = min(bound, self.watchdog.deadline - time.monotonic() - DEADLINE_RESERVE_S)
        return max(bound, quiet_ms / 1000)

    def _timeout(self) -> int:
        return int(self.scenario.timeout_ms or self.config.timeout_ms)

    def _drive(self, card: Any, profile: Any) -> bool:
        from .steps import StepFailed, StepRunner

        rec = self.recording
        # A `screenshot` step's picture (the whole page) is taken off the critical path too.
        runner = StepRunner(lambda: rec.pages, card, profile, self._timeout(), rec.frames.note_typed,
                            lambda name: self._shoot_later(name, full_page=True), rec.frames)
        start_url = str(self.scenario.start_url)
        plan = [("goto", start_url, None)] + [(s.action, s.describe(), s) for s in self.scenario.steps]
        for number, (action, target, step) in enumerate(plan, start=1):
            if rec.halted:  # the browser was stopped (deadline, no answer, SIGTERM): no step can run
                self.progress(f"  steps {number}-{len(plan)} not run: {rec.halted}")
                return False
            self.progress(f"step {number}/{len(plan)}: {action} {target}")
            began, began_at = time.monotonic(), rec.session.now()
            shot = None
            try:
                if step is None:
                    response = runner.active_page().goto(target, timeout=self._timeout(), wait_until="domcontentloaded")
                    if response is not None and response.status >= 400:
                        raise StepFailed(f"start page answered HTTP {response.status}")
                else:
                    shot = runner.run(step)
                error = None
            except StepFailed as exc:
                error = str(exc)
            except Exception as exc:  # Playwright's timeouts and navigation errors
                error = _first_line(exc)
            ok = error is None
            if not ok:
                if self.adblock and step is not None:
                    self._explain(runner, step, number)
                shot = self._shoot(f"failed-{action}")
                self.progress(f"  step {number} failed: {error}")
            elif shot is None and self.config.screenshots == "steps":
                shot = self._shoot_later(action)
            self.steps.append(StepRecord(action=action, target=target, ok=ok, error=error,
                                         screenshot=shot, duration_s=round(time.monotonic() - began, 3),
                                         time=began_at))
            rec.snapshot()
            if not ok:
                return False
        return True

    def _explain(self, runner: Any, step: Any, number: int) -> None:
        """Whether the ad blocker hid what the failed step needed: its target, or for fill_card the
        frames and inputs of the page."""
        try:
            if getattr(step, "selector", None):
                locator = runner._scope(step).locator(step.selector)
            elif step.action == "fill_card":
                locator = runner.active_page().locator("iframe, input")
            else:
                return
        except Exception:  # noqa: BLE001 - no page left to look at
            return
        self.recording.explain_failure(locator, number)

    def _shoot(self, name: str, full_page: bool = True) -> str | None:
        """A picture for the report. Best effort: a page that goes away mid-shot is noted, and
        never makes the audit inconclusive."""
        live = self.recording.live_pages() if self.recording and not self.recording.halted else []
        if not live:
            return None
        self._shot_no += 1
        rel = f"screenshots/{self._shot_no:02d}-{name}.png"
        try:
            (self.out_dir / "screenshots").mkdir(parents=True, exist_ok=True)
            live[-1].screenshot(path=str(self.out_dir / rel), full_page=full_page, timeout=later.SHOT_TIMEOUT_MS)
        except Exception as exc:
            self.recording.session.note(f"screenshot {name}: {_first_line(exc)}")
            return None
        self.screenshots.append(rel)
        return rel

    def _shoot_later(self, name: str, full_page: bool = False) -> str | None:
        """A step's picture (of the viewport, or of the whole page for a `screenshot` step), off the
        flow's critical path: the browser takes it while the next step runs (`later.queue`), and
        `_collect_shots` waits for every queued picture before the browser closes. Taken as
        `_shoot` takes it when the queue is not available."""
        live = self.recording.live_pages() if self.recording and not self.recording.halted else []
        if not live:
            return None
        page = live[-1]
        rel = f"screenshots/{self._shot_no + 1:02d}-{name}.png"
        try:
            (self.out_dir / "screenshots").mkdir(parents=True, exist_ok=True)
        except OSError:
            pass
        shot = later.screenshot(page, str(self.out_dir / rel), full_page)
        task = later.queue(page, shot) if shot is not None else None
        if task is None:  # another Playwright: the picture is taken in line
            return self._shoot(name, full_page=full_page)
        self._shot_no += 1
        self._queued_shots.append((task, rel, name))
        self.screenshots.append(rel)
        return rel

    def _collect_shots(self, context: Any) -> None:
        """Wait (bounded) for the pictures queued by `_shoot_later`; one that failed or did not
        come is noted and dropped from the steps that named it."""
        queued, self._queued_shots = self._queued_shots, []
        if not (self.recording and self.recording.halted):
            later.wait(context, [task for task, _rel, _name in queued], later.SHOT_TIMEOUT_MS / 1000 + 5)
        for task, rel, name in queued:
            problem = later.problem(task)
            if problem is None:
                continue
            self.recording.session.note(f"screenshot {name}: {problem}")
            self.screenshots = [r for r in self.screenshots if r != rel]
            self.steps = [replace(s, screenshot=None) if s.screenshot == rel else s for s in self.steps]

    def _stop_trace(self, context: Any, completed: bool) -> None:
        """Write trace.zip; with retain-on-failure the caller drops it once the run has passed."""
        if self.config.trace == "off":
            return
        try:
            context.tracing.stop(path=str(self.out_dir / "trace.zip"))
        except Exception as exc:
            self.recording.session.error("capture", f"trace: {_first_line(exc)}")

    def _capture(self) -> CaptureRecord:
        rec, dog = self.recording, self.watchdog
        reason = (dog.halted if dog is not None and dog.halted else None) or (rec.incomplete if rec else None)
        spec = self.scenario.settle
        return CaptureRecord(
            complete=reason is None, reason=reason, on_bound=spec.on_bound,
            clock_forward_ms=rec.clock_forward_ms if rec else 0,
            quiet_ms=max(spec.quiet_ms, self.scenario.settle_ms or 0, self.config.settle_ms or 0))

    @staticmethod
    def _with_witnesses(capture: CaptureRecord, network: CaptureRecord | None) -> CaptureRecord:
        """The settle's record of capture, with what the network witness says of itself."""
        if network is None:
            return capture
        reasons = [r for r in (capture.reason, network.reason) if r]
        return replace(capture, witnesses=network.witnesses, complete=capture.complete and network.complete,
                       reason="; ".join(reasons) or None)

    def _evidence(self, card: Any, started_at: str, duration: float, completed: bool,
                  browser_name: str, close: Callable[[], Any] | None = None) -> Evidence:
        fields = self.recording.export(close) if self.recording else {}
        fields["capture"] = self._with_witnesses(self._capture(), fields.get("capture"))
        return Evidence(
            scenario_name=self.scenario.name, scenario_file=str(self.scenario.source_path),
            processor=self.scenario.processor, start_url=str(self.scenario.start_url), card=card,
            started_at=started_at, duration_s=round(duration, 2), completed=completed,
            browser=browser_name, steps=tuple(self.steps), screenshots=tuple(self.screenshots),
            adblock=self.adblock, tool_version=__version__, scenario_source=scenario_source(self.scenario),
            evasions_open=disguise.EVASIONS_OPEN, **fields)


def run_scenario(scenario: Any, config: Any, out_dir: Path, *, adblock: str | bool | None = False,
                 progress: Progress | None = None, on_context: Callable[[Any], None] | None = None) -> Evidence:
    """Run one scenario. Input errors raise InputError; everything the browser does is evidence."""
    from . import watchdog
    if watchdog.stopping:
        raise InconclusiveError(f"not run: {watchdog.stopping}")
    out_dir.mkdir(parents=True, exist_ok=True)
    # A previous run's pictures and trace in the same folder would be mistaken for this run's.
    for stale in [*out_dir.glob("screenshots/*.png"), out_dir / "trace.zip"]:
        stale.unlink(missing_ok=True)
    try:
        return Run(scenario, config, out_dir, adblock=adblock, progress=progress,
                   on_context=on_context).execute()
    except InconclusiveError:
        raise
    except Exception as exc:
        from .errors import InputError
        if isinstance(exc, InputError):
            raise
        raise InconclusiveError(f"the browser run broke: {_first_line(exc)}") from exc
