"""The frame tree of every page, and the card fields each frame holds, as a payer would see them.

Three witnesses, merged into one record per frame:
- the sweep: CDP's own DOM tree of every page and of every cross-site frame (`domwalk`), through
  open and closed shadow roots and same-process frames, after every step and once more at the end;
- the watcher in every frame (`cardwatch`): fields the moment they appear, between steps too;
- what the run typed (`note_typed`).
Each visible card form is pictured once, outlined, when first swept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..evidence import CardFormRecord, FrameRecord, KeystrokeRecord
from ..hosts import host_of
from . import Recorder, later
from .cardwatch import BINDING, WATCH_JS
from .domwalk import Document, box_of, first_piece, walk

OUTLINE = {"r": 230, "g": 20, "b": 60, "a": 1.0}
FILL = {"r": 230, "g": 20, "b": 60, "a": 0.12}


class FrameRecorder(Recorder):
    name = "frames"

    def __init__(self, session: Any, out_dir: Path | None = None) -> None:
        super().__init__(session)
        self._frames: dict[tuple[int, str], dict[str, Any]] = {}  # (id(frame), url) -> record fields
        self._forms: dict[tuple[tuple[int, str], str], dict[str, Any]] = {}  # (frame key, where) -> form
        self._keep: list[Any] = []
        self._cdp: dict[int, Any] = {}  # id(page or frame) -> its CDP session
        self._no_cdp: dict[int, str] = {}  # id(frame) -> the URL it had when it had no session
        self._context: Any = None
        self._out_dir = out_dir
        self._shots = 0
        self._pictures: list[tuple[Any, dict[str, Any], str]] = []  # (queued task, form, path) of pictures on their way
        self._keys: list[KeystrokeRecord] = []
        self._shown: dict[int, set[int]] = {}  # id(CDP session) -> backend ids of fields seen visible
        self._watched_frames: set[int] = set()  # id(frame) of frames the watcher reported since the last sweep
        self.dirty = True

    def attach_context(self, context: Any) -> None:
        self._context = context
        context.expose_binding(BINDING, self.on(self._watched))
        context.add_init_script(WATCH_JS)

    def attach_page(self, page: Any, index: int) -> None:
        page.on("framenavigated", self.on(lambda frame: self._changed(frame, index)))
        page.on("frameattached", self.on(lambda frame: self._changed(frame, index)))
        self.dirty = True
        self._see(page.main_frame, index)

    def note_typed(self, frame: Any, field: str) -> None:
        """The runner typed a canary field into this frame."""
        record = self._see(frame, self.session.page_index(frame.page))
        record["typed"].add(field)

    def note_keys(self, record: KeystrokeRecord) -> None:
        """Where a card field's keystrokes went (the run typed them as a payer does)."""
        self._keys.append(record)

    def page_index(self, page: Any) -> int:
        return self.session.page_index(page)

    def now(self) -> float:
        return self.session.now()

    def cdp_for(self, target: Any) -> Any:
        """The CDP session of a page, or of a frame with its own target (a cross-site frame)."""
        return self._session(target)

    # -- records -------------------------------------------------------------------------------
    def _changed(self, frame: Any, page: int) -> None:
        self.dirty = True
        self._see(frame, page)

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
            host = host_of(url) or (self._opener_host(frame) if parent is None else "")
            self._frames[key] = {"url": url, "host": host, "page": page, "key": key,
                                 "name": frame.name or "", "parent_key": parent_key,
                                 "card_inputs": set(), "hidden_inputs": set(), "typed": set()}
        return self._frames[key]

    @staticmethod
    def _opener_host(frame: Any) -> str:
        """A page whose document names no host (an about:blank popup its opener wrote into, a
        Document Picture-in-Picture window) runs in its opener's origin: named by its host."""
        try:
            opener = frame.page.opener()
            for _ in range(8):  # a popup of a popup of the merchant's page
                if opener is None:
                    return ""
                host = host_of(opener.main_frame.url)
                if host:
                    return host
                opener = opener.opener()
        except Exception:  # noqa: BLE001 - a page closing while it is looked at names no host
            return ""
        return ""

    def _add(self, record: dict[str, Any], field: str, hidden: bool, where: str, element: str,
             seen_by: str) -> dict[str, Any]:
        (record["hidden_inputs"] if hidden else record["card_inputs"]).add(field)
        form = self._forms.setdefault((record["key"], where), {
            "record": record, "where": where, "fields": set(), "visible": set(), "elements": [],
            "time": self.session.now(), "seen_by": seen_by, "screenshot": None, "pictured": set()})
        if field in CARD_FIELDS and not form["fields"] & CARD_FIELDS:
            form["time"], form["seen_by"] = self.session.now(), seen_by  # a card form from now on
        form["fields"].add(field)
        if not hidden:
            form["visible"].add(field)
        if element not in form["elements"]:
            form["elements"].append(element)
        return form

    def _watched(self, source: dict[str, Any], url: str, items: list[dict[str, Any]]) -> None:
        """The in-page watcher saw card fields appear (or change) in this frame."""
        frame, page = source.get("frame"), source.get("page")
        if frame is None:
            return
        self.dirty = True
        self._watched_frames.add(id(frame))
        record = self._see(frame, self.session.page_index(page) if page is not None else 0, str(url) or None)
        for item in items or []:
            self._add(record, str(item.get("field")), bool(item.get("hidden")), str(item.get("where") or "document"),
                      str(item.get("element") or "")[:200], "watch")

    # -- the sweep -----------------------------------------------------------------------------
    def snapshot(self, pages: list[Any]) -> None:
        # After a step, the tree is read again only when something changed that could hold a card
        # field (the watcher reported one, a frame came or navigated); the final look always reads.
        if not self.dirty:
            return
        self.dirty = False
        # After a step, only the trees holding a frame that changed (came, navigated, loaded, or
        # reported a card field) are read again; the final look reads every tree.
        changed = (self.session.changed_frames | self._watched_frames) if self.session.only_changed else None
        self._watched_frames = set()
        for page in pages:
            if not page.is_closed():
                self.session.guard(self.name, self._sweep_page, page, self.session.page_index(page), changed)

    def _session(self, target: Any) -> Any:
        """The CDP session of a page, or of a frame with its own target (a cross-site frame)."""
        key = id(target)
        if key in self._cdp:
            return self._cdp[key]
        # A frame in its parent's process has no target of its own, until it navigates to another
        # site (an about:blank iframe that loads the processor's page): a frame without one is
        # asked again once its URL changed, never written off for the run.
        url = getattr(target, "url", "")
        if key in self._no_cdp:
            if self._no_cdp[key] == url:
                return None
        else:
            self._keep.append(target)  # the object stays alive, so its id is not reused
        try:
            self._cdp[key] = self._context.new_cdp_session(target)
        except Exception:
            self._no_cdp[key] = url
            return None
        return self._cdp[key]

    def _sweep_page(self, page: Any, index: int, changed: set[int] | None = None) -> None:
        """Read the DOM tree of the page and of each frame with a target of its own (a root); with
        `changed` (ids of frames), only the roots whose tree holds one of those frames."""
        roots = [(page.main_frame, self._session(page))]
        roots += [(f, self._session(f)) for f in page.frames if f.parent_frame is not None]
        if changed is not None:
            roots = _roots_of(roots, [f for f in page.frames if id(f) in changed])
        roots = [(frame, cdp) for frame, cdp in roots if cdp is not None]
        firsts = self._first_pieces(page, roots)
        fresh: list[tuple[dict[str, Any], int, Any, Any]] = []  # form, field node, its session, root frame
        for (frame, cdp), first in zip(roots, firsts):
            try:
                documents = walk(cdp, self._shown.setdefault(id(cdp), set()), first)
            except Exception as exc:  # navigating or detached: the next sweep (or the watcher) sees it
                message = f"card fields of {frame.url[:200]} not read this time: {type(exc).__name__}: {str(exc)[:200]}"
                if message not in self.session.notes:
                    self.session.note(message)
                continue
            frames = _match(frame, documents)
            for i, doc in enumerate(documents):
                target = frames.get(i)
                if target is None or doc.remote:
                    continue
                record = self._see(target, index, doc.url or None)
                for found in doc.fields:
                    form = self._add(record, found.field, found.hidden, found.where, found.element, "sweep")
                    # Pictured when first seen, and again when more card fields join it.
                    if not found.hidden and found.box and found.field in CARD_FIELDS \
                            and found.field not in form["pictured"]:
                        fresh.append((form, found.backend_id, cdp, frame))
        self._picture(page, fresh)

    @staticmethod
    def _first_pieces(page: Any, roots: list[tuple[Any, Any]]) -> list[Any]:
        """Every root's first piece of its tree, asked of all the roots at once (one round trip's
        wait, not one per frame): per root the piece, None where the walk must read it itself (an
        API without a loop, a tree too deep for one piece, a frame that did not answer within
        SWEEP_WAIT_S: the walk's own read says what is wrong, and the run's deadline bounds it)."""
        if len(roots) < 2:
            return [None] * len(roots)
        coros = [first_piece(cdp) for _frame, cdp in roots]
        tasks = [later.queue(page, c) if c is not None else None for c in coros]
        later.wait(page, [t for t in tasks if t is not None], SWEEP_WAIT_S)
        out: list[Any] = []
        for task in tasks:
            if task is None:
                out.append(None)
            elif not task.done() or task.cancelled() or task.exception() is not None:
                later.problem(task)  # cancelled if still running, its failure collected
                out.append(None)
            else:
                out.append((task.result() or {}).get("root"))
        return out

    # -- pictures ------------------------------------------------------------------------------
    def _picture(self, page: Any, fresh: list[tuple[dict[str, Any], int, Any, Any]]) -> None:
        """Each visible card form once: the page with the form outlined (the browser's own overlay,
        nothing added to the page's DOM), scrolled so that the form is in view."""
        if self._out_dir is None or not fresh:
            return
        forms: dict[int, tuple[dict[str, Any], list[tuple[int, Any, Any]]]] = {}
        for form, node, cdp, root in fresh:
            forms.setdefault(id(form), (form, []))[1].append((node, cdp, root))
        # The whole form is outlined: every visible card field of it this sweep found.
        for form, nodes in forms.values():
            form["pictured"] |= form["visible"] & CARD_FIELDS
        top = self._session(page)
        # One picture at a time (each scrolls and outlines): an earlier one is waited for before
        # this sweep scrolls, and of this sweep's forms only the last is left to finish on its own.
        later.wait(page, [task for task, _form, _rel in self._pictures], later.SHOT_TIMEOUT_MS / 1000)
        for n, (form, nodes) in enumerate(forms.values(), start=1):
            node, cdp, root = nodes[0]
            try:
                cdp.send("DOM.scrollIntoViewIfNeeded", {"backendNodeId": node})
            except Exception:
                pass
            boxes = []
            for node, cdp, root in nodes:
                box = box_of(cdp, node)
                if box:
                    dx, dy = _offset(root)
                    boxes.append((box[0] + dx, box[1] + dy, box[2], box[3]))
            if not boxes:
                continue
            x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
            x1, y1 = max(b[0] + b[2] for b in boxes), max(b[1] + b[3] for b in boxes)
            self._shots += 1
            rel = f"screenshots/card-form-{self._shots:02d}.png"
            rect = {"x": int(x0) - 4, "y": int(y0) - 4, "width": int(x1 - x0) + 8, "height": int(y1 - y0) + 8,
                    "color": FILL, "outlineColor": OUTLINE}
            try:
                (self._out_dir / "screenshots").mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                self.session.note(f"card form picture: {type(exc).__name__}: {str(exc)[:200]}")
                continue
            task = later.queue(page, self._outlined(page, top, rect, str(self._out_dir / rel)))
            if task is None:
                self.session.note("card form picture: the browser connection is closed")
                continue
            self._pictures.append((task, form, rel))
            if n < len(forms):
                later.wait(page, [task], later.SHOT_TIMEOUT_MS / 1000)

    async def _outlined(self, page: Any, top: Any, rect: dict[str, Any], path: str) -> None:
        """The page with the form outlined by the browser's own overlay, taken while the flow goes
        on (`later`); the outline is removed once the picture is taken or failed."""
        shot = later.screenshot(page, path, full_page=False)
        if shot is None:
            raise RuntimeError("this Playwright takes no queued screenshot")
        outlined = False
        try:
            if top is not None:
                try:
                    for method, params in (("DOM.enable", None), ("Overlay.enable", None),
                                           ("Overlay.highlightRect", rect)):
                        await later.cdp_send(top, method, params)
                    outlined = True
                except Exception:  # noqa: BLE001 - the picture without its outline still shows the form
                    pass
            await shot
        finally:
            if outlined:
                try:
                    await later.cdp_send(top, "Overlay.hideHighlight")
                except Exception:  # noqa: BLE001 - the page went away: so did its overlay
                    pass

    def _collect_pictures(self) -> None:
        """Wait (bounded) for the queued card-form pictures; each taken is named on its form, each
        that failed is noted."""
        pictures, self._pictures = self._pictures, []
        if self._context is not None:
            later.wait(self._context, [task for task, _form, _rel in pictures], later.SHOT_TIMEOUT_MS / 1000 + 5)
        for task, form, rel in pictures:
            problem = later.problem(task)
            if problem is None:
                form["screenshot"] = rel
            else:
                self.session.note(f"card form picture: {problem}")

    # -- export --------------------------------------------------------------------------------
    def _host(self, record: dict[str, Any]) -> str:
        """about:blank and srcdoc documents run in their parent's origin: named by its host."""
        seen = 0
        while not record["host"] and record["parent_key"] in self._frames and seen < 32:
            record, seen = self._frames[record["parent_key"]], seen + 1
        return record["host"]

    def export(self) -> dict[str, Any]:
        self._collect_pictures()
        keys = list(self._frames)
        position = {key: i for i, key in enumerate(keys)}
        records = []
        for i, key in enumerate(keys):
            rec = self._frames[key]
            typed = rec["typed"]
            shown = rec["card_inputs"] | typed
            records.append(FrameRecord(
                index=i, url=rec["url"], host=rec["host"],
                parent=position.get(rec["parent_key"]) if rec["parent_key"] else None,
                page=rec["page"], name=rec["name"], card_inputs=tuple(sorted(shown)),
                typed_fields=tuple(sorted(typed)), hidden_inputs=tuple(sorted(rec["hidden_inputs"] - shown))))
        forms = []
        for (key, where), form in self._forms.items():
            if not form["fields"] & CARD_FIELDS:
                continue  # a cardholder name alone is no card form
            rec = form["record"]
            forms.append(CardFormRecord(
                frame=position[key], frame_url=rec["url"], host=self._host(rec), fields=_ordered(form["fields"]),
                where=where, hidden=not form["visible"], elements=tuple(form["elements"][:20]), page=rec["page"],
                time=form["time"], seen_by=form["seen_by"], screenshot=form["screenshot"]))
        forms.sort(key=lambda f: f.time)
        return {"frames": tuple(records), "card_forms": tuple(forms), "keystrokes": tuple(self._keys)}


