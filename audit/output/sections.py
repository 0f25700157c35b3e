"""The report's sections as plain values, computed from a result dict (no I/O, no HTML).

Templates only lay these values out; every decision (grouping, ordering, what counts as allowed,
what the run shows for PCI DSS) is made here, where it can be tested without rendering.
"""

from __future__ import annotations

import re
from typing import Any

from audit.output import view

BODY_PREVIEW_BYTES = 2048
BLOCKED_EXPLANATION = (
    "The browser, an ad blocker or a filter list stopped this request: net::ERR_BLOCKED_BY_CLIENT is "
    "Chromium error -20, \u201cThe client chose to block the request\u201d. Both net::ERR_BLOCKED_BY_CLIENT "
    "from a real extension and net::ERR_BLOCKED_BY_CLIENT.Inspector from automation are that code.")
CHROMIUM_ERRORS_SOURCE = "https://source.chromium.org/chromium/chromium/src/+/main:net/base/net_error_list.h"
# Response headers of the payment page that PCI DSS 11.6.1 watches ("security-impacting HTTP headers").
SECURITY_HEADERS = ("content-security-policy", "content-security-policy-report-only", "strict-transport-security",
                    "x-frame-options", "x-content-type-options", "referrer-policy", "permissions-policy",
                    "cross-origin-opener-policy", "cross-origin-embedder-policy")


def anchor(kind: str, value: Any) -> str:
    """An HTML id built only from safe characters, whatever the recorded id holds."""
    return f"{kind}-" + re.sub(r"[^A-Za-z0-9_-]", "_", view.text(value))[:80]


def overview(result: dict[str, Any]) -> dict[str, Any]:
    scenario, tool = view.as_dict(result.get("scenario")), view.as_dict(result.get("tool"))
    summary, card = view.as_dict(result.get("summary")), view.as_dict(result.get("card"))
    requests = view.dicts(result.get("requests"))
    hosts = {view.text(r.get("host")) for r in requests if r.get("host")}
    blocked = sum(1 for r in requests if _blocked(r))
    steps = view.dicts(view.as_dict(result.get("flow")).get("steps"))
    return {
        "verdict": view.verdict(result),
        "name": view.text(scenario.get("name"), "unnamed scenario"),
        "file": view.text(scenario.get("file")),
        "scenario_yaml": view.text(scenario.get("yaml")),  # a scenario written on the fly (run URL)
        "processor": view.text(scenario.get("processor"), "unknown"),
        "start_url": view.text(result.get("start_url")),
        "proof": view.strings(summary.get("proof")),
        "card": {
            "display": view.text(card.get("display")) or view.text(card.get("number")),
            "expiry": view.text(card.get("expiry")), "cvc": view.text(card.get("cvc")),
            "name": view.text(card.get("name")), "postal": view.text(card.get("postal")),
        },
        "browser": view.text(result.get("browser"), "unknown"),
        "tool": f"{view.text(tool.get('name'), 'card-audit')} {view.text(tool.get('version'), '')}".strip(),
        "started_at": view.text(result.get("started_at"), "unknown"),
        "duration": f"{view.number(result.get('duration_s')):.1f} s",
        "exit_code": view.text(result.get("exit_code")),
        "adblock": bool(result.get("adblock")), "adblock_mode": view.text(result.get("adblock_mode")),
        "completed": bool(view.as_dict(result.get("flow")).get("completed")),
        "steps_ok": sum(1 for s in steps if s.get("ok")), "steps": len(steps),
        "counts": {
            "requests": len(requests) or int(view.number(summary.get("requests"))),
            "hosts": len(hosts) or int(view.number(summary.get("hosts"))),
            "blocked": blocked, "frames": len(view.dicts(result.get("frames"))),
            "scripts": len(view.dicts(result.get("scripts"))), "console": len(view.dicts(result.get("console"))),
        },
        "severity_counts": view.severity_counts(result),
        "capture": capture(result),
        "witnesses": witnesses(result),
    }


