"""Console messages and uncaught page errors from every page, frame and worker."""

from __future__ import annotations

from typing import Any

from ..evidence import ConsoleRecord
from . import Recorder
from .network import is_blocked_by_client


class ConsoleRecorder(Recorder):
    name = "console"

    def __init__(self, session: Any) -> None:
        super().__init__(session)
        self._lines: list[ConsoleRecord] = []

    def attach_context(self, context: Any) -> None:
        # Context-level console events cover every page and popup, and workers as well.
        context.on("console", self.on(self._console))

    def attach_page(self, page: Any, index: int) -> None:
        page.on("pageerror", self.on(lambda err: self._add("pageerror", str(err), None, page.url,
                                                           index, "page")))

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
        self._lines.append(ConsoleRecord(type=kind, text=text, url=url, frame_url=frame_url, page=page,
                                         source=source, blocked_by_client=is_blocked_by_client(text),
                                         time=self.session.now()))

    def export(self) -> dict[str, Any]:
        return {"console": tuple(self._lines)}
