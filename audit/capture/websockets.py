"""WebSocket connections and every frame sent or received on them."""

from __future__ import annotations

import base64
from typing import Any

from ..evidence import WebSocketFrame, WebSocketRecord
from ..hosts import host_of
from . import Recorder


class WebSocketRecorder(Recorder):
    name = "websockets"

    def __init__(self, session: Any) -> None:
        super().__init__(session)
        self._sockets: list[dict[str, Any]] = []

    def attach_page(self, page: Any, index: int) -> None:
        page.on("websocket", self.on(lambda ws: self._opened(ws, index)))

    def _opened(self, ws: Any, page: int) -> None:
        self.session.touch()
        record: dict[str, Any] = {"id": f"ws{len(self._sockets) + 1}", "url": ws.url,
                                  "host": host_of(ws.url), "page": page, "frames": [], "error": None}
        self._sockets.append(record)

        def frame(direction: str, payload: Any) -> None:
            self.session.touch()
            data = payload.encode() if isinstance(payload, str) else bytes(payload)
            record["frames"].append(WebSocketFrame(direction, base64.b64encode(data).decode(),
                                                   self.session.now()))

        ws.on("framesent", self.on(lambda p: frame("sent", p)))
        ws.on("framereceived", self.on(lambda p: frame("received", p)))
        ws.on("socketerror", self.on(lambda e: record.__setitem__("error", str(e))))

    def export(self) -> dict[str, Any]:
        return {"websockets": tuple(WebSocketRecord(**{**s, "frames": tuple(s["frames"])})
                                    for s in self._sockets)}
