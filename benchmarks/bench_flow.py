"""Wall time of an audited demo flow against the same flow driven by a bare Playwright script.

    python benchmarks/bench_flow.py              # 3 alternating rounds
    python benchmarks/bench_flow.py --rounds 5

Both pay invoice 1001 of the bundled demo world (Stripe Elements) in the same Chromium with the
same flags, each round starting its own demo world and browser. Runs alternate (bare, audited,
audited with quiet 0, ...) so that machine load hits all alike. Printed: each run's seconds, the
medians, and the ratios audited/bare. The audited figure is everything `card-audit run` does:
recording every channel, a screenshot per step, moving the page clock 15 min forward (senders on
a timer fire at once), waiting for 300 ms of network quiet, leaving the pages (pagehide senders),
judging, and writing result.json, report.html, the HAR, JUnit and SARIF. `quiet 0` isolates the
cost of recording and reporting from the deliberate wait.

`bare, payer's hands` is the bare script with the audited run's hands (`audit.hands`): the mouse
moves to each field along a curve and clicks it, the two buttons are approached the same way, keys
come with uneven gaps. The bare script focuses each field without a mouse, as a test script does;
the audited run clicks where a payer clicks (what an overlay on the processor's field takes). So
the audited run's extra time splits into what the hands cost (this run minus the bare run) and
what recording, settling and judging cost (the audited run over this run).

Each run's CPU time (this process and the driver and browser processes it started, once they
have exited) is printed beside its wall time: on a machine where other work runs, wall times
swing with the load, CPU seconds much less. `audited, no trace` is the audited run without the
project's `trace: retain-on-failure` (Playwright tracing of every browser call, without DOM
snapshots unless `trace_snapshots: true`), to show what the trace costs.

The network witness (Chromium's NetLog in Everything mode, read and reconciled after the browser
shuts down, and the wire sweep) is measured two ways: the audited run against the same run with
`witness: page-only` (no NetLog), and the time spent reading and reconciling the log itself. Its
share of the audited run must stay under 10 %.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from audit.app import audit_scenario  # noqa: E402
from audit.browser import QUIET_ARGS, STEALTH_ARGS, find_browser, host_resolver_rules  # noqa: E402
from audit.config import load_config  # noqa: E402
from audit.demo import DemoWorld  # noqa: E402
from audit.scenario import load_scenario  # noqa: E402

SCENARIO = ROOT / "scenarios" / "demo-stripe.yaml"


def launch(world: DemoWorld, playwright) -> object:
    """Chromium with the audited run's flags, the demo world's names mapped to it."""
    args = [*QUIET_ARGS, *STEALTH_ARGS,
            "--host-resolver-rules=" + host_resolver_rules(world.host_map(), True),
            "--ignore-certificate-errors-spki-list=" + world.spki_sha256]
    return playwright.chromium.launch(executable_path=find_browser(), args=args)


def bare_run() -> float:
    """The flow as a plain Playwright script would drive it: no recording, no outputs."""
    from playwright.sync_api import sync_playwright

    t0 = time.perf_counter()
    with DemoWorld() as world, sync_playwright() as p:
        browser = launch(world, p)
        page = browser.new_context().new_page()
        page.goto(world.url("/invoice/1001"))
        page.get_by_text("Pay Invoice").click()
        page.locator("#cardholder-name").press_sequentially("Canary Cardholder", delay=35)
        frame = page.frame_locator('iframe[name^="__privateStripeFrame"]')
        for selector, value in (('input[name="cardnumber"]', "4000056655665556"),
                                ('input[name="exp-date"]', "12/34"), ('input[name="cvc"]', "123"),
                                ('input[name="postal"]', "94107")):
            frame.locator(selector).press_sequentially(value, delay=35)
        page.click("#submit-payment")
        page.get_by_text("Payment received").wait_for()
        browser.close()
    return time.perf_counter() - t0


def bare_hands_run() -> float:
    """The bare flow with the audited run's payer's hands (`audit.hands`): the mouse moves to each
    field along a curve and clicks it, keys come with uneven gaps, and the two buttons are
    approached the same way before Playwright clicks them. Nothing is recorded: the difference to
    the bare run is what the hands cost, the difference to the audited run what recording,
    settling and judging cost."""
    from playwright.sync_api import sync_playwright

    from audit.hands import Hands

    hands = Hands()

    def approach(page, locator) -> None:
        locator.scroll_into_view_if_needed()  # as a payer scrolls to what is below the window
        hands.move(page, *hands.point_in(locator.bounding_box()))

    def click_and_type(page, locator, value: str) -> None:
        locator.scroll_into_view_if_needed()
        hands.click(page, *hands.point_in(locator.bounding_box()))
        hands.type(page, value)

    t0 = time.perf_counter()
    with DemoWorld() as world, sync_playwright() as p:
        browser = launch(world, p)
        page = browser.new_context().new_page()
        page.goto(world.url("/invoice/1001"))
        pay = page.get_by_text("Pay Invoice")
        approach(page, pay)
        pay.click()
        click_and_type(page, page.locator("#cardholder-name"), "Canary Cardholder")
        # Chromium runs no animation frames in a cross-site frame outside the window, so the
        # processor's frame is scrolled into view first (as the audited payer does).
        page.locator('iframe[name^="__privateStripeFrame"]').first.scroll_into_view_if_needed()
        frame = page.frame_locator('iframe[name^="__privateStripeFrame"]')
        for selector, value in (('input[name="cardnumber"]', "4000056655665556"),
                                ('input[name="exp-date"]', "12/34"), ('input[name="cvc"]', "123"),
                                ('input[name="postal"]', "94107")):
            click_and_type(page, frame.locator(selector), value)
        submit = page.locator("#submit-payment")
        approach(page, submit)
        submit.click()
        page.get_by_text("Payment received").wait_for()
        browser.close()
    return time.perf_counter() - t0


HANDS = "bare, payer's hands"
READ_SECONDS: list[float] = []   # time spent reading and reconciling the NetLog, per audited run


def _time_the_netlog_reader() -> None:
    from audit.capture.netlog import NetLogRecorder

    finish = NetLogRecorder.finish

    def timed(self, fields):
        t0 = time.perf_counter()
        try:
            return finish(self, fields)
        finally:
            if self.path is not None:
                READ_SECONDS.append(time.perf_counter() - t0)

    NetLogRecorder.finish = timed


def cpu_seconds() -> float:
    """CPU time of this process and of its exited children (the driver, and the browser it reaped)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def audited_run(quiet_ms: int | None, witness: str = "both", trace: str | None = None) -> float:
    scenario = load_scenario(SCENARIO)
    if quiet_ms is not None:
        settle = scenario.settle.model_copy(update={"quiet_ms": quiet_ms})
        scenario = scenario.model_copy(update={"settle": settle, "settle_ms": None})
    # The deadline is for hostile pages; on a loaded machine it must not cut a timed run short.
    config = load_config(None).with_overrides(run_timeout_ms=600000, witness=witness)
    if trace is not None:
        config = config.with_overrides(trace=trace)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        result, _ = audit_scenario(scenario, config, Path(out))
    elapsed = time.perf_counter() - t0
    if result["verdict"] != "pass":
        raise SystemExit(f"the audited run did not pass: {result['verdict']} {result['errors']}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    _time_the_netlog_reader()
    bare_run()  # warm-up: page cache, font cache, Chromium's first start
    runs = {"bare": bare_run, HANDS: bare_hands_run, "audited": lambda: audited_run(None),
            "audited, quiet 0": lambda: audited_run(0),
            "audited, one witness": lambda: audited_run(None, witness="page-only"),
            "audited, no trace": lambda: audited_run(None, trace="off")}
    times: dict[str, list[float]] = {k: [] for k in runs}
    cpu: dict[str, list[float]] = {k: [] for k in runs}
    for n in range(args.rounds):
        for name, run in runs.items():
            before = cpu_seconds()
            times[name].append(run())
            cpu[name].append(cpu_seconds() - before)
        print(f"round {n + 1} (load {os.getloadavg()[0]:.1f}): "
              + ", ".join(f"{k} {v[-1]:.2f} s (cpu {cpu[k][-1]:.2f} s)" for k, v in times.items()), flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    print()
    for k, v in med.items():
        print(f"{k:<20} median {v:6.2f} s   cpu {med_cpu[k]:6.2f} s")
    print(f"ratio audited/bare            {med['audited'] / med['bare']:.2f}  (target 1.3, stretch 1.2)")
    print(f"ratio audited quiet 0/bare    {med['audited, quiet 0'] / med['bare']:.2f}")
    hands = med[HANDS]
    print(f"ratio audited/bare with the payer's hands  {med['audited'] / hands:.2f}  "
          f"(the hands alone: {hands - med['bare']:+.2f} s)")
    print(f"ratio audited no trace/bare   {med['audited, no trace'] / med['bare']:.2f}")
    print(f"cpu ratio audited/bare        {med_cpu['audited'] / med_cpu['bare']:.2f}  "
          f"(no trace {med_cpu['audited, no trace'] / med_cpu['bare']:.2f})")
    # Paired by round (the two runs of a round share the machine's load at that time).
    witness = statistics.median(a - b for a, b in zip(times["audited"], times["audited, one witness"]))
    reader = statistics.median(READ_SECONDS) if READ_SECONDS else 0.0
    print(f"network witness: audited minus one-witness run, median of rounds {witness:+.2f} s "
          f"({100 * witness / med['audited']:+.1f} % of the audited run; target < 10 %)")
    print(f"network witness: reading and reconciling the NetLog, median {reader:.3f} s "
          f"({100 * reader / med['audited']:.1f} % of the audited run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
