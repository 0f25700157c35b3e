"""The capture layer: one recorder per concern, all with the same small interface.

Each recorder attaches to the browser context and to every page (the first page and each popup),
keeps its mutable working state to itself, and hands back plain Evidence records at the end. The
runner isolates recorders: one that raises records an error, and the verdict becomes inconclusive.
Nothing from Playwright leaves this package.
"""

from __future__ import annotations

import time
from typing import Any, Iterator

from ..evidence import ErrorRecord


class Session:
    """State the recorders share: the clock, page numbering, and errors."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.wall_t0 = time.time()  # the same instant on the wall clock, for the NetLog's times
        self.last_activity = self.t0
        self._pages: dict[int, int] = {}  # id(page) -> index in order of first sight
        self.errors: list[ErrorRecord] = []
        self.notes: list[str] = []  # worth knowing, but no reason to doubt the run
        # Per-step looks skip child frames whose document has not changed since the last look
        # (top documents, where skimmers inject forms, are always looked at; the final look sees
        # every frame): ids of frames navigated or attached since then.
        self.changed_frames: set[int] = set()
        self.only_changed = False

    def now(self) -> float:
        return round(time.monotonic() - self.t0, 3)

    def touch(self) -> None:
        """Note network activity, for the settle period."""
        self.last_activity = time.monotonic()

    def page_index(self, page: Any) -> int:
        key = id(page)
        if key not in self._pages:
            self._pages[key] = len(self._pages)
        return self._pages[key]

    def note(self, message: str) -> None:
        self.notes.append(message)

    def live_frames(self, pages: list[Any]) -> Iterator[tuple[int, Any]]:
        """(page index, frame) for every frame of every open page."""
        for page in pages:
            if not page.is_closed():
                index = self.page_index(page)
                for frame in page.frames:
                    if not self.only_changed or frame.parent_frame is None or id(frame) in self.changed_frames:
                        yield index, frame

    def error(self, stage: str, message: str) -> None:
        self.errors.append(ErrorRecord(stage=stage, message=message))

    def guard(self, recorder: str, fn: Any, *args: Any) -> Any:
        """Run an event handler; a failure is recorded, never raised into Playwright's loop."""
        try:
            return fn(*args)
        except Exception as exc:  # noqa: BLE001 - any recorder failure must become evidence
            self.error("capture", f"{recorder}: {type(exc).__name__}: {exc}")
            return None


class Recorder:
    """Base recorder. Subclasses override what they need."""

    name = "recorder"
    per_step = True  # False: snapshot only once the flow is over (costly looks at settled state)

    def __init__(self, session: Session) -> None:
        self.session = session

    def attach_context(self, context: Any) -> None:
        """Called once, before the first page exists."""

    def attach_page(self, page: Any, index: int) -> None:
        """Called for the first page and for every popup."""

    def snapshot(self, pages: list[Any]) -> None:
        """Called after every step and before pages close: look at live state (frames, storage)."""

    def export(self) -> dict[str, Any]:
        """Evidence fields this recorder fills, as plain records."""
        return {}

    def finish(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Called once the browser is gone, with every other recorder's fields: fields to replace
        or add (a witness that can only be read after the browser shut down)."""
        return {}

    def on(self, fn: Any) -> Any:
        """Wrap an event handler so that a failure is recorded, not raised."""
        return lambda *args: self.session.guard(self.name, fn, *args)


def frame_source(frame: Any, page_index: int) -> str:
    """page | iframe | popup for a Playwright frame."""
    if frame.parent_frame is not None:
        return "iframe"
    return "page" if page_index == 0 else "popup"


def all_recorders(session: Session, **options: Any) -> list[Recorder]:
    """The registry: every recorder a run uses, in one place."""
    from .console import ConsoleRecorder
    from .frames import FrameRecorder
    from .instrument import InstrumentRecorder
    from .netlog import NetLogRecorder
    from .network import NetworkRecorder
    from .scripts import ScriptRecorder
    from .storage import StorageRecorder
    from .websockets import WebSocketRecorder

    recorders = [NetworkRecorder(session), WebSocketRecorder(session), ConsoleRecorder(session),
                 FrameRecorder(session, options.get("out_dir")), ScriptRecorder(session), StorageRecorder(session),
                 InstrumentRecorder(session), NetLogRecorder(session, options.get("netlog_path"),
                                                                options.get("one_witness"))]
    if options.get("blocker") is not None:  # browsing as a payer with an ad blocker
        from .adblock import AdblockRecorder
        recorders.append(AdblockRecorder(session, options["blocker"]))
    return recorders
