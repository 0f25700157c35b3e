"""Time bounds of a run, enforced from a thread.

Two bounds: the run's deadline (`run_timeout_ms`), and one per phase of the run (a step, a look at
the frames, leaving the pages, closing). Playwright's sync API cannot be interrupted from another
thread, and a page whose main thread never yields (`while (true) {}`) never answers an evaluate,
so the watchdog acts on processes instead:

- a phase overdue: the renderers spinning at full CPU are killed; the page "crashes", the waiting
  call fails, and the run goes on without that page;
- still overdue after a grace, or the deadline reached, or card-audit told to stop (SIGTERM): the
  browser is killed; every waiting call fails at once and what was recorded is judged;
- the driver still not done well after that: the driver is killed too.

Each action is recorded as an error, so the run cannot pass.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

from . import procs

TICK_S = 0.2
PHASE_GRACE_S = 5.0        # after spinning renderers were stopped, before the browser is
DRIVER_GRACE_S = 15.0      # after the browser was stopped, before the driver is
SAMPLE_S = 1.0             # renderer CPU is measured over this long
SPINNING = 0.6             # share of one CPU a renderer uses, over the last second, to be "spinning"

_ACTIVE: set["Watchdog"] = set()
_lock = threading.Lock()
stopping: str | None = None   # set once card-audit was told to stop: no new run starts


def stop_all(reason: str) -> None:
    """Stop every run of this process, and start no other (a signal handler calls this)."""
    global stopping
    stopping = reason
    with _lock:
        active = list(_ACTIVE)
    for dog in active:
        dog.stop_now(reason)


class Watchdog:
    def __init__(self, run_timeout_ms: int, record: Callable[[str], None],
                 on_halt: Callable[[str], None] | None = None) -> None:
        self.run_timeout_ms = run_timeout_ms
        self.deadline = time.monotonic() + run_timeout_ms / 1000
        self._record = record                 # an error message for the evidence
        self._on_halt = on_halt or (lambda _reason: None)
        self._phase: tuple[int, str, float, float] | None = None   # (number, what, seconds, ends at)
        self._phases = 0
        self._acted_on = 0                    # the phase whose renderers were last looked at
        self._request: str | None = None
        self.halted: str | None = None        # why the browser was stopped, once it was
        self.deadline_hit = False
        self._halted_at = 0.0
        self._cpu: dict[int, tuple[float, float]] = {}   # renderer pid -> (cpu seconds, when)
        self._sampling = False
        self._stage_ends = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="card-audit-watchdog", daemon=True)

    def __enter__(self) -> "Watchdog":
        with _lock:
            _ACTIVE.add(self)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._done.set()
        with _lock:
            _ACTIVE.discard(self)
        self._thread.join(timeout=2)

    @contextmanager
    def phase(self, what: str, seconds: float) -> Iterator[None]:
        """Bound one phase of the run; phases do not nest (the inner one replaces the outer)."""
        previous = self._phase
        self._phases += 1
        self._phase = (self._phases, what, seconds, time.monotonic() + seconds)
        try:
            yield
        finally:
            self._phase = previous

    def stop_now(self, reason: str) -> None:
        self._request = reason

    # -- the thread ------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._done.wait(TICK_S):
            try:
                self._tick()
            except Exception:  # noqa: BLE001 - the watchdog must outlive anything /proc throws at it
                pass

    def _tick(self) -> None:
        now = time.monotonic()
        if self.halted:
            if now - self._halted_at > DRIVER_GRACE_S:
                procs.kill(procs.drivers())
                self._halted_at = float("inf")
            return
        if self._request:
            self._halt(self._request)
            return
        if now >= self.deadline:
            self.deadline_hit = True
            self._halt(f"the run reached its deadline (run_timeout_ms {self.run_timeout_ms} ms): the "
                       "browser was stopped and what was recorded until then is judged")
            return
        phase = self._phase
        if phase is None or now < phase[3]:
            return
        number, what, seconds, _ends = phase
        if self._acted_on != number:
            # Overdue: look at the renderers' CPU time now and a second later (/proc is read only
            # here, never while the run is on time), stop those that spin, and give the waiting
            # call a grace to fail by itself.
            self._acted_on = number
            self._cpu = {p.pid: (p.cpu_s, now) for p in procs.renderers(procs.browser_processes())}
            self._stage_ends = now + SAMPLE_S
            self._sampling = True
            return
        if now < self._stage_ends:
            return
        if self._sampling:
            self._sampling = False
            spinning = self._spinning(now)
            self._stage_ends = now + PHASE_GRACE_S
            if spinning:
                procs.kill(spinning)
                self._record(f"{what} had no answer after {seconds:.0f} s: a page's main thread never "
                             f"yielded (its renderer used a full CPU); {len(spinning)} renderer(s) stopped")
            return
        self._halt(f"{what} had no answer after {seconds:.0f} s: the browser was stopped and what "
                   "was recorded until then is judged")

    def _spinning(self, now: float) -> list[procs.Proc]:
        """Renderers that used most of a CPU since the first look."""
        busy = []
        for proc in procs.renderers(procs.browser_processes()):
            before = self._cpu.get(proc.pid)
            if before is not None and now > before[1]:
                if (proc.cpu_s - before[0]) / (now - before[1]) >= SPINNING:
                    busy.append(proc)
        return busy

    def _halt(self, reason: str) -> None:
        self.halted = reason
        self._halted_at = time.monotonic()
        self._record(reason)
        self._on_halt(reason)
        browser = procs.browser_processes()
        if browser:
            procs.kill(browser)
        else:  # a remote browser (connect): only the driver's connection can be cut
            procs.kill(procs.drivers())