def _duration_words(ms: float) -> str:
    seconds = ms / 1000
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def capture(result: dict[str, Any]) -> dict[str, Any]:
    """Whether capture ran to its end, and how far the page clock was moved, in words."""
    cap = view.as_dict(result.get("capture"))
    forward = view.number(cap.get("clock_forward_ms"))
    return {
        "complete": cap.get("complete") is not False,
        "reason": view.text(cap.get("reason")),
        "judged": view.text(cap.get("on_bound")) == "judge",
        "clock": (f"page clock moved {_duration_words(forward)} forward after the flow (timers due by then fired)"
                  if forward else ("page clock not moved" if cap else "")),
        "quiet": f"then {view.number(cap.get('quiet_ms')):.0f} ms of network quiet awaited" if cap else "",
    }


def witnesses(result: dict[str, Any]) -> dict[str, Any]:
    """What the run could see: the witnesses, how many requests each saw, and the requests only the
    browser's network stack saw (the page's own first; the browser's own traffic counted apart)."""
    capture = view.as_dict(result.get("capture"))
    requests = view.dicts(result.get("requests"))
    network_only = [r for r in requests if view.strings(r.get("seen_by")) == ["network"]]
    listed = [r for r in network_only if view.text(r.get("from")) != "browser"]
    return {
        "names": view.strings(capture.get("witnesses")) or ["page"],
        "complete": capture.get("complete", True) is not False,
        "reason": view.text(capture.get("reason")),
        **{k: int(view.number(capture.get(k))) for k in ("both", "page_only", "network_only")},
        "network_only_rows": [{
            "id": view.text(r.get("id")), "anchor": anchor("req", r.get("id")),
            "method": view.text(r.get("method"), "GET"), "url": view.text(r.get("url")),
            "host": view.text(r.get("host")), "resource_type": view.text(r.get("resource_type")),
            "sender": view.text(r.get("sender"), "unknown sender"), "failure": view.text(r.get("failure")),
            "card_fields": view.strings(r.get("card_fields"))} for r in listed],
        "browser_own": len(network_only) - len(listed),
        "cut": [_cut_words(w) for w in view.dicts(result.get("wire")) if isinstance(w.get("cut"), dict)],
    }


def _mib(n: float) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 2**10:.0f} KiB"


def _cut_words(wire: dict[str, Any]) -> str:
    """One connection whose sent bytes result.json keeps only in part, in words."""
    cut = view.as_dict(wire.get("cut"))
    size, kept = view.number(cut.get("size")), view.number(cut.get("kept"))
    found = len(view.dicts(wire.get("excerpts")))
    return (f"connection {view.text(wire.get('id'))} to {view.text(wire.get('host'), 'an unnamed host')} sent "
            f"{_mib(size)}: every byte was searched; result.json keeps the first {_mib(kept)}, the SHA-256 of all "
            f"of them and the bytes around {found} card-data sighting{'' if found == 1 else 's'} "
            f"({_mib(size - kept)} cut)")


def _blocked(req: dict[str, Any]) -> bool:
    return bool(req.get("blocked_by_client") or req.get("blocked_by"))


def findings(result: dict[str, Any]) -> list[dict[str, Any]]:
    frames_of = {view.text(r.get("id")): view.text(r.get("frame_url")) for r in view.dicts(result.get("requests"))}
    known_ids = set(frames_of)
    rows = []
    for f in view.findings(result):
        request_id = view.text(f.get("request_id"))
        rows.append({
            "rule": view.text(f.get("rule"), "finding"),
            "description": view.RULES.get(view.text(f.get("rule")), ("", ""))[1],
            "severity": view.text(f.get("severity"), "info").lower(),
            **{k: view.text(f.get(k)) for k in ("message", "host", "url", "channel", "field", "encoding",
                                                 "location", "excerpt", "script")},
            "blocked": bool(f.get("blocked")),
            "frame_url": view.text(f.get("frame_url")) or frames_of.get(request_id, ""),
            "request_id": request_id,
            "request_anchor": anchor("req", request_id) if request_id in known_ids else "",
        })
    return rows


