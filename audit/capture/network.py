"""Every HTTP(S) request from every frame, popup and worker, with its outcome."""

from __future__ import annotations

import base64
import json
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
        self._finished_requests: set[int] = set()

    def attach_context(self, context: Any) -> None:
        context.on("request", self.on(self._request))
        context.on("response", self.on(self._response))
        context.on("requestfinished", self.on(self._finished))
        context.on("requestfailed", self.on(self._failed))
        self._watch_shared_workers(context)

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
        # The full header set (cookies included) costs a round trip to the browser per request:
        # it is read once the flow is over (`export`), so that a burst of thousands of requests
        # does not hold up the flow behind thousands of round trips.
        self.session.touch()
        self._finished_requests.add(id(request))

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

    # -- shared workers ---------------------------------------------------------------------------
    # Playwright reports no request of a SharedWorker, and a skimmer can hand the card to one. The
    # browser's own CDP session sees every shared worker as a target: attach to each, enable its
    # network domain, and record its requests like any other worker's.
    def _watch_shared_workers(self, context: Any) -> None:
        browser = getattr(context, "browser", None)
        if browser is None or browser.browser_type.name != "chromium":
            return
        cdp = browser.new_browser_cdp_session()
        self._cdp = cdp
        self._workers: dict[str, str] = {}      # CDP session id -> worker URL
        self._cdp_requests: dict[str, int] = {}  # CDP request id -> key in self._work
        cdp.on("Target.targetCreated", self.on(self._target_created))
        cdp.on("Target.receivedMessageFromTarget", self.on(self._target_message))
        cdp.send("Target.setDiscoverTargets", {"discover": True})

    def _target_created(self, event: dict[str, Any]) -> None:
        info = event.get("targetInfo") or {}
        if info.get("type") != "shared_worker":
            return
        attached = self._cdp.send("Target.attachToTarget", {"targetId": info["targetId"], "flatten": False})
        session = attached["sessionId"]
        self._workers[session] = info.get("url", "")
        self._cdp.send("Target.sendMessageToTarget", {"sessionId": session, "message": json.dumps(
            {"id": 1, "method": "Network.enable", "params": {}})})

    def _target_message(self, event: dict[str, Any]) -> None:
        worker_url = self._workers.get(event.get("sessionId", ""))
        if worker_url is None:
            return
        message = json.loads(event.get("message") or "{}")
        method, params = message.get("method"), message.get("params") or {}
        if method == "Network.requestWillBeSent":
            self.session.touch()
            request = params.get("request") or {}
            body = request.get("postData")
            if body is None and request.get("postDataEntries"):
                raw = b"".join(base64.b64decode(e.get("bytes", "")) for e in request["postDataEntries"])
            else:
                raw = body.encode("utf-8", "surrogatepass") if body else b""
            rtype = str(params.get("type") or "Fetch").lower()
            key = -(len(self._cdp_requests) + 1)  # never an id() of a Playwright object
            self._cdp_requests[params.get("requestId", "")] = key
            self._work[key] = {
                "id": f"r{len(self._order) + 1}", "method": request.get("method", "GET"),
                "url": request.get("url", ""), "host": host_of(request.get("url", "")),
                "resource_type": rtype, "frame_url": worker_url, "source": "worker", "page": 0,
                "channel": "beacon" if rtype in BEACON_TYPES else "http",
                "headers": {k.lower(): str(v) for k, v in (request.get("headers") or {}).items()},
                "body_b64": base64.b64encode(raw).decode() if raw else None, "time": self.session.now()}
            self._order.append(key)
        elif method in ("Network.responseReceived", "Network.loadingFailed"):
            work = self._work.get(self._cdp_requests.get(params.get("requestId", ""), 0))
            if work is None:
                return
            self.session.touch()
            if method == "Network.responseReceived":
                response = params.get("response") or {}
                work["status"] = response.get("status")
                work["response_headers"] = {k.lower(): str(v) for k, v in (response.get("headers") or {}).items()}
            else:
                work["failure"] = "net::" + str(params.get("errorText", "")).removeprefix("net::")

    def _full_headers(self) -> None:
        """Every header each request really carried, cookies included (redacted later, at output).
        A request whose full set cannot be read any more keeps the headers first reported."""
        for request in self._keep:
            work = self._work.get(id(request))
            if work is None or id(request) not in self._finished_requests:
                continue  # only a finished request has its final headers; asking for others waits
            try:
                work["headers"] = request.all_headers()
            except Exception:  # the browser is gone, or the request was never sent
                pass

    def export(self) -> dict[str, Any]:
        self._full_headers()
        return {"requests": tuple(RequestRecord(**self._work[k]) for k in self._order)}
