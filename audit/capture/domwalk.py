"""Card fields as the browser holds them: a walk over CDP's DOM tree, not the page's JavaScript.

`DOM.getDocument` with `pierce: true` returns every node of a target's documents: open and closed
shadow roots alike (page JavaScript cannot reach a closed root; the browser can) and the documents
of same-process frames (`srcdoc`, `about:blank`, same-site iframes). A cross-site frame runs in its
own process and has its own CDP target: it is walked through its own session.
(https://chromedevtools.github.io/devtools-protocol/tot/DOM/#method-getDocument)

Visibility comes from the browser's layout (`DOM.getBoxModel` fails for a node that is not
rendered), then from `checkVisibility()` for opacity and `visibility: hidden`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, Iterator

from .cardwords import NOT_TYPED, card_field, label_before, plain_autocomplete

TEXT_LIMIT = 200
MIN_SIDE = 2  # px: a field smaller than this is not one a payer can see or click

# Run on the field itself (a node reference from CDP): opacity and visibility, which the box
# model does not say.
FIELD_FACTS_JS = """function () {
  let visible = true;
  try { visible = this.checkVisibility ? this.checkVisibility({opacityProperty: true, visibilityProperty: true}) : true; } catch (e) {}
  return {visible};
}"""


@dataclass
class FoundField:
    """One card input in one document (or one of its shadow roots)."""

    field: str                     # number | cvc | expiry | name
    element: str                   # input#cc-number[name=card_number][autocomplete=cc-number]
    where: str                     # "document" or the shadow roots around it, outermost first
    backend_id: int
    hidden: bool = False
    box: tuple[float, float, float, float] | None = None  # x, y, width, height in its frame's viewport


@dataclass
class Document:
    """A document of the walked tree: its URL, the frame element that holds it, its card fields."""

    url: str
    frame_id: str | None
    owner: dict[str, str] = field(default_factory=dict)  # the <iframe>'s attributes (name, id, src)
    parent: int | None = None        # index of the enclosing document in the walk's list
    fields: list[FoundField] = field(default_factory=list)
    remote: bool = False            # its content is another target's (a cross-site frame)
    owner_node: int | None = None    # backend node id of the frame element holding it


def attrs(node: dict[str, Any]) -> dict[str, str]:
    flat = node.get("attributes")
    if not flat:
        return {}
    return {flat[i].lower(): flat[i + 1] for i in range(0, len(flat) - 1, 2)}


def describe(node: dict[str, Any], a: dict[str, str] | None = None) -> str:
    """tag#id[name=..][autocomplete=..]: enough to find the element again by eye. `a`: the node's
    `attrs`, when the caller has them."""
    a = attrs(node) if a is None else a
    out = (node.get("localName") or node.get("nodeName", "")).lower()
    if a.get("id"):
        out += "#" + a["id"][:60]
    for key in ("name", "autocomplete", "aria-label", "placeholder"):
        if a.get(key):
            out += f"[{key}={a[key][:40]}]"
    return out


def _text(node: dict[str, Any], limit: int = TEXT_LIMIT) -> str:
    """Text under a node, in its own tree (not into shadow roots or frames)."""
    parts: list[str] = []
    stack = [node]
    while stack and sum(map(len, parts)) < limit:
        n = stack.pop()
        if n.get("nodeType") == 3:
            parts.append(n.get("nodeValue", ""))
        elif n.get("nodeName") not in ("SCRIPT", "STYLE"):
            stack.extend(reversed(n.get("children") or []))
    return " ".join(" ".join(parts).split())[:limit]


def _editable(name: str, a: dict[str, str]) -> bool:
    if name == "INPUT":
        return a.get("type", "text").lower() not in NOT_TYPED
    if name == "TEXTAREA":
        return True
    return (a.get("contenteditable", "false").lower() not in ("false",) and "contenteditable" in a) \
        or a.get("role", "").lower() == "textbox"


_FRAMES = frozenset(("IFRAME", "FRAME", "OBJECT", "EMBED", "PORTAL", "FENCEDFRAME"))
# What ends the text that labels the next input: another control or a frame.
_CONTROLS = _FRAMES | {"SELECT", "BUTTON"}
# Text a payer does not read as a label.
_NO_LABEL_TEXT = frozenset(("SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE", "OPTION", "OPTGROUP", "BUTTON",
                            "TEXTAREA", "TITLE"))


class TreeWalk:
    """One pass over a `DOM.getDocument` tree: its documents and the card fields in each."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.documents: list[Document] = []
        # doc, node, attrs, where, its own words, the text just before it
        self._candidates: list[tuple[int, dict[str, Any], dict[str, str], str, str, str]] = []
        # Documents and shadow roots still to walk, (root, its document, where): a queue, not
        # recursion, so that roots nested a thousand deep cost no Python stack.
        self._roots: deque[tuple[dict[str, Any], int, str]] = deque()
        self._document(root, None, None, {})
        while self._roots:
            self._root(*self._roots.popleft())

    def _document(self, node: dict[str, Any], parent: int | None, frame_id: str | None,
                  owner: dict[str, str], owner_node: int | None = None) -> None:
        index = len(self.documents)
        self.documents.append(Document(url=node.get("documentURL") or node.get("baseURL") or "",
                                       frame_id=frame_id, owner=owner, parent=parent, owner_node=owner_node))
        self._roots.append((node, index, "document"))

    def _root(self, root: dict[str, Any], doc: int, where: str) -> None:
        """A document or a shadow root: labels are looked up within it, as the browser does.

        Each element's attributes are read once, and its ancestors are reached through parent
        links, asked only for editable elements: a page of hundreds of thousands of elements, or
        nested thousands deep, costs one pass."""
        ids: dict[str, dict[str, Any]] = {}
        labels_for: dict[str, str] = {}
        # (node, its attributes, index of its parent element in this list or -1)
        elements: list[tuple[dict[str, Any], dict[str, str], int]] = []
        before: dict[int, str] = {}  # element index -> the text a payer reads just before it
        editable: set[int] = set()   # element indexes a payer can type into
        last = ""   # the last text of this root, in document order, since the last control
        stack: list[tuple[dict[str, Any], int]] = [(c, -1) for c in reversed(root.get("children") or [])]
        while stack:
            node, up = stack.pop()
            kind = node.get("nodeType")
            if kind == 3:
                if up < 0 or elements[up][0].get("nodeName") not in _NO_LABEL_TEXT:
                    text = " ".join((node.get("nodeValue") or "").split())
                    if text:
                        last = text
                continue
            if kind != 1:
                continue
            name = node.get("nodeName")
            a = attrs(node)
            if a:
                if a.get("id"):
                    ids.setdefault(a["id"], node)
                if name == "LABEL" and a.get("for"):
                    labels_for[a["for"]] = labels_for.get(a["for"], "") + " " + _text(node)
            me = len(elements)
            elements.append((node, a, up))
            typed = _editable(name, a)
            if typed:
                editable.add(me)
            if typed or name in _CONTROLS:
                if last:
                    before[me] = last
                last = ""
            children = node.get("children")
            if children:
                stack.extend(zip(reversed(children), repeat(me)))
        for me, (node, a, up) in enumerate(elements):
            name = node.get("nodeName")
            shadows = node.get("shadowRoots")
            if shadows:
                host = describe(node, a)
                for shadow in shadows:
                    kind = shadow.get("shadowRootType")
                    if kind == "user-agent":
                        continue
                    inner = f"{kind} shadow root of <{host}>"
                    self._roots.append((shadow, doc, inner if where == "document" else f"{where} > {inner}"))
            if name in _FRAMES:
                content = node.get("contentDocument")
                owner = {k: v for k, v in a.items() if k in ("name", "id", "src")}
                if content is not None:
                    self._document(content, doc, node.get("frameId"), owner, node.get("backendNodeId"))
                elif node.get("frameId"):
                    self.documents.append(Document(url=a.get("src", ""), frame_id=node.get("frameId"),
                                                   owner=owner, parent=doc, remote=True))
                continue
            if name == "TEMPLATE" and node.get("templateContent"):
                continue  # inert until stamped: not something a payer can see
            if me not in editable:
                continue
            words = [a.get(k, "") for k in ("name", "id", "placeholder", "aria-label", "title",
                                            "data-elements-stable-field-name")]
            words.append(labels_for.get(a.get("id", ""), ""))
            for ref in a.get("aria-labelledby", "").split():
                if ref in ids:
                    words.append(_text(ids[ref]))
            while up >= 0:
                above, _, up = elements[up]
                if above.get("nodeName") == "LABEL":
                    words.append(_text(above))
            self._candidates.append((doc, node, a, where, " ".join(w for w in words if w), before.get(me, "")))

    def classify(self) -> Iterator[tuple[int, dict[str, Any], str, str]]:
        """(document index, node, where, field) for every candidate that is a card field."""
        for doc, node, a, where, words, before in self._candidates:
            found = card_field(a.get("autocomplete", ""), words) or \
                (label_before(before) if plain_autocomplete(a.get("autocomplete", "")) else None)
            if found:
                yield doc, node, where, found


