"""What lies at a point of a page, through its frames, as the browser's own hit testing says.

`DOM.getNodeForLocation` answers for a target: it descends into same-process frames and shadow
roots by itself and stops at the frame element of a cross-site frame, whose content is another
target; there the point is moved into that frame's viewport and asked again of its session.
(https://chromedevtools.github.io/devtools-protocol/tot/DOM/#method-getNodeForLocation)
Page JavaScript cannot answer for the browser: an `elementFromPoint` a page has replaced would say
whatever the page likes.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Callable

from ..hosts import host_of
from . import later
from .domwalk import describe

MAX_DEPTH = 8
FOCUS_TIMEOUT_S = 5.0  # asking every frame where the focus is

# Is the hit node the field (or inside it)? The field was marked beforehand with a random key.
IS_MARKED_JS = """function (key) {
  let n = this;
  for (let i = 0; n && i < 64; i++) { if (n[key]) return true; n = n.parentNode || n.host; }
  return false;
}"""

# The element that has the keyboard focus in this document, through open shadow roots; null when
# this document does not have the focus, or its focus is in a child frame.
FOCUSED_JS = r"""() => {
  if (!document.hasFocus()) return null;
  let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  if (!el || el === document.body || el === document.documentElement) return {element: '', url: location.href};
  if (['IFRAME', 'FRAME'].includes(el.tagName)) return null;
  let d = el.localName; if (el.id) d += '#' + String(el.id).slice(0, 60);
  for (const k of ['name', 'autocomplete', 'aria-label', 'placeholder']) {
    const v = el.getAttribute && el.getAttribute(k); if (v) d += '[' + k + '=' + v.slice(0, 40) + ']'; }
  if (el.shadowRoot === null && el.attachShadow && !el.matches('input, textarea, [contenteditable]')) d += ' (focus inside a closed shadow root)';
  return {element: d, url: location.href};
}"""


@dataclass(frozen=True)
class Hit:
    element: str          # description of the element at the point
    frame_url: str
    host: str
    is_target: bool       # the field itself, or an element inside it


# A field as the keystroke record names it: its tag, id, name and autocomplete token.
_DESCRIBE_BODY = """let d = el.localName; if (el.id) d += '#' + el.id;
  for (const k of ['name', 'autocomplete']) { const v = el.getAttribute(k); if (v) d += '[' + k + '=' + v + ']'; }
  return d;"""
DESCRIBE_JS = "(el) => { " + _DESCRIBE_BODY + " }"
# Marks the field with a random key and describes it, in one call.
MARK_JS = "(el, key) => { el[key] = true; " + _DESCRIBE_BODY + " }"
UNMARK_JS = "(el, key) => { delete el[key]; }"


def mark(handle: Any) -> tuple[str, str] | None:
    """Mark the field's element for `hit_test` with a fresh random key: (key, description of the
    element), or None when the element cannot be reached."""
    key = "__ca" + secrets.token_hex(6)
    try:
        return key, str(handle.evaluate(MARK_JS, key) or "")
    except Exception:
        return None


def unmark(handle: Any, key: str) -> None:
    """Take the mark off again, off the flow's critical path (the call is queued, not waited for)."""
    impl = getattr(handle, "_impl_obj", None)
    task = later.queue(handle, impl.evaluate(UNMARK_JS, key)) if impl is not None else None
    if task is None:
        try:
            handle.evaluate(UNMARK_JS, key)
        except Exception:
            pass
    else:
        task.add_done_callback(later.problem)


def hit_test(page: Any, x: float, y: float, key: str, session_for: Callable[[Any], Any]) -> Hit | None:
    """The element at (x, y) of `page`'s viewport, and whether it is the field `mark` marked with
    `key` (or inside it). None when the browser cannot say (no CDP session)."""
    return _descend(page, x, y, key, session_for)