CARD_FIELDS = {"number", "expiry", "cvc"}
SWEEP_WAIT_S = 30.0  # for the first pieces of the trees of one sweep, asked at once


def _ordered(fields: set[str]) -> tuple[str, ...]:
    order = ("number", "expiry", "cvc", "name", "postal")
    return tuple(sorted(fields, key=lambda f: order.index(f) if f in order else len(order)))


def _offset(frame: Any) -> tuple[float, float]:
    """Where a frame with its own target sits in its page's viewport (0, 0 for the page itself)."""
    if frame.parent_frame is None:
        return 0.0, 0.0
    try:
        box = frame.frame_element().bounding_box()
    except Exception:
        box = None
    return (box["x"], box["y"]) if box else (0.0, 0.0)


def _match(root: Any, documents: list[Document]) -> dict[int, Any]:
    """Pair the walked documents with Playwright's frames: the walk's first document is `root`'s;
    each other document is a child of its parent's frame, found by URL, then by the frame
    element's name or id, then by order."""
    out: dict[int, Any] = {0: root} if documents else {}
    used: set[int] = set()
    for i, doc in enumerate(documents[1:], start=1):
        parent = out.get(doc.parent) if doc.parent is not None else None
        if parent is None:
            continue
        try:
            children = [c for c in parent.child_frames if id(c) not in used]
        except Exception:
            continue
        label = doc.owner.get("name") or doc.owner.get("id") or ""
        pick = next((c for c in children if doc.url and c.url == doc.url), None) \
            or next((c for c in children if label and c.name == label), None) \
            or (children[0] if children else None)
        if pick is not None:
            used.add(id(pick))
            out[i] = pick
    return out


def _roots_of(roots: list[tuple[Any, Any]], frames: list[Any]) -> list[tuple[Any, Any]]:
    """The roots (frames with a CDP session of their own, whose walk reads their tree down to the
    next root) whose tree holds one of `frames`: each frame's nearest root, itself or an ancestor."""
    is_root = {id(frame) for frame, cdp in roots if cdp is not None}
    wanted: set[int] = set()
    for frame in frames:
        node = frame
        while node is not None and id(node) not in is_root:
            node = node.parent_frame
        if node is not None:
            wanted.add(id(node))
    return [(frame, cdp) for frame, cdp in roots if id(frame) in wanted]
