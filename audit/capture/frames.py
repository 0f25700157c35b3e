"""The frame tree of every page, and the card inputs each frame holds."""

from __future__ import annotations

from typing import Any

from ..evidence import FrameRecord
from ..hosts import host_of
from . import Recorder

# Which card fields a document holds: by autocomplete token first (the standard), then by the
# names, ids and labels integrations use. Only number, cvc and expiry matter to the rules.
CARD_INPUTS_JS = r"""
() => {
  const found = new Set();
  for (const el of document.querySelectorAll('input, textarea')) {
    const type = (el.type || '').toLowerCase();
    if (['hidden', 'submit', 'button', 'checkbox', 'radio', 'image'].includes(type)) continue;
    const ac = (el.getAttribute('autocomplete') || '').toLowerCase();
    const label = [el.name, el.id, el.getAttribute('aria-label'), el.placeholder,
                   el.getAttribute('data-elements-stable-field-name')].join(' ').toLowerCase();
    if (/\bcc-number\b/.test(ac) || /card.?num|cardnumber|ccnum|cc.?num|credit.?card|card.?no\b|\bpan\b|1234 1234/.test(label)) found.add('number');
    else if (/\bcc-csc\b/.test(ac) || /\bcvc|\bcvv|\bcsc\b|cvn|security.?code|card.?code/.test(label)) found.add('cvc');
    else if (/\bcc-exp/.test(ac) || /expir|exp.?date|card.?exp|mm ?\/ ?yy/.test(label)) found.add('expiry');
  }
  return {url: location.href, inputs: [...found].sort()};
}
"""


class FrameRecorder(Recorder):
    name = "frames"

    def __init__(self, session: Any) -> None:
        super().__init__(session)
        self._frames: dict[tuple[int, str], dict[str, Any]] = {}  # (id(frame), url) -> record fields
        self._keep: list[Any] = []

    def attach_page(self, page: Any, index: int) -> None:
        page.on("framenavigated", self.on(lambda frame: self._see(frame, index)))
        page.on("frameattached", self.on(lambda frame: self._see(frame, index)))
        self._see(page.main_frame, index)

    def note_typed(self, frame: Any, field: str) -> None:
        """The runner typed a canary field into this frame."""
        record = self._inspect(frame, self.session.page_index(frame.page))
        if record is None:  # gone already: key it by what Playwright last knew of it
            record = self._see(frame, self.session.page_index(frame.page))
        record["typed"].add(field)

    def _see(self, frame: Any, page: int, url: str | None = None) -> dict[str, Any]:
        url = url or frame.url
        key = (id(frame), url)
        if key not in self._frames:
            self._keep.append(frame)
            parent = frame.parent_frame
            parent_key = None
            if parent is not None:
                parent_key = (id(parent), parent.url)
                if parent_key not in self._frames:
                    self._see(parent, page)
            self._frames[key] = {"url": url, "host": host_of(url), "page": page,
                                 "name": frame.name or "", "parent_key": parent_key,
                                 "card_inputs": set(), "typed": set()}
        return self._frames[key]

    def _inspect(self, frame: Any, page: int) -> dict[str, Any] | None:
        try:
            found = frame.evaluate(CARD_INPUTS_JS)
        except Exception:  # detached or navigating: what was seen before stays recorded
            return None
        # Key by the document's own location: Playwright may not yet know a fresh iframe's URL.
        record = self._see(frame, page, found["url"])
        record["card_inputs"].update(found["inputs"])
        return record

    def snapshot(self, pages: list[Any]) -> None:
        for index, frame in self.session.live_frames(pages):
            self._inspect(frame, index)

    def export(self) -> dict[str, Any]:
        keys = list(self._frames)
        position = {key: i for i, key in enumerate(keys)}
        records = []
        for i, key in enumerate(keys):
            rec = self._frames[key]
            typed = rec["typed"]
            records.append(FrameRecord(
                index=i, url=rec["url"], host=rec["host"],
                parent=position.get(rec["parent_key"]) if rec["parent_key"] else None,
                page=rec["page"], name=rec["name"],
                card_inputs=tuple(sorted(rec["card_inputs"] | typed)), typed_fields=tuple(sorted(typed))))
        return {"frames": tuple(records)}
