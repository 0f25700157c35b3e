"""The console record is bounded: a page cannot fill memory or result.json through the console,
and never hides a line the browser wrote about a request it refused or blocked behind a flood."""

from __future__ import annotations

from audit.capture import Session
from audit.capture.console import CONSOLE_KEPT, CONSOLE_TEXT_MAX, ConsoleRecorder
from audit.detect.sightings import CSP_LINE

CSP = ("Refused to connect to 'https://evil.example/c?n=4000056655665556' because it violates the following "
       "Content Security Policy directive: \"connect-src 'self'\".")
BLOCKED = "Failed to load resource: net::ERR_BLOCKED_BY_CLIENT"


def record(lines: list[tuple[str, str]]) -> tuple[ConsoleRecorder, Session]:
    session = Session()
    recorder = ConsoleRecorder(session)
    for kind, text in lines:
        recorder._add(kind, text, None, "https://shop.example/", 0, "page")
    return recorder, session


def test_a_flood_keeps_the_first_lines_and_every_request_report():
    flood = [("log", f"flood {i}") for i in range(CONSOLE_KEPT + 3_000)]
    recorder, session = record(flood[:10] + [("error", CSP)] + flood[10:] + [("error", CSP), ("error", BLOCKED)])
    kept = recorder.export()["console"]
    assert len(kept) == CONSOLE_KEPT + 3
    assert [c.text for c in kept].count(CSP) == 2 and any(c.blocked_by_client for c in kept)
    assert CSP_LINE.search(CSP), "the test's CSP line is one the judge reads"
    assert any(f"the page wrote {CONSOLE_KEPT + 3_000:,} console lines" in n and "3,000 more are counted only" in n
               for n in session.notes), session.notes
    assert not session.errors


def test_a_long_line_is_kept_in_part_and_said():
    recorder, session = record([("log", "y" * (CONSOLE_TEXT_MAX * 3)), ("error", CSP + " " + "z" * CONSOLE_TEXT_MAX * 2)])
    first, report = recorder.export()["console"]
    assert len(first.text) < CONSOLE_TEXT_MAX + 100 and first.text.endswith("more characters not kept]")
    assert len(report.text) > CONSOLE_TEXT_MAX * 2, "a request report is kept whole"
    assert any("1 lines longer than" in n for n in session.notes)
