"""Two witnesses, one record per request (pure).

The page layer (Playwright's events, the page instrumentation) and the network stack (NetLog) each
saw requests. A request both saw becomes one record, `seen_by: ("page", "network")`, completed with
what the network stack really sent (every header, Referer and Cookie included; a body the page layer
could not read). A request only one of them saw is kept with that one witness: nothing is dropped.

Requests are paired by method and URL (without fragment), in time order, each network hop with the
earliest page request of the same key not yet paired.
"""

from __future__ import annotations

import base64
from collections import defaultdict
from dataclasses import replace
from typing import Any, Callable

from ..evidence import RequestRecord, WebSocketRecord
from ..hosts import host_of
from ..wireformat import split_http1, websocket_payloads
from .wire import Leg, header_dict, resource_type, sender_of


def _key(method: str, url: str) -> tuple[str, str]:
    return method.upper(), url.split("#", 1)[0]


def leg_fields(leg: Leg, error_name: Callable[[int], str]) -> dict[str, Any]:
    """What the network stack knows of one hop, as RequestRecord fields."""
    headers = header_dict(leg.headers or leg.created_headers)
    body = b""
    if leg.sent:
        head, body = split_http1(bytes(leg.sent)) if leg.h2 is None else (b"", bytes(leg.sent))
        if headers.get("upgrade", "").lower() == "websocket":
            body = b"\n".join(websocket_payloads(body))
    rtype, channel = resource_type(leg, headers)
    source, sender = sender_of(leg)
    failure = error_name(leg.net_error) if leg.net_error else None
    return {"method": leg.method, "url": leg.url, "host": host_of(leg.url), "resource_type": rtype,
            "channel": channel, "source": source, "sender": sender, "headers": headers,
            "body_b64": base64.b64encode(body).decode() if body else None, "status": leg.status,
            "response_headers": header_dict(leg.response_headers), "failure": failure}


def reconcile(page: tuple[RequestRecord, ...], websockets: tuple[WebSocketRecord, ...],
              legs: list[Leg], error_name: Callable[[int], str],
              to_seconds: Callable[[float], float]) -> tuple[tuple[RequestRecord, ...], dict[int, str]]:
    """(every request, ids by id(leg)): page records completed by the network stack's, then the
    requests only the network stack saw, each with a new id."""
    waiting: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, record in enumerate(page):
        waiting[_key(record.method, record.url)].append(index)
    merged = list(page)
    ids: dict[int, str] = {}
    ws_urls = {_key("GET", w.url) for w in websockets}
    extra: list[RequestRecord] = []
    next_id = len(page) + 1
    by_leg: dict[int, str] = {}
    for leg in sorted(legs, key=lambda item: item.time_ms):
        fields = leg_fields(leg, error_name)
        key = _key(leg.method, leg.url)
        queue = waiting.get(key)
        if queue:
            index = queue.pop(0)
            merged[index] = _merge(merged[index], fields)
            by_leg[id(leg)] = merged[index].id
            continue
        if fields["channel"] == "websocket" and _key("GET", leg.url.replace("https:", "wss:", 1).replace(
                "http:", "ws:", 1)) in ws_urls | {key}:
            continue  # the page layer recorded this socket and its frames
        record = RequestRecord(id=f"r{next_id}", frame_url=None, page=0, time=to_seconds(leg.time_ms),
                               seen_by=("network",), **fields)
        next_id += 1
        extra.append(record)
        by_leg[id(leg)] = record.id
    ids.update(by_leg)
    return tuple(merged) + tuple(extra), ids


def _merge(record: RequestRecord, net: dict[str, Any]) -> RequestRecord:
    """The page's record, with what only the network stack knew added."""
    headers = {**record.headers, **{k: v for k, v in net["headers"].items() if not k.startswith(":")}}
    return replace(record, seen_by=("page", "network"), headers=headers,
                   body_b64=record.body_b64 or net["body_b64"],
                   status=record.status if record.status is not None else net["status"],
                   failure=record.failure or (net["failure"] if record.status is None else None),
                   response_headers=record.response_headers or net["response_headers"])

