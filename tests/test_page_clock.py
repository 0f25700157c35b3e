"""The page clock card-audit installs (Playwright's, one per frame) and `ONE_CLOCK_JS`: timers keep
the browser's own behaviour while the clock is moved.

A script may take setTimeout from an empty iframe and remove the iframe at once (a clean copy of
the function: @sentry/browser 11.12.0's getNativeImplementation, used by its Session Replay
flush). On the removed frame's own clock such timers never fire; in a real browser they fire on
the window the function was bound to. Live frames keep their scope: code given as a string runs
where the timer was set.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from audit.browser import QUIET_ARGS, find_browser
from audit.capture.recording import clock_jumps
from audit.runner import ONE_CLOCK_JS

pytestmark = pytest.mark.browser

PAGE = """<html><body><script>
window.hits = [];
const sandbox = document.createElement('iframe');
document.head.appendChild(sandbox);
const clean = sandbox.contentWindow.setTimeout.bind(window);
document.head.removeChild(sandbox);
clean(() => hits.push('removed frame, 300 ms'), 300);
clean(() => hits.push('removed frame, 60 s'), 60000);
clean("hits.push('removed frame, string')", 300);
const live = document.createElement('iframe');
document.body.appendChild(live);
live.contentWindow.inner = 1;
live.contentWindow.setTimeout("parent.hits.push('live frame, string sees ' + typeof inner)", 300);
live.contentWindow.setTimeout(function () { hits.push('live frame, 90 s'); }, 90000);
</script></body></html>"""


def test_timers_of_a_removed_or_live_iframe_fire_in_real_time_and_when_the_clock_moves():
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_browser(), headless=True, args=list(QUIET_ARGS))
        try:
            context = browser.new_context()
            context.clock.install()
            context.add_init_script(ONE_CLOCK_JS)  # as the runner does, after the clock
            page = context.new_page()
            page.route("https://clock.test/", lambda route: route.fulfill(body=PAGE, content_type="text/html"))
            page.goto("https://clock.test/")
            page.wait_for_function("hits.length >= 3", timeout=5000)
            assert sorted(page.evaluate("hits")) == ["live frame, string sees number", "removed frame, 300 ms",
                                                     "removed frame, string"]
            context.clock.fast_forward(120_000)
            page.wait_for_function("hits.length >= 5", timeout=5000)
            assert {"removed frame, 60 s", "live frame, 90 s"} <= set(page.evaluate("hits"))
        finally:
            browser.close()


def test_clock_jumps_go_through_seconds_and_minutes_to_the_end():
    assert clock_jumps(0) == []
    assert clock_jumps(1000) == [1000]
    assert clock_jumps(15 * 60_000) == [2_000, 10_000, 60_000, 300_000, 600_000, 900_000]
    jumps = clock_jumps(7 * 86_400_000)
    assert jumps[:3] == [2_000, 10_000, 60_000] and jumps[-1] == 7 * 86_400_000
    assert jumps == sorted(set(jumps))
