"""Third parties on the merchant's pages: stats.example.net (analytics / session replay) and
cdn.example-analytics.net (a skimmer posing as analytics). Both accept anything they are sent,
as such collectors do, and serve their scripts from sites/<host>/.
"""

from __future__ import annotations

from audit.demo.ledger import Ledger
from audit.demo.web import PIXEL_GIF, Request, Response, cors_headers, file_response, preflight


def collector(host: str):
    """A host that serves its scripts and swallows every beacon: 204, or a GIF for images."""

    def handle(request: Request, ledger: Ledger) -> Response:
        if request.method == "OPTIONS":
            return preflight(request)
        if request.method in ("GET", "HEAD") and request.route.endswith((".js", ".css")):
            return file_response(host, request.route, {"Access-Control-Allow-Origin": "*",
                                                       "Cache-Control": "max-age=300"})
        if request.method == "GET" and "image" in request.headers.get("accept", "") \
                and "text/html" not in request.headers.get("accept", ""):
            return Response(200, PIXEL_GIF, {"Content-Type": "image/gif", "Cache-Control": "no-store"})
        return Response(204, b"", cors_headers(request))

    handle.__name__ = f"collector_{host.replace('.', '_').replace('-', '_')}"
    return handle