def _request_row(req: dict[str, Any], rules_by_request: dict[str, list[str]]) -> dict[str, Any]:
    body, size = view.preview(req.get("body_b64"), BODY_PREVIEW_BYTES)
    status = req.get("status")
    return {
        "id": view.text(req.get("id")), "anchor": anchor("req", req.get("id")),
        "method": view.text(req.get("method"), "GET"), "url": view.text(req.get("url")),
        "status": view.text(status) if status is not None else "", "failure": view.text(req.get("failure")),
        "resource_type": view.text(req.get("resource_type")), "from": view.text(req.get("from")),
        "frame_url": view.text(req.get("frame_url")), "channel": view.text(req.get("channel"), "http"),
        "blocked": _blocked(req), "blocked_by": view.text(req.get("blocked_by")),
        "blocked_by_client": bool(req.get("blocked_by_client")),
        "blocked_rule": view.text(req.get("blocked_rule")), "blocked_list": view.text(req.get("blocked_list")),
        "card_fields": view.strings(req.get("card_fields")),
        "headers": view.headers(req.get("headers")), "response_headers": view.headers(req.get("response_headers")),
        "body": body, "body_size": size, "body_truncated": size > BODY_PREVIEW_BYTES,
        "rules": rules_by_request.get(view.text(req.get("id")), []),
        "seen_by": view.strings(req.get("seen_by")) or ["page"], "sender": view.text(req.get("sender")),
    }


def host_groups(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Requests grouped by host; hosts ordered by party (processor first), then name."""
    rules_by_request: dict[str, list[str]] = {}
    for f in view.dicts(result.get("findings")):
        if f.get("request_id"):
            rules_by_request.setdefault(view.text(f.get("request_id")), []).append(view.text(f.get("rule")))
    groups: dict[str, dict[str, Any]] = {}
    for req in view.dicts(result.get("requests")):
        host = view.text(req.get("host")) or "(no host)"
        group = groups.setdefault(host, {"host": host, "party": "", "blocked": False, "requests": [],
                                         "card": False, "anchor": anchor("host", host)})
        group["party"] = group["party"] or view.text(req.get("party"))
        group["blocked"] = group["blocked"] or _blocked(req)
        group["card"] = group["card"] or bool(view.strings(req.get("card_fields")))
        group["requests"].append(_request_row(req, rules_by_request))
    for group in groups.values():
        group["party"] = group["party"] if group["party"] in view.PARTIES else "unlisted"
    order = {p: i for i, p in enumerate(view.PARTIES)}
    return sorted(groups.values(), key=lambda g: (order[g["party"]], g["host"]))


def websockets(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for ws in view.dicts(result.get("websockets")):
        frames = []
        for frame in view.dicts(ws.get("frames"))[:200]:
            payload, size = view.preview(frame.get("payload_b64"), BODY_PREVIEW_BYTES)
            frames.append({"direction": view.text(frame.get("direction")), "payload": payload, "size": size,
                           "truncated": size > BODY_PREVIEW_BYTES})
        rows.append({"id": view.text(ws.get("id")), "url": view.text(ws.get("url")), "host": view.text(ws.get("host")),
                     "error": view.text(ws.get("error")), "frames": frames,
                     "more": max(0, len(view.dicts(ws.get("frames"))) - 200)})
    return rows


def api_calls(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Data handed to network APIs (fetch, sendBeacon, WebSocket.send...) as the page's scripts called them."""
    rows = []
    for call in view.dicts(result.get("api_calls")):
        data = view.text(call.get("data"))
        rows.append({"kind": view.text(call.get("kind")), "url": view.text(call.get("url")),
                     "frame_url": view.text(call.get("frame_url")), "data": data[:BODY_PREVIEW_BYTES],
                     "size": len(data), "truncated": len(data) > BODY_PREVIEW_BYTES})
    return rows


def storage(result: dict[str, Any]) -> list[dict[str, str]]:
    return [{"origin": view.text(e.get("origin")), "kind": view.text(e.get("kind")), "key": view.text(e.get("key")),
             "value": view.text(e.get("value"))[:BODY_PREVIEW_BYTES]} for e in view.dicts(result.get("storage"))]


def console(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"type": view.text(c.get("type"), "log"), "text": view.text(c.get("text")), "url": view.text(c.get("url")),
             "frame_url": view.text(c.get("frame_url")), "source": view.text(c.get("source")),
             "blocked": bool(c.get("blocked_by_client")) or "ERR_BLOCKED_BY_CLIENT" in view.text(c.get("text")),
             "blocked_rule": view.text(c.get("blocked_rule")), "blocked_list": view.text(c.get("blocked_list"))}
            for c in view.dicts(result.get("console"))]


