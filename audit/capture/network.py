"""Every HTTP(S) request from every frame, popup and worker, with its outcome."""

from __future__ import annotations

import base64
from typing import Any

from ..evidence import RequestRecord
from ..hosts import host_of
from . import Recorder, frame_source

BLOCKED_BY_CLIENT = "ERR_BLOCKED_BY_CLIENT"  # also matches Playwright's "...BLOCKED_BY_CLIENT.Inspector"
# Playwright resource types that are fire-and-forget pings (sendBeacon, <a ping>).
BEACON_TYPES = {"ping", "beacon"}


def is_blocked_by_client(text: str | None) -> bool:
    return bool(text) and BLOCKED_BY_CLIENT in text


class NetworkRecorder(Recorder):
    name = "network"

    def __init__(self, session: Any) -> None:
        super().__init__(session)
        self._work: dict[int, dict[str, Any]] = {}  # id(request) -> mutable record fields
        self._order: list[int] = []
        self._keep: list[Any] = []  # hold requests so their ids stay unique for the run

    def attach_context(self, context: Any) -> None:
        context.on("request", self.on(self._request))
        context.on("response", self.on(self._response))
        context.on("requestfinished", self.on(self._finished))
        context.on("requestfailed", self.on(self._failed))

    def _request(self, request: Any) -> None:
        self.session.touch()
        key = id(request)
        self._keep.append(request)
        page, frame_url, source = self._origin(request)
        body = request.post_data_buffer
        prev = request.redirected_from
        rtype = request.resource_type
        self._work[key] = {
            "id": f"r{len(self._order) + 1}", "method": request.method, "url": request.url,
            "host": host_of(request.url), "resource_type": rtype, "frame_url": frame_url,
            "source": source, "page": page,
            "channel": "beacon" if rtype in BEACON_TYPES else ("eventsource" if rtype == "eventsource" else "http"),
            "headers": dict(request.headers),
            "body_b64": base64.b64encode(body).decode() if body else None,
            "redirected_from": self._work[id(prev)]["id"] if prev is not None and id(prev) in self._work else None,
            "time": self.session.now(),
        }
        self._order.append(key)

    def _origin(self, request: Any) -> tuple[int, str | None, str]:
        if request.service_worker is not None:
            return 0, request.service_worker.url, "service_worker"
        try:
            frame = request.frame
        except Exception:  # requests of dedicated workers have no frame
            return 0, None, "worker"
        page = self.session.page_index(frame.page)
        url = frame.url
        if not url and frame.parent_frame is not None:  # a new iframe's first load: its parent asked
            url = frame.parent_frame.url
        return page, url, frame_source(frame, page)

    def _response(self, response: Any) -> None:
        self.session.touch()
        work = self._work.get(id(response.request))
        if work is not None:
            work["status"] = response.status
            work["response_headers"] = dict(response.headers)

    def _finished(self, request: Any) -> None:
        self.session.touch()
        work = self._work.get(id(request))
        if work is None:
            return
        try:  # the full set, cookies included (redacted later, at output)
            work["headers"] = request.all_headers()
        except Exception:
            pass

    def _failed(self, request: Any) -> None:
        self.session.touch()
        work = self._work.get(id(request))
        if work is None:
            return
        failure = request.failure
        work["failure"] = failure
        if is_blocked_by_client(failure):
            work["blocked_by_client"] = True
            work["blocked_by"] = "adblock"
        elif failure and "BLOCKED_BY_CSP" in failure:
            work["blocked_by"] = "csp"

    def export(self) -> dict[str, Any]:
        return {"requests": tuple(RequestRecord(**self._work[k]) for k in self._order)}
