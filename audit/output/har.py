"""HAR 1.2 export of a result's requests, for DevTools, Charles, Fiddler and HAR viewers.

Blocked and failed requests are kept (an attempt counts): they get status 0 and the browser's
error text in `_failure`, as Chromium's own HAR export does with `_error`. WebSockets become
entries with `_resourceType: "websocket"` and their frames in `_webSocketMessages`, the shape
DevTools has exported since Chrome 76. Fields starting with `_` are HAR custom fields.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from audit.output import view

HAR_VERSION = "1.2"


def write_har(result: dict[str, Any], path: Path) -> None:
    """Write HAR 1.2 of result["requests"] (+ websockets as _webSocketMessages) to `path`."""
    result = view.as_dict(result)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(har(result), indent=2, ensure_ascii=False), encoding="utf-8")


def har(result: dict[str, Any]) -> dict[str, Any]:
    start = _start_time(result.get("started_at"))
    tool = view.as_dict(result.get("tool"))
    browser = view.text(result.get("browser"))
    records = view.dicts(result.get("requests")) + view.dicts(result.get("websockets"))
    pages_seen = sorted({int(view.number(r.get("page"))) for r in records} | {0})
    scenario = view.as_dict(result.get("scenario"))
    pages = [{"startedDateTime": _iso(start), "id": f"page_{p}",
              "title": view.text(result.get("start_url")) if p == 0 else f"popup {p}",
              "pageTimings": {"onContentLoad": -1, "onLoad": -1},
              "_scenario": view.text(scenario.get("name"))} for p in pages_seen]
    entries = [_entry(r, start, result) for r in view.dicts(result.get("requests"))]
    entries += [_websocket_entry(ws, start) for ws in view.dicts(result.get("websockets"))]
    entries.sort(key=lambda e: e["startedDateTime"])
    name, _, version = browser.partition(" ")
    return {"log": {
        "version": HAR_VERSION,
        "creator": {"name": view.text(tool.get("name"), "card-audit"),
                    "version": view.text(tool.get("version"), "unknown")},
        "browser": {"name": name or "unknown", "version": version or "unknown"},
        "pages": pages,
        "entries": entries,
        "comment": f"card-audit evidence for {view.text(scenario.get('name'), 'an unnamed scenario')}",
    }}


def _start_time(value: Any) -> datetime:
    try:
        parsed = datetime.fromisoformat(view.text(value).replace("Z", "+00:00"))
    except ValueError:
        return datetime(1970, 1, 1, tzinfo=timezone.utc)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def _name_values(headers: dict[str, str]) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in headers.items()]


def _mime(headers: dict[str, str]) -> str:
    for key, value in headers.items():
        if key.lower() == "content-type":
            return value
    return ""


def _entry(req: dict[str, Any], start: datetime, result: dict[str, Any]) -> dict[str, Any]:
    url = view.text(req.get("url"))
    req_headers = view.headers(req.get("headers"))
    resp_headers = view.headers(req.get("response_headers"))
    body = view.decode_b64(req.get("body_b64"))
    status = int(view.number(req.get("status"))) if req.get("status") is not None else 0
    failure = view.text(req.get("failure")) or None
    request: dict[str, Any] = {
        "method": view.text(req.get("method"), "GET"), "url": url, "httpVersion": "",
        "cookies": [], "headers": _name_values(req_headers),
        "queryString": [{"name": k, "value": v} for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True)],
        "headersSize": -1, "bodySize": len(body),
    }
    if body:
        try:
            request["postData"] = {"mimeType": _mime(req_headers), "text": body.decode("utf-8")}
        except UnicodeDecodeError:
            # HAR 1.2 has no encoding for postData; keep the exact bytes and say how they are written.
            request["postData"] = {"mimeType": _mime(req_headers), "text": view.text(req.get("body_b64")),
                                   "_encoding": "base64"}
    redirect = ""
    for key, value in resp_headers.items():
        if key.lower() == "location":
            redirect = value
    entry: dict[str, Any] = {
        "pageref": f"page_{int(view.number(req.get('page')))}",
        "startedDateTime": _iso(start + timedelta(seconds=view.number(req.get("time")))),
        "time": 0,  # not measured per request; HAR requires a number >= 0
        "request": request,
        "response": {
            "status": status, "statusText": "", "httpVersion": "", "cookies": [],
            "headers": _name_values(resp_headers),
            "content": {"size": -1, "mimeType": _mime(resp_headers)},
            "redirectURL": redirect, "headersSize": -1, "bodySize": -1,
        },
        "cache": {},
        # Timings are not recorded per phase; -1 is HAR's "does not apply" and 0 keeps sums valid.
        "timings": {"blocked": -1, "dns": -1, "connect": -1, "send": 0, "wait": 0, "receive": 0, "ssl": -1},
        "_id": view.text(req.get("id")),
        "_resourceType": view.text(req.get("resource_type")),
        "_initiatorFrame": view.text(req.get("frame_url")),
        "_from": view.text(req.get("from")),
        "_channel": view.text(req.get("channel"), "http"),
        "_party": view.text(req.get("party")),
        "_cardFields": view.strings(req.get("card_fields")),
        "_findings": [view.text(f.get("rule")) for f in view.dicts(result.get("findings"))
                      if view.text(f.get("request_id")) and f.get("request_id") == req.get("id")],
    }
    if failure or req.get("blocked_by_client") or req.get("blocked_by"):
        entry["_failure"] = failure or "blocked"
        entry["_blockedByClient"] = bool(req.get("blocked_by_client"))
        entry["_blockedBy"] = view.text(req.get("blocked_by")) or None
    if req.get("redirected_from"):
        entry["_redirectedFrom"] = view.text(req.get("redirected_from"))
    return entry


def _websocket_entry(ws: dict[str, Any], start: datetime) -> dict[str, Any]:
    url = view.text(ws.get("url"))
    messages = []
    for frame in view.dicts(ws.get("frames")):
        raw = view.decode_b64(frame.get("payload_b64"))
        try:
            data, opcode = raw.decode("utf-8"), 1  # text frame
        except UnicodeDecodeError:
            data, opcode = view.text(frame.get("payload_b64")), 2  # binary frame, base64 as DevTools does
        messages.append({
            "type": "send" if view.text(frame.get("direction")) == "sent" else "receive",
            "time": (start + timedelta(seconds=view.number(frame.get("time")))).timestamp(),
            "opcode": opcode, "data": data,
        })
    first = min((view.number(f.get("time")) for f in view.dicts(ws.get("frames"))), default=0.0)
    entry: dict[str, Any] = {
        "pageref": f"page_{int(view.number(ws.get('page')))}",
        "startedDateTime": _iso(start + timedelta(seconds=first)),
        "time": 0,
        "request": {"method": "GET", "url": url, "httpVersion": "", "cookies": [], "headers": [],
                    "queryString": [{"name": k, "value": v}
                                    for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True)],
                    "headersSize": -1, "bodySize": 0},
        "response": {"status": 101 if not ws.get("error") else 0, "statusText": "", "httpVersion": "",
                     "cookies": [], "headers": [], "content": {"size": -1, "mimeType": ""},
                     "redirectURL": "", "headersSize": -1, "bodySize": -1},
        "cache": {},
        "timings": {"blocked": -1, "dns": -1, "connect": -1, "send": 0, "wait": 0, "receive": 0, "ssl": -1},
        "_id": view.text(ws.get("id")),
        "_resourceType": "websocket",
        "_channel": "websocket",
        "_webSocketMessages": messages,
    }
    if ws.get("error"):
        entry["_failure"] = view.text(ws.get("error"))
    return entry