def walk(cdp: Any, shown: set[int] | None = None, first: dict[str, Any] | None = None) -> list[Document]:
    """Every document of this CDP target and the card fields each holds, with visibility.

    `shown`: backend node ids of this target's fields already seen visible; they are not measured
    again (a field once shown to the payer stays one the payer saw), and new visible ones are added.
    `first`: the tree's first piece when the caller already read it (`first_piece`)."""
    shown = set() if shown is None else shown
    w = TreeWalk(read_tree(cdp, first))
    for doc, node, where, found in w.classify():
        bid = node["backendNodeId"]
        if bid in shown:
            w.documents[doc].fields.append(FoundField(field=found, element=describe(node), where=where,
                                                      backend_id=bid))
            continue
        box = box_of(cdp, bid)
        hidden = box is None or box[2] < MIN_SIDE or box[3] < MIN_SIDE \
            or not _facts(cdp, bid).get("visible", True) or _owner_hidden(cdp, w.documents, doc)
        if not hidden:
            shown.add(bid)
        w.documents[doc].fields.append(FoundField(field=found, element=describe(node), where=where,
                                                  backend_id=bid, hidden=hidden, box=box))
    return w.documents


# Levels of the tree asked for in one call. The browser encodes its answer with a nesting limit
# (about 300 levels of JSON, two per element: the node and its list of children), and a tree
# deeper than that is refused whole ("CBOR: stack limit exceeded"): a field 150 elements deep
# would hide every field of its target. So the tree is read in pieces of this depth, each node
# the last piece left unopened read again from there (`DOM.describeNode`, by backend id).
CHUNK_DEPTH = 48
_INNER = ("children", "shadowRoots", "contentDocument", "templateContent", "pseudoElements")


