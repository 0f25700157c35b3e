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

from dataclasses import dataclass, field
from typing import Any, Iterator

from .cardwords import NOT_TYPED, card_field

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
    flat = node.get("attributes") or []
    return {flat[i].lower(): flat[i + 1] for i in range(0, len(flat) - 1, 2)}


def describe(node: dict[str, Any]) -> str:
    """tag#id[name=..][autocomplete=..]: enough to find the element again by eye."""
    a = attrs(node)
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


def _editable(node: dict[str, Any]) -> bool:
    name = node.get("nodeName")
    a = attrs(node)
    if name == "INPUT":
        return a.get("type", "text").lower() not in NOT_TYPED
    if name == "TEXTAREA":
        return True
    return (a.get("contenteditable", "false").lower() not in ("false",) and "contenteditable" in a) \
        or a.get("role", "").lower() == "textbox"


class TreeWalk:
    """One pass over a `DOM.getDocument` tree: its documents and the card fields in each."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.documents: list[Document] = []
        self._candidates: list[tuple[int, dict[str, Any], str, str]] = []  # (doc, node, where, words)
        self._document(root, None, None, {})

    def _document(self, node: dict[str, Any], parent: int | None, frame_id: str | None,
                  owner: dict[str, str], owner_node: int | None = None) -> None:
        index = len(self.documents)
        self.documents.append(Document(url=node.get("documentURL") or node.get("baseURL") or "",
                                       frame_id=frame_id, owner=owner, parent=parent, owner_node=owner_node))
        self._root(node, index, "document")

    def _root(self, root: dict[str, Any], doc: int, where: str) -> None:
        """A document or a shadow root: labels are looked up within it, as the browser does."""
        ids: dict[str, dict[str, Any]] = {}
        labels_for: dict[str, str] = {}
        nodes: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []  # node, its ancestors in this root
        stack: list[tuple[dict[str, Any], list[dict[str, Any]]]] = [(c, []) for c in reversed(root.get("children") or [])]
        while stack:
            node, ancestors = stack.pop()
            if node.get("nodeType") != 1:
                continue
            a = attrs(node)
            if a.get("id"):
                ids.setdefault(a["id"], node)
            if node.get("nodeName") == "LABEL" and a.get("for"):
                labels_for[a["for"]] = labels_for.get(a["for"], "") + " " + _text(node)
            nodes.append((node, ancestors))
            below = ancestors + [node]
            for child in reversed(node.get("children") or []):
                stack.append((child, below))
        for node, ancestors in nodes:
            name = node.get("nodeName")
            host = describe(node)
            for shadow in node.get("shadowRoots") or []:
                kind = shadow.get("shadowRootType")
                if kind == "user-agent":
                    continue
                inner = f"{kind} shadow root of <{host}>"
                self._root(shadow, doc, inner if where == "document" else f"{where} > {inner}")
            if name in ("IFRAME", "FRAME", "OBJECT", "EMBED", "PORTAL", "FENCEDFRAME"):
                content = node.get("contentDocument")
                owner = {k: v for k, v in attrs(node).items() if k in ("name", "id", "src")}
                if content is not None:
                    self._document(content, doc, node.get("frameId"), owner, node.get("backendNodeId"))
                elif node.get("frameId"):
                    self.documents.append(Document(url=attrs(node).get("src", ""), frame_id=node.get("frameId"),
                                                   owner=owner, parent=doc, remote=True))
                continue
            if node.get("nodeName") == "TEMPLATE" and node.get("templateContent"):
                continue  # inert until stamped: not something a payer can see
            if not _editable(node):
                continue
            a = attrs(node)
            words = [a.get(k, "") for k in ("name", "id", "placeholder", "aria-label", "title",
                                            "data-elements-stable-field-name")]
            words.append(labels_for.get(a.get("id", ""), ""))
            for ref in a.get("aria-labelledby", "").split():
                if ref in ids:
                    words.append(_text(ids[ref]))
            for up in ancestors:
                if up.get("nodeName") == "LABEL":
                    words.append(_text(up))
            self._candidates.append((doc, node, where, " ".join(w for w in words if w)))

    def classify(self) -> Iterator[tuple[int, dict[str, Any], str, str]]:
        """(document index, node, where, field) for every candidate that is a card field."""
        for doc, node, where, words in self._candidates:
            found = card_field(attrs(node).get("autocomplete", ""), words)
            if found:
                yield doc, node, where, found


def walk(cdp: Any, shown: set[int] | None = None) -> list[Document]:
    """Every document of this CDP target and the card fields each holds, with visibility.

    `shown`: backend node ids of this target's fields already seen visible; they are not measured
    again (a field once shown to the payer stays one the payer saw), and new visible ones are added."""
    shown = set() if shown is None else shown
    tree = cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})
    w = TreeWalk(tree["root"])
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