def _descend(page: Any, x: float, y: float, key: str, session_for: Callable[[Any], Any]) -> Hit | None:
    target: Any = page
    for _ in range(MAX_DEPTH):
        cdp = session_for(target)
        if cdp is None:
            return None
        # The point is in viewport coordinates; the browser's hit test takes document coordinates,
        # so a scrolled document (a field scrolled into view, a short headed window) adds its offset.
        sx, sy = _scroll_offset(cdp)
        got = cdp.send("DOM.getNodeForLocation", {"x": int(round(x + sx)), "y": int(round(y + sy)),
                                                  "includeUserAgentShadowDOM": False,
                                                  "ignorePointerEventsNone": False})
        node = cdp.send("DOM.describeNode", {"backendNodeId": got["backendNodeId"]})["node"]
        if node.get("nodeName") in ("IFRAME", "FRAME") and node.get("contentDocument") is None:
            child = _frame_with_id(page, node.get("frameId"), session_for)
            if child is not None:
                content = cdp.send("DOM.getBoxModel", {"backendNodeId": got["backendNodeId"]})["model"]["content"]
                x, y = x - min(content[0::2]), y - min(content[1::2])
                target = child
                continue
            # A cross-site frame whose own target cannot be asked: the browser cannot say what
            # lies at the point inside it (its frame element is not on top of anything).
            return None
        url = _frame_url(cdp, got.get("frameId")) or (target.url if target is not page else page.url)
        return Hit(element=describe(node), frame_url=url, host=host_of(url),
                   is_target=_is_marked(cdp, got["backendNodeId"], key))
    return None


def _scroll_offset(cdp: Any) -> tuple[float, float]:
    """How far the target's document is scrolled, in CSS pixels."""
    metrics = cdp.send("Page.getLayoutMetrics")
    viewport = metrics.get("cssLayoutViewport") or metrics.get("layoutViewport") or {}
    return float(viewport.get("pageX", 0)), float(viewport.get("pageY", 0))


def _frame_with_id(page: Any, frame_id: str | None, session_for: Callable[[Any], Any]) -> Any:
    """The Playwright frame with its own target whose CDP frame id is `frame_id`."""
    if not frame_id:
        return None
    for frame in page.frames:
        if frame.parent_frame is None:
            continue
        cdp = session_for(frame)
        if cdp is None:
            continue
        try:
            # A target's own frame keeps its id for the target's life: asked once per session.
            own = getattr(cdp, "_card_audit_frame_id", None)
            if own is None:
                own = cdp.send("Page.getFrameTree")["frameTree"]["frame"]["id"]
                cdp._card_audit_frame_id = own
            if own == frame_id:
                return frame
        except Exception:
            continue
    return None


def _frame_url(cdp: Any, frame_id: str | None) -> str | None:
    if not frame_id:
        return None
    try:
        stack = [cdp.send("Page.getFrameTree")["frameTree"]]
    except Exception:
        return None
    while stack:
        tree = stack.pop()
        if tree["frame"]["id"] == frame_id:
            return tree["frame"].get("url", "")
        stack.extend(tree.get("childFrames") or [])
    return None


def _is_marked(cdp: Any, backend_id: int, key: str) -> bool:
    try:
        obj = cdp.send("DOM.resolveNode", {"backendNodeId": backend_id})["object"]
        try:
            got = cdp.send("Runtime.callFunctionOn", {"objectId": obj["objectId"], "functionDeclaration": IS_MARKED_JS,
                                                      "arguments": [{"value": key}], "returnByValue": True})
        finally:
            cdp.send("Runtime.releaseObject", {"objectId": obj["objectId"]})
        return bool(got.get("result", {}).get("value"))
    except Exception:
        return False


def focused(page: Any) -> tuple[Any, str, str] | None:
    """(frame, element description, document URL) of the element that has the keyboard focus.
    Every frame is asked at once (one round trip's wait, not one per frame)."""
    frames = list(page.frames)
    answers = later.evaluate_all(frames, FOCUSED_JS, FOCUS_TIMEOUT_S)
    # Children come after parents in `page.frames`: the innermost focused document wins.
    for frame, got in reversed(list(zip(frames, answers))):
        if got is not None:
            return frame, str(got.get("element") or ""), str(got.get("url") or frame.url)
    return None