def read_tree(cdp: Any, first: dict[str, Any] | None = None) -> dict[str, Any]:
    """The target's whole DOM (`pierce`: shadow roots and same-process frames), however deep;
    `first`: its first piece, already read (`first_piece`)."""
    root = first if first is not None else _read(cdp, "DOM.getDocument", {}, "root")
    pending = [root]
    while pending:
        node = pending.pop()
        if "children" not in node and node.get("childNodeCount") and node.get("backendNodeId"):
            try:
                more = _read(cdp, "DOM.describeNode", {"backendNodeId": node["backendNodeId"]}, "node")
            except Exception as exc:
                if "node" not in str(exc).lower():
                    raise
                more = {}  # gone since the piece above was read: the next sweep sees the page as it is
            for key in _INNER:
                if key in more:
                    node[key] = more[key]
        for key in ("children", "shadowRoots", "pseudoElements"):
            pending.extend(node.get(key) or ())
        for key in ("contentDocument", "templateContent"):
            if node.get(key):
                pending.append(node[key])
    return root


def first_piece(cdp: Any) -> Any:
    """The coroutine of the tree's first piece (the answer of `DOM.getDocument` as `read_tree` asks
    for it), for a caller that reads several targets' trees at once; None on an API without one.
    A target whose tree is too deep for that piece fails it; `read_tree` then reads it shallower."""
    impl = getattr(cdp, "_impl_obj", None)
    if impl is None:
        return None
    return impl.send(method="DOM.getDocument", params={"depth": CHUNK_DEPTH, "pierce": True}, timeout=None)


def _read(cdp: Any, method: str, params: dict[str, Any], key: str) -> dict[str, Any]:
    """One piece of the tree, CHUNK_DEPTH deep, or shallower while the browser cannot encode it
    (frames within frames add levels that do not count as depth)."""
    depth = CHUNK_DEPTH
    while True:
        try:
            return send_raw(cdp, method, {**params, "depth": depth, "pierce": True})[key]
        except Exception as exc:
            if depth == 1 or "stack limit" not in str(exc):
                raise
            depth //= 2


def send_raw(cdp: Any, method: str, params: dict[str, Any]) -> Any:
    """`cdp.send`, without the sync API's copy of the answer: it walks every dict and list of the
    result looking for Playwright objects, which a DOM tree never holds. On a page of 200,000
    elements that copy took longer than the browser took to write the tree."""
    impl, sync = getattr(cdp, "_impl_obj", None), getattr(cdp, "_sync", None)
    if impl is None or sync is None:
        return cdp.send(method, params)
    return sync(impl.send(method=method, params=params, timeout=None))


def _owner_hidden(cdp: Any, documents: list[Document], index: int | None) -> bool:
    """A frame element that is not rendered (or has no size) hides everything in it."""
    while index is not None:
        owner = documents[index].owner_node
        if owner is not None:
            box = box_of(cdp, owner)
            if box is None or box[2] < MIN_SIDE or box[3] < MIN_SIDE:
                return True
        index = documents[index].parent
    return False


def box_of(cdp: Any, backend_id: int) -> tuple[float, float, float, float] | None:
    try:
        model = cdp.send("DOM.getBoxModel", {"backendNodeId": backend_id})["model"]
    except Exception:  # not rendered: display none, detached, in an undisplayed frame
        return None
    quad = model["border"]
    xs, ys = quad[0::2], quad[1::2]
    return (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))


def _facts(cdp: Any, backend_id: int) -> dict[str, Any]:
    try:
        obj = cdp.send("DOM.resolveNode", {"backendNodeId": backend_id})["object"]
        try:
            got = cdp.send("Runtime.callFunctionOn", {"objectId": obj["objectId"], "functionDeclaration": FIELD_FACTS_JS,
                                                      "returnByValue": True})
        finally:
            cdp.send("Runtime.releaseObject", {"objectId": obj["objectId"]})
        return dict(got.get("result", {}).get("value") or {})
    except Exception:  # a node gone since the tree was read: nothing more to learn
        return {}
