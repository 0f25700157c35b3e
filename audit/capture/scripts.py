"""Every script the pages ran: external ones as received, inline ones as found in the DOM."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from ..evidence import ScriptRecord
from . import Recorder, later

SNAPSHOT_TIMEOUT_S = 10.0  # every changed frame's scripts, read at once

INLINE_AND_SRI_JS = r"""
() => {
  const inline = [], sri = {};
  for (const s of document.querySelectorAll('script')) {
    if (s.src) { if (s.integrity) sri[s.src] = s.integrity; }
    else if (!s.type || /javascript|module/i.test(s.type)) inline.push(s.textContent || '');
  }
  return {inline, sri, url: location.href};
}
"""


def sri_sha384(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


class ScriptRecorder(Recorder):
    name = "scripts"

    def __init__(self, session: Any) -> None:
        super().__init__(session)
        self._scripts: dict[tuple[str, str | None, str], dict[str, Any]] = {}
        self._sri: dict[str, str] = {}
        self._pending: list[tuple[int, Any]] = []  # (page index, queued read) of the last look
        self._owner: Any = None  # a frame of the last look, whose connection runs its reads

    def attach_context(self, context: Any) -> None:
        context.on("response", self.on(self._response))

    def _response(self, response: Any) -> None:
        request = response.request
        if request.resource_type != "script" or response.status >= 300:
            return
        try:
            frame = request.frame
            frame_url, page = frame.url, self.session.page_index(frame.page)
        except Exception:
            frame_url, page = (request.service_worker.url if request.service_worker else None), 0
        try:
            body = response.body()
        except Exception as exc:
            # Chromium drops a body once its page navigates away; the script still ran and is
            # listed, with no hash, rather than left out of the inventory.
            self.session.note(f"script {response.url}: body not available ({str(exc).splitlines()[0][:160]})")
            self._scripts.setdefault((response.url, frame_url, ""), {
                "url": response.url, "frame_url": frame_url, "sha384": "", "page": page, "size": 0})
            return
        self._add(response.url, frame_url, body, page)

    def _add(self, url: str, frame_url: str | None, body: bytes, page: int) -> None:
        digest = sri_sha384(body)
        self._scripts.setdefault((url, frame_url, digest), {
            "url": url, "frame_url": frame_url, "sha384": digest, "page": page, "size": len(body)})

    def snapshot(self, pages: list[Any]) -> None:
        """Every changed frame's inline scripts, all frames asked at once. After a step the answers
        are collected at the next look (the next step runs meanwhile: a processor's frames that
        are still loading hold back no step); the final look waits for them."""
        self._collect()
        frames = list(self.session.live_frames(pages))
        if not frames:
            return
        if self.session.only_changed:
            tasks = later.queue_all([frame for _index, frame in frames], INLINE_AND_SRI_JS)
            if tasks is not None:
                self._owner = frames[0][1]
                self._pending = [(index, task) for (index, _frame), task in zip(frames, tasks)]
                return
        answers = later.evaluate_all([frame for _index, frame in frames], INLINE_AND_SRI_JS, SNAPSHOT_TIMEOUT_S)
        for (index, frame), found in zip(frames, answers):
            self._found(index, found, frame.url)

    def _collect(self) -> None:
        """The answers of the reads the last look queued (waited for, bounded)."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        later.wait(self._owner, [task for _index, task in pending], SNAPSHOT_TIMEOUT_S)
        for index, task in pending:
            if later.problem(task) is None:
                self._found(index, task.result(), None)

    def _found(self, index: int, found: Any, frame_url: str | None) -> None:
        if not found:
            return
        self._sri.update(found["sri"])
        for text in found["inline"]:
            self._add("inline", frame_url or found.get("url"), text.encode(), index)

    def export(self) -> dict[str, Any]:
        self._collect()
        return {"scripts": tuple(ScriptRecord(**rec, sri=self._sri.get(rec["url"]))
                                 for rec in self._scripts.values())}
