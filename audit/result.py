"""From judged evidence to the result: verdict, plain-words proof, and the result.json dict (pure)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections import defaultdict
from typing import Any

from . import __version__
from .detect.sightings import UNSEARCHED, Sighting
from .evidence import Evidence, WireRecord
from .browser import BROWSER_OWN_HOSTS
from .hosts import matches_any
from .detect.match import find_card
from .detect.wire import sighting_excerpts
from .detect.policy import FLAGGED_FIELDS, SEVERITY_ORDER, Finding, HostPolicy, frame_host, judge
from .redact import mask_foreign_cards, redact_headers, redact_wire

SCHEMA = "card-audit/result/v1"
EXIT_CODES = {"pass": 0, "fail": 1, "inconclusive": 3}
FIELD_WORDS = {"number": "card number", "cvc": "CVC", "expiry": "expiry date", "name": "cardholder name",
               "postal": "postal code"}


def group_number(number: str) -> str:
    if len(number) == 15:  # Amex: 4-6-5
        return f"{number[:4]} {number[4:10]} {number[10:]}"
    return " ".join(number[i:i + 4] for i in range(0, len(number), 4))


def verdict_of(findings: list[Finding], completed: bool, errors: list[dict[str, str]]) -> str:
    """Fail closed: only a completed flow with a clean analysis passes."""
    if any(f.severity in ("critical", "high") for f in findings):
        return "fail"
    if not completed or errors:
        return "inconclusive"
    return "pass"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def proof_sentences(evidence: Evidence, policy: HostPolicy, findings: list[Finding],
                    sightings: list[Sighting]) -> list[str]:
    out: list[str] = []
    typed: dict[str, set[str]] = defaultdict(set)
    popup_hosts: set[str] = set()
    for frame in evidence.frames:
        for field in frame.typed_fields:
            typed[field].add(frame.host or frame.url)
            if frame.page and frame.parent is None:
                popup_hosts.add(frame.host or frame.url)
    request_of = {r.url: r.id for r in evidence.requests}  # an API call's sighting counts as its request
    flow = evidence.steps
    if evidence.completed:
        out.append(f"The payment flow completed: {_plural(len(flow), 'step')} ran without error.")
    else:
        failed = next((s for s in flow if not s.ok), None)
        out.append("The payment flow did not complete" +
                   (f": step '{failed.action} {failed.target}' failed ({failed.error})." if failed else "."))
    if evidence.adblock:
        stopped = sorted({r.host for r in evidence.requests if r.blocked_by_client})
        lists = ", ".join(f.name for f in evidence.adblock_lists)
        kind = {"processor": " that blocks the processor's hosts", "lists": f" running {lists}"}.get(
            evidence.adblock_mode, f" ({lists})" if lists else "")
        out.append(f"The run browsed as a payer with an ad blocker{kind}; it stopped requests to "
                   + (", ".join(stopped) if stopped else "no host")
                   + (f" and hid {_plural(len(evidence.hidden), 'kind')} of element" if evidence.hidden else "")
                   + ".")
    if not typed:
        out.append("The canary card was never typed, so nothing about where card data goes was proven.")
    for field in ("number", "cvc") if typed else ():
        if field not in typed:
            continue
        hosts = sorted(typed[field])
        where = ", ".join(hosts)
        word = FIELD_WORDS[field]
        kind = "a popup window" if set(hosts) <= popup_hosts else "a frame"
        out.append(f"The {word} was typed key by key in {kind} served by {where}"
                   f"{'' if all(policy.party(h) == 'processor' for h in hosts) else ' (not the processor)'}.")
        receivers: dict[str, set[str]] = defaultdict(set)
        for s in sightings:
            if s.field == field and s.channel not in ("console", "storage") and s.context_ok:
                receivers[s.host or "an unnamed peer"].add(
                    s.request_id or request_of.get(s.url or "") or s.url or s.location)
        if not receivers:
            out.append(f"The {word} was not seen leaving the browser in any encoding card-audit knows"
                       f"{' (a processor that encrypts card data in the browser looks like this)' if field == 'number' else ''}.")
            continue
        allowed = {h: n for h, n in receivers.items() if matches_any(h, policy.card_data_hosts)}
        others = {h: n for h, n in receivers.items() if h not in allowed}
        if allowed and not others:
            parts = ", ".join(f"{h} (in {_plural(len(n), 'request')})" for h, n in sorted(allowed.items()))
            out.append(f"It was sent only to {parts}; no other host received it.")
        else:
            parts = ", ".join(f"{h} ({_plural(len(n), 'request')})" for h, n in sorted(others.items()))
            fine = ", ".join(sorted(allowed))
            out.append(f"It reached hosts that may not receive card data: {parts}"
                       + (f" (besides the card-data host {fine})." if fine else "."))
    out += keystroke_sentences(evidence)
    blocked = [r for r in evidence.requests if r.blocked_by]
    out.append(f"{_plural(len(evidence.requests), 'request')} to "
               f"{_plural(len({r.host for r in evidence.requests if r.host}), 'host')} were recorded"
               + (f", {len(blocked)} of them stopped by the browser" if blocked else "") + ".")
    serious = [f for f in findings if f.severity in ("critical", "high")]
    if serious:
        out.append(f"{_plural(len(serious), 'critical or high finding')}: see Findings.")
    return out


def keystroke_sentences(evidence: Evidence) -> list[str]:
    """Which element of which frame received each typed card field, and the card forms a payer saw."""
    out = []
    for keys in evidence.keystrokes:
        word = FIELD_WORDS.get(keys.field, keys.field)
        where = keys.landed_host or keys.landed_frame_url or "no frame"
        sentence = (f"The {word} was typed after a click at ({keys.x:.0f}, {keys.y:.0f}) on "
                    f"{keys.target} of {keys.target_host or keys.target_frame_url}; the keys went to "
                    + (f"{keys.landed} in a frame served by {where}" if keys.landed else f"the document of {where}"))
        if keys.covered_by:
            sentence += (f", because {keys.covered_by} of {keys.cover_host or keys.cover_frame_url} lay on top "
                         "of the field")
        out.append(sentence + ".")
    seen = [f for f in evidence.card_forms if not f.hidden]
    if seen:
        parts = [f"{'+'.join(f.fields)} in {f.host or f.frame_url}"
                 + (f" ({f.where})" if f.where != "document" else "") for f in seen]
        out.append(f"Card forms a payer could see: {len(seen)} ({'; '.join(parts)}).")
    hidden = [f for f in evidence.card_forms if f.hidden]
    if hidden:
        out.append(f"Card fields present but hidden from the payer: "
                   + "; ".join(f"{'+'.join(f.fields)} in {f.host or f.frame_url}" for f in hidden) + ".")
    return out


def _carries_card(card: Any) -> Any:
    """For redaction: a secret value that holds the canary is kept, being evidence."""
    return lambda value: bool(value) and bool(find_card(str(value), card))


def _mask_text(text: str | None, canary: str) -> str | None:
    return mask_foreign_cards(text, canary) if text else text


def _mask_body(body_b64: str | None, canary: str) -> str | None:
    if not body_b64:
        return body_b64
    raw = base64.b64decode(body_b64)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return body_b64  # binary bodies are kept as they are
    masked = mask_foreign_cards(text, canary)
    return body_b64 if masked == text else base64.b64encode(masked.encode()).decode()


BODY_CAP = 8 * 2**20  # a request body above this is searched in full but not copied into result.json


def _body_fields(request: Any, sightings: list[Sighting], canary: str) -> dict[str, Any]:
    """A request's body for result.json. Above BODY_CAP only its hash and size are kept, with the
    text around each place card data was found in it, so that re-judging the saved result finds
    the same card data (perhaps under a plainer encoding) and result.json stays small."""
    if not request.body_b64 or len(request.body_b64) * 3 // 4 <= BODY_CAP:
        return {"body_b64": _mask_body(request.body_b64, canary)}
    raw = request.body
    if len(raw) <= BODY_CAP:
        return {"body_b64": _mask_body(request.body_b64, canary)}
    around = [s.excerpt for s in sightings if s.request_id == request.id and s.location == "body"]
    kept = "\n".join(dict.fromkeys(around)).encode()
    return {"body_b64": _mask_body(base64.b64encode(kept).decode(), canary) if kept else None,
            "body": {"sha256": hashlib.sha256(raw).hexdigest(), "size": len(raw), "searched": True,
                     "stored": "the text around each card-data sighting" if kept else "nothing (no card data found)"}}


WIRE_KEPT = 256 * 2**10  # of a connection that sent more than BODY_CAP, the first bytes kept in result.json


def _wire_fields(wire: WireRecord, card: Any, keep: Any) -> dict[str, Any]:
    """A connection's record for result.json. A connection that sent more than BODY_CAP bytes has
    been searched in full (the run judged every byte), and is kept as a large request body is:
    the size and SHA-256 of all its bytes, the bytes around each place the sweep found card data
    (so that `check` judging the saved result finds the same card data again), and its first
    WIRE_KEPT bytes (the first request heads: what the connection was for). result.json says how
    much was cut."""
    canary = card.number
    data = wire.sent
    cut = wire.cut
    if len(data) > BODY_CAP and not cut:
        excerpts = sighting_excerpts(wire, card)
        size, digest, data, cut = len(data), hashlib.sha256(data).hexdigest(), data[:WIRE_KEPT], True
    else:
        excerpts, size, digest = list(wire.excerpts), wire.size, wire.sha256
    out: dict[str, Any] = {
        "id": wire.id, "host": wire.host, "port": wire.port, "protocol": wire.protocol,
        "bytes": size if cut else len(data), "request_ids": list(wire.request_ids), "time": wire.time,
        "sent_b64": _mask_body(base64.b64encode(redact_wire(data, wire.protocol, keep)).decode(), canary)}
    if cut:
        kept = min(size, WIRE_KEPT)
        out["cut"] = {"size": size, "kept": kept, "cut": size - kept, "sha256": digest, "searched": True,
                      "stored": f"the first {kept} bytes, and the bytes around each place card data was found"
                      if excerpts else f"the first {kept} bytes (no card data was found in any byte)"}
        out["excerpts"] = [{
            "what": e.what, "field": e.field, "encoding": e.encoding, "context_ok": e.context_ok,
            "offset": e.offset,
            "sent_b64": _mask_body(base64.b64encode(redact_wire(e.sent, "http/1.1", keep)).decode(), canary)
            if e.sent else ""} for e in excerpts]
    return out


def build_result(evidence: Evidence, policy: HostPolicy, extra_findings: list[Finding] | None = None,
                 baseline: dict[str, Any] | None = None) -> dict[str, Any]:
    findings, sightings = judge(evidence, policy)
    unsearched = [s for s in sightings if s.field == UNSEARCHED]
    sightings = [s for s in sightings if s.field != UNSEARCHED]
    findings = sorted(findings + list(extra_findings or []), key=lambda f: SEVERITY_ORDER.index(f.severity))
    canary = evidence.card.number
    keep = _carries_card(evidence.card)
    errors = [{"stage": e.stage, "message": e.message} for e in evidence.errors]
    errors += [{"stage": "step", "message": f"step {n} ({s.action} {s.target}): {s.error}"}
               for n, s in enumerate(evidence.steps, start=1) if not s.ok]
    if not any("number" in f.typed_fields for f in evidence.frames) and evidence.completed:
        errors.append({"stage": "analysis", "message": "the canary card was never typed (no fill_card "
                       "or {card.*} step reached a field): the run proves nothing about card data"})
    capture = evidence.capture
    if not capture.complete and capture.on_bound != "judge":
        errors.append({"stage": "analysis", "message": f"capture is incomplete: {capture.reason} "
                       "(the scenario can say `settle: {on_bound: judge}` to judge what was seen)"})
    if unsearched:
        where = ", ".join(sorted({f"{s.location} of {s.url or s.host or s.channel}" for s in unsearched})[:5])
        errors.append({"stage": "analysis", "message": f"{_plural(len(unsearched), 'payload')} not searched "
                       f"to the end by the decoding search ({where}): card data could hide there"})
    verdict = verdict_of(findings, evidence.completed, errors)
    fields_by_request: dict[str, set[str]] = defaultdict(set)
    for s in sightings:
        if s.request_id and s.context_ok:
            fields_by_request[s.request_id].add(s.field)
    receivers: dict[str, int] = defaultdict(int)
    for req in evidence.requests:
        if "number" in fields_by_request.get(req.id, ()):
            receivers[req.host] += 1
    card = evidence.card
    return {
        "schema": SCHEMA,
        "tool": {"name": "card-audit", "version": __version__},
        "scenario": {"name": evidence.scenario_name, "file": evidence.scenario_file,
                     "processor": evidence.processor, "source": evidence.scenario_source},
        "verdict": verdict,
        "exit_code": EXIT_CODES[verdict],
        "started_at": evidence.started_at,
        "duration_s": evidence.duration_s,
        "browser": evidence.browser,
        "start_url": evidence.start_url,
        "card": {**card.fields(), "display": group_number(card.number)},
        "adblock": evidence.adblock,
        "adblock_mode": evidence.adblock_mode or None,
        "adblock_lists": [dataclasses.asdict(f) for f in evidence.adblock_lists],
        "hidden_elements": [{**dataclasses.asdict(h), "frame_url": _mask_text(h.frame_url, canary),
                             "text": _mask_text(h.text, canary)} for h in evidence.hidden],
        "summary": {
            "proof": proof_sentences(evidence, policy, findings, sightings),
            "card_frame_hosts_seen": sorted({f.host for f in evidence.frames if f.typed_fields}),
            "card_receivers": dict(receivers),
            "requests": len(evidence.requests),
            "hosts": len({r.host for r in evidence.requests if r.host}),
            "blocked": sum(1 for r in evidence.requests if r.blocked_by),
            "findings_by_severity": {s: sum(1 for f in findings if f.severity == s) for s in SEVERITY_ORDER},
        },
        "flow": {"completed": evidence.completed,
                 "steps": [{"action": s.action, "target": s.target, "ok": s.ok, "error": s.error,
                            "screenshot": s.screenshot, "duration_s": s.duration_s, "time": s.time}
                           for s in evidence.steps]},
        "findings": [{**f.to_dict(), "message": _mask_text(f.message, canary),
                      "url": _mask_text(f.url, canary), "excerpt": _mask_text(f.excerpt, canary)}
                     for f in findings],
        "requests": [{
            "id": r.id, "method": r.method, "url": _mask_text(r.url, canary), "host": r.host,
            "resource_type": r.resource_type, "frame_url": r.frame_url, "from": r.source, "page": r.page,
            "channel": r.channel, "status": r.status, "failure": r.failure,
            "blocked_by_client": r.blocked_by_client, "blocked_by": r.blocked_by,
            "blocked_rule": r.blocked_rule, "blocked_list": r.blocked_list,
            "party": policy.party(r.host), "card_fields": sorted(fields_by_request.get(r.id, ())),
            "headers": redact_headers(r.headers, keep), **_body_fields(r, sightings, canary),
            "response_headers": redact_headers(r.response_headers, keep), "redirected_from": r.redirected_from,
            "time": r.time, "seen_by": list(r.seen_by), "sender": r.sender} for r in evidence.requests],
        "capture": capture_summary(evidence),
        "wire": [_wire_fields(w, evidence.card, keep) for w in evidence.wire],
        "websockets": [{"id": w.id, "url": _mask_text(w.url, canary), "host": w.host, "page": w.page, "error": w.error,
                        "party": policy.party(w.host),
                        "frames": [{"direction": f.direction, "payload_b64": _mask_body(f.payload_b64, canary),
                                    "time": f.time} for f in w.frames]} for w in evidence.websockets],
        "console": [{"type": c.type, "text": _mask_text(c.text, canary), "url": _mask_text(c.url, canary),
                     "frame_url": c.frame_url, "page": c.page, "source": c.source,
                     "blocked_by_client": c.blocked_by_client, "blocked_rule": c.blocked_rule,
                     "blocked_list": c.blocked_list, "time": c.time} for c in evidence.console],
        "frames": [{"index": f.index, "url": _mask_text(f.url, canary), "host": f.host, "parent": f.parent, "page": f.page,
                    "name": f.name, "card_inputs": list(f.card_inputs), "typed_fields": list(f.typed_fields),
                    "hidden_inputs": list(f.hidden_inputs),
                    "allowed": not ({*f.card_inputs, *f.typed_fields} & set(FLAGGED_FIELDS))
                    or matches_any(frame_host(f, evidence.frames), policy.card_frame_hosts)}
                   for f in evidence.frames],
        "card_forms": [{**dataclasses.asdict(f), "frame_url": _mask_text(f.frame_url, canary)}
                       for f in evidence.card_forms],
        "keystrokes": [dataclasses.asdict(k) for k in evidence.keystrokes],
        "evasions_open": list(evidence.evasions_open),
        "scripts": [{"url": s.url, "frame_url": s.frame_url, "sha384": s.sha384, "sri": s.sri,
                     "page": s.page, "size": s.size} for s in evidence.scripts],
        "storage": [{"origin": s.origin, "kind": s.kind, "key": _mask_text(s.key, canary),
                     "value": "[redacted]" if s.kind == "cookie" and not keep(f"{s.key}={s.value}")
                     else _mask_text(s.value, canary),
                     "page": s.page} for s in evidence.storage],
        "api_calls": [{"kind": a.kind, "url": _mask_text(a.url, canary), "data": _mask_text(a.data, canary),
                       "frame_url": a.frame_url, "page": a.page, "time": a.time, "script": a.script}
                      for a in evidence.api_calls],
        "webrtc": [{"kind": a.kind, "url": a.url, "data": _mask_text(a.data, canary), "frame_url": a.frame_url}
                   for a in evidence.api_calls if a.kind.startswith("rtc")],
        "dns": [{"host": _mask_text(d.host, canary), "source": d.source, "preconnect": d.preconnect, "frame_url": d.frame_url,
                 "party": "browser" if matches_any(d.host, BROWSER_OWN_HOSTS) else policy.party(d.host)}
                for d in evidence.dns],
        "page_headers": redact_headers(evidence.page_headers, keep),
        "screenshots": list(evidence.screenshots),
        "policy": policy.to_dict(),
        "errors": errors,
        "search": {"unsearched": [{"channel": s.channel, "host": s.host, "url": _mask_text(s.url, canary),
                                   "location": s.location, "request_id": s.request_id, "reason": s.encoding}
                                  for s in unsearched]},
        "notes": list(evidence.notes),
        "capture": capture_summary(evidence),
        "baseline": baseline,
    }


def capture_summary(evidence: Evidence) -> dict[str, Any]:
    """result.json's `capture`: what the run could see, whether capture ran to its end, and how far
    the page clock was moved. Per-witness counts come from each request's `seen_by` (the page's
    events when a request names no witness)."""
    capture = evidence.capture
    seen = [set(getattr(r, "seen_by", None) or ("page",)) for r in evidence.requests]
    return {"witnesses": list(capture.witnesses), "complete": capture.complete, "reason": capture.reason,
            "both": sum(1 for s in seen if {"page", "network"} <= s),
            "page_only": sum(1 for s in seen if s == {"page"}),
            "network_only": sum(1 for s in seen if s == {"network"}),
            "on_bound": capture.on_bound, "clock_forward_ms": capture.clock_forward_ms,
            "quiet_ms": capture.quiet_ms}


def _wire_record(wire: dict[str, Any]) -> dict[str, Any]:
    """A connection's Evidence fields from its result.json record (one whose bytes were cut keeps
    the size and hash of all of them)."""
    out = {k: v for k, v in wire.items() if k not in ("bytes", "cut")}
    cut = wire.get("cut")
    if isinstance(cut, dict):
        out["size"], out["sha256"] = cut.get("size", 0), cut.get("sha256", "")
    return out


def evidence_from_result(result: dict[str, Any]) -> Evidence:
    """Rebuild the Evidence a result.json was judged from, for `check` and `report`."""
    scenario = result.get("scenario", {})
    card = {k: v for k, v in result.get("card", {}).items() if k != "display"}
    requests = [{**{k: v for k, v in r.items() if k not in ("party", "card_fields", "from")},
                 "source": r.get("from", "page")} for r in result.get("requests", [])]
    data = {
        "scenario_name": scenario.get("name", ""), "scenario_file": scenario.get("file", ""),
        "processor": scenario.get("processor", ""), "start_url": result.get("start_url", ""),
        "card": card, "started_at": result.get("started_at", ""), "duration_s": result.get("duration_s", 0.0),
        "completed": result.get("flow", {}).get("completed", False), "browser": result.get("browser", ""),
        "steps": result.get("flow", {}).get("steps", []), "requests": requests,
        "websockets": [{k: v for k, v in w.items() if k != "party"} for w in result.get("websockets", [])],
        "console": result.get("console", []),
        "frames": [{k: v for k, v in f.items() if k != "allowed"} for f in result.get("frames", [])],
        "scripts": result.get("scripts", []), "storage": result.get("storage", []),
        "api_calls": result.get("api_calls", []), "page_headers": result.get("page_headers", {}),
        "dns": [{k: v for k, v in d.items() if k != "party"} for d in result.get("dns", [])],
        "wire": [_wire_record(w) for w in result.get("wire", [])],
        "capture": {k: v for k, v in (result.get("capture") or {}).items()
                    if k in ("witnesses", "complete", "reason")},
        "screenshots": result.get("screenshots", []),
        "card_forms": result.get("card_forms", []), "keystrokes": result.get("keystrokes", []),
        "evasions_open": result.get("evasions_open", []),
        # "analysis" and "step" errors are derived again from the evidence when it is judged
        "errors": [e for e in result.get("errors", []) if e.get("stage") not in ("analysis", "step")],
        "adblock": result.get("adblock", False), "adblock_mode": result.get("adblock_mode") or "",
        "adblock_lists": result.get("adblock_lists", []), "hidden": result.get("hidden_elements", []),
        "tool_version": result.get("tool", {}).get("version", ""),
        "notes": result.get("notes", []),
        "scenario_source": scenario.get("source") or {},
    }
    capture = result.get("capture")
    if isinstance(capture, dict):
        data["capture"] = {k: capture[k] for k in ("witnesses", "complete", "reason", "on_bound",
                                                   "clock_forward_ms", "quiet_ms") if k in capture}
    return Evidence.from_dict(data)