def frame_tree(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Frames nested by `parent` within each page. Orphans (parent never recorded) become roots;
    a parent cycle in a damaged file cannot loop, as each frame is placed once."""
    frames = view.dicts(result.get("frames"))
    nodes = []
    for fr in frames:
        allowed = fr.get("allowed")
        nodes.append({"index": fr.get("index"), "page": view.text(fr.get("page"), "0"), "parent": fr.get("parent"),
                      "url": view.text(fr.get("url")), "host": view.text(fr.get("host")),
                      "name": view.text(fr.get("name")), "card_inputs": view.strings(fr.get("card_inputs")),
                      "typed_fields": view.strings(fr.get("typed_fields")),
                      "allowed": allowed if isinstance(allowed, bool) else None, "children": []})
    by_key = {(n["page"], view.text(n["index"])): n for n in nodes}
    roots, placed = [], set()

    def place(node: dict[str, Any], parent: dict[str, Any] | None) -> None:
        placed.add(id(node))
        (parent["children"] if parent else roots).append(node)

    for node in nodes:
        parent = by_key.get((node["page"], view.text(node["parent"]))) if node["parent"] is not None else None
        if parent is None or parent is node or _descends(parent, node, by_key):
            place(node, None)
        else:
            place(node, parent)
    return roots


def _descends(candidate: dict[str, Any], ancestor: dict[str, Any], by_key: dict[tuple[str, str], Any]) -> bool:
    """Whether `candidate` already has `ancestor` above it (placing it under would make a cycle)."""
    seen, node = set(), candidate
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        if node is ancestor:
            return True
        node = by_key.get((node["page"], view.text(node["parent"]))) if node["parent"] is not None else None
    return False


def scripts(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"url": view.text(s.get("url"), "inline"), "frame_url": view.text(s.get("frame_url")),
             "sha384": view.text(s.get("sha384")), "sri": view.text(s.get("sri")),
             "size": int(view.number(s.get("size")))} for s in view.dicts(result.get("scripts"))]


def baseline(result: dict[str, Any]) -> dict[str, Any] | None:
    data = result.get("baseline")
    if not isinstance(data, dict):
        return None
    return {
        "file": view.text(data.get("file")),
        "scripts": [{k: view.text(s.get(k)) for k in ("url", "sha384", "status", "justification")}
                    for s in view.dicts(data.get("scripts"))],
        "headers": [{k: view.text(h.get(k)) for k in ("name", "expected", "actual", "status")}
                    for h in view.dicts(data.get("headers"))],
    }


def page_headers(result: dict[str, Any]) -> list[tuple[str, str]]:
    present = {k.lower(): v for k, v in view.headers(result.get("page_headers")).items()}
    return [(name, present.get(name, "")) for name in SECURITY_HEADERS]


def screenshots(result: dict[str, Any]) -> list[dict[str, str]]:
    """Screenshot paths in the order taken, each once, with the step that took it."""
    shots: list[dict[str, str]] = []
    seen: set[str] = set()
    # Every card form a payer could see, outlined, first: what the payer was shown to type into.
    for form in view.dicts(result.get("card_forms")):
        path = view.text(form.get("screenshot"))
        if path and path not in seen:
            seen.add(path)
            where = view.text(form.get("where"))
            shots.append({"path": path, "caption": (
                f"card form a payer could see: {', '.join(view.strings(form.get('fields')))} in "
                f"{view.text(form.get('host')) or view.text(form.get('frame_url'))}"
                + (f" ({where})" if where and where != "document" else "")
                + f", at {view.number(form.get('time')):.1f} s")})
    for i, step in enumerate(view.dicts(view.as_dict(result.get("flow")).get("steps")), 1):
        path = view.text(step.get("screenshot"))
        if path and path not in seen:
            seen.add(path)
            shots.append({"path": path, "caption": f"step {i}: {view.text(step.get('action'))} "
                                                   f"{view.text(step.get('target'))}".strip()})
    for path in view.strings(result.get("screenshots")):
        if path and path not in seen:
            seen.add(path)
            shots.append({"path": path, "caption": path})
    return shots


def steps(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"action": view.text(s.get("action")), "target": view.text(s.get("target")), "ok": bool(s.get("ok")),
             "error": view.text(s.get("error")), "duration": f"{view.number(s.get('duration_s')):.1f} s"}
            for s in view.dicts(view.as_dict(result.get("flow")).get("steps"))]


def pci(result: dict[str, Any]) -> dict[str, Any]:
    """What this run shows for each PCI DSS item the tool checks, in plain sentences."""
    frames = view.dicts(result.get("frames"))
    rules = [view.text(f.get("rule")) for f in view.dicts(result.get("findings"))]
    card_frames = [fr for fr in frames if view.strings(fr.get("card_inputs"))]
    outside = sorted({view.text(fr.get("host")) for fr in card_frames if fr.get("allowed") is False}
                     | {view.text(f.get("host")) for f in view.dicts(result.get("findings"))
                        if f.get("rule") == "card-field-outside-processor"})
    egress = rules.count("card-data-egress") + rules.count("card-data-at-rest")
    inventory = scripts(result)
    with_sri = sum(1 for s in inventory if s["sri"])
    base = baseline(result)
    completed = bool(view.as_dict(result.get("flow")).get("completed"))
    if outside:
        saq_a = ("Not shown: card inputs were found in frames served by " + ", ".join(h or "(unknown)" for h in outside)
                 + ", which are not card-frame hosts of the processor.")
    elif card_frames:
        hosts = sorted({view.text(fr.get("host")) for fr in card_frames})
        saq_a = f"In this run every frame holding a card input was served by {', '.join(hosts)} (a card-frame host)."
    else:
        saq_a = "Not shown: no card input was recorded in any frame, so where card capture happens is unknown."
    if egress:
        script_attack = (f"Not shown: {egress} finding(s) record card data sent to, or stored for, a party that may "
                         "not receive it (see Findings).")
    elif completed:
        script_attack = ("In this run no card data left the browser for any host but the processor's card-data hosts, "
                         "over HTTP, beacons, WebSockets or any other recorded channel, and none was stored by a "
                         "non-processor origin.")
    else:
        script_attack = "Not shown: the payment flow did not complete, so the run proves nothing about card data."
    if base:
        changed = [s for s in base["scripts"] if s["status"] in ("new", "changed", "missing")]
        headers_changed = [h for h in base["headers"] if h["status"] not in ("", "same")]
        tamper = (f"Compared with baseline {base['file'] or '(unnamed)'}: {len(changed)} script(s) new, changed or "
                  f"missing; {len(headers_changed)} security header(s) changed.")
    else:
        tamper = ("No baseline was given: nothing was compared. This run's script hashes and headers can serve as "
                  "the baseline of a later run (--baseline).")
    return {
        "saq_a": saq_a, "saq_a_ok": bool(card_frames) and not outside,
        "script_attack": script_attack, "script_attack_ok": completed and not egress,
        "inventory": (f"{len(inventory)} script(s) executed on the payment page and its frames were recorded with "
                      f"their SHA-384; {with_sri} carried a Subresource Integrity attribute."),
        "tamper": tamper, "tamper_ok": bool(base) and not any(r in rules for r in
                                                              ("script-not-in-baseline", "script-changed",
                                                               "header-changed")),
    }
