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
  return {inline, sri};
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
        frames = list(self.session.live_frames(pages))
        if not frames:
            return
        # Every frame asked at once: one round trip's wait, however many frames the step brought.
        answers = later.evaluate_all([frame for _index, frame in frames], INLINE_AND_SRI_JS, SNAPSHOT_TIMEOUT_S)
        for (index, frame), found in zip(frames, answers):
            if not found:
                continue
            self._sri.update(found["sri"])
            for text in found["inline"]:
                self._add("inline", frame.url, text.encode(), index)

    def export(self) -> dict[str, Any]:
        return {"scripts": tuple(ScriptRecord(**rec, sri=self._sri.get(rec["url"]))
                                 for rec in self._scripts.values())}
