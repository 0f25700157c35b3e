"""Layout of the report's data-flow picture: typed fields -> frames -> hosts that received card data.

Only geometry and plain labels are computed here; the SVG itself is written by the report template,
so every label (hosts, frame names: attacker-controlled) goes through Jinja's autoescaping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from audit.output import view

COLUMN_X = (10, 300, 610)
NODE_W = 250
NODE_H = 40
ROW = 52
TOP = 40
LABEL_CHARS = 36
# Rules whose finding means card data reached (or was aimed at) the host it names.
CARD_RULES = ("card-data-egress", "card-data-at-rest")


@dataclass
class Node:
    key: str
    column: int
    label: str
    sub: str
    title: str
    cls: str                       # field | field-idle | ok | bad | unknown
    x: int = 0
    y: int = 0


@dataclass
class Edge:
    source: str
    target: str
    cls: str                       # ok | bad
    title: str
    path: str = ""


@dataclass
class Graph:
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    width: int = COLUMN_X[2] + NODE_W + 10
    height: int = 0
    empty: bool = True
    no_hosts: bool = True


def _short(value: str) -> str:
    return value if len(value) <= LABEL_CHARS else value[: LABEL_CHARS - 1] + "\u2026"


def _host_allowed(host: str, result: dict[str, Any]) -> bool:
    policy = view.as_dict(result.get("policy"))
    if view.matches_any(host, view.strings(policy.get("card_data_hosts"))):
        return True
    return not any(view.text(f.get("host")).lower() == host.lower() for f in view.dicts(result.get("findings")))


def _frame_allowed(frame: dict[str, Any], result: dict[str, Any]) -> bool:
    if isinstance(frame.get("allowed"), bool):
        return frame["allowed"]
    policy = view.as_dict(result.get("policy"))
    host = view.text(frame.get("host"))
    if view.matches_any(host, view.strings(policy.get("card_frame_hosts"))):
        return True
    return not any(f.get("rule") == "card-field-outside-processor" and view.text(f.get("host")) == host
                   for f in view.dicts(result.get("findings")))


def build(result: dict[str, Any]) -> Graph:
    graph = Graph()
    frames = view.dicts(result.get("frames"))
    typed = {f for fr in frames for f in view.strings(fr.get("typed_fields"))}
    field_names = [f for f in view.CARD_FIELDS if f != "name" or f in typed]
    nodes: dict[str, Node] = {}
    for name in field_names:
        nodes[f"field:{name}"] = Node(f"field:{name}", 0, name, "typed" if name in typed else "not typed",
                                      name, "field" if name in typed else "field-idle")

    def frame_key(frame: dict[str, Any]) -> str:
        return f"frame:{view.text(frame.get('page'), '0')}:{view.text(frame.get('index'))}:{view.text(frame.get('url'))}"

    def add_frame(frame: dict[str, Any], sub: str) -> str:
        key = frame_key(frame)
        if key not in nodes:
            host = view.text(frame.get("host")) or view.text(frame.get("url"))
            name = view.text(frame.get("name"))
            title = f"{view.text(frame.get('url'))}" + (f" (name: {name})" if name else "")
            nodes[key] = Node(key, 1, _short(host), _short(sub), title,
                              "ok" if _frame_allowed(frame, result) else "bad")
        return key

    # Which element of which frame received each keystroke sequence, and what lay on top.
    landed: dict[tuple[str, str], str] = {}
    for keys in view.dicts(result.get("keystrokes")):
        element = view.text(keys.get("landed")) or "the document"
        note = f"{view.text(keys.get('field'))} typed into {element} of {view.text(keys.get('landed_frame_url'))}"
        if keys.get("covered_by"):
            note += (f" (clicked {view.text(keys.get('target'))} of {view.text(keys.get('target_host'))}, but "
                     f"{view.text(keys.get('covered_by'))} lay on top)")
        landed.setdefault((view.text(keys.get("field")), view.text(keys.get("landed_frame_url"))), note)
    for frame in frames:
        fields = view.strings(frame.get("typed_fields"))
        if fields:
            key = add_frame(frame, "typed: " + ", ".join(fields))
            for name in fields:
                if f"field:{name}" in nodes:
                    title = landed.get((name, view.text(frame.get("url"))), f"{name} typed into {nodes[key].title}")
                    graph.edges.append(Edge(f"field:{name}", key, nodes[key].cls, title))

    def sender(frame_url: Any) -> str:
        url = view.text(frame_url)
        match = next((fr for fr in frames if url and view.text(fr.get("url")) == url), None)
        if match is not None:
            return add_frame(match, "sent card data")
        key = f"frame:unknown:{url}"
        if key not in nodes:
            label = url or "worker or unknown frame"
            nodes[key] = Node(key, 1, _short(label), "sent card data (not a recorded frame)", label, "unknown")
        return key

    # host -> fields, request count; (sender, host) -> fields
    received: dict[str, tuple[set[str], int]] = {}
    flows: dict[tuple[str, str], set[str]] = {}
    for req in view.dicts(result.get("requests")):
        fields = view.strings(req.get("card_fields"))
        host = view.text(req.get("host"))
        if not fields or not host:
            continue
        got, count = received.get(host, (set(), 0))
        received[host] = (got | set(fields), count + 1)
        flows.setdefault((sender(req.get("frame_url")), host), set()).update(fields)
    for finding in view.dicts(result.get("findings")):
        host = view.text(finding.get("host"))
        if finding.get("rule") not in CARD_RULES or not host:
            continue
        if host not in received:  # e.g. sent over a WebSocket or stopped by CSP: no request row
            received[host] = ({view.text(finding.get("field"), "card data")}, 0)
        if not any(h == host for (_, h) in flows):
            flows.setdefault((sender(finding.get("frame_url")), host), set()).add(
                view.text(finding.get("field"), "card data"))
    for host, (fields, count) in sorted(received.items()):
        allowed = _host_allowed(host, result)
        sub = ", ".join(sorted(fields)) + (f" \u00b7 {count} request{'s' if count != 1 else ''}" if count else "")
        nodes[f"host:{host}"] = Node(f"host:{host}", 2, _short(host), _short(sub),
                                     f"{host}: {'allowed' if allowed else 'NOT allowed'}", "ok" if allowed else "bad")
    for (src, host), fields in flows.items():
        target = nodes[f"host:{host}"]
        graph.edges.append(Edge(src, target.key, target.cls, f"{', '.join(sorted(fields))} sent to {host}"))

    columns: list[list[Node]] = [[n for n in nodes.values() if n.column == c] for c in range(3)]
    tallest = max(len(c) for c in columns)
    for column in columns:
        # Centre shorter columns so edges fan out rather than all bending upwards.
        offset = TOP + (tallest - len(column)) * ROW // 2
        for row, node in enumerate(column):
            node.x, node.y = COLUMN_X[node.column], offset + row * ROW
    for edge in graph.edges:
        a, b = nodes[edge.source], nodes[edge.target]
        x1, y1, x2, y2 = a.x + NODE_W, a.y + NODE_H // 2, b.x, b.y + NODE_H // 2
        mid = (x1 + x2) // 2
        edge.path = f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}"
    graph.nodes = list(nodes.values())
    graph.height = TOP + tallest * ROW + 10
    graph.empty = not graph.edges
    graph.no_hosts = not received
    return graph
