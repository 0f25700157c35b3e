"""The small request/response vocabulary every demo site speaks, and helpers to answer with files.

Sites are plain functions `(Request, Ledger) -> Response`: no server object leaks into them, so each
site reads like the handler of a real service.
"""

from __future__ import annotations

import json
import mimetypes
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

SITES_DIR = Path(__file__).with_name("sites")

# 1x1 transparent GIF, what tracking pixels (q.stripe.com, stats hosts) answer with.
PIXEL_GIF = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")

_TYPES = {".js": "text/javascript; charset=utf-8", ".html": "text/html; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".json": "application/json",
          ".woff2": "font/woff2", ".gif": "image/gif", ".png": "image/png"}


@dataclass(frozen=True)
class Request:
    host: str
    method: str
    path: str                     # as sent: path plus query string
    headers: dict[str, str]       # lower-cased names
    body: bytes

    @property
    def route(self) -> str:
        return urlsplit(self.path).path

    @property
    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode("utf-8", "replace")).items()}

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    def cookies(self) -> dict[str, str]:
        jar: dict[str, str] = {}
        for part in self.headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name:
                jar[name] = value
        return jar


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    cookies: list[str] = field(default_factory=list)  # full Set-Cookie values


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(data).encode(),
                    {"Content-Type": "application/json", **(headers or {})})


def text_response(text: str, status: int = 200, content_type: str = "text/plain; charset=utf-8",
                  headers: dict[str, str] | None = None) -> Response:
    return Response(status, text.encode("utf-8"), {"Content-Type": content_type, **(headers or {})})


def not_found(what: str = "Not Found") -> Response:
    return text_response(what + "\n", 404)


def site_file(host: str, relative: str) -> Path | None:
    """The file for `relative` under sites/<host>/, never outside it."""
    root = (SITES_DIR / host).resolve()
    path = (root / relative.lstrip("/")).resolve()
    if root not in path.parents or not path.is_file():
        return None
    return path


def file_response(host: str, relative: str, headers: dict[str, str] | None = None,
                  values: dict[str, str] | None = None) -> Response:
    """Serve sites/<host>/<relative>; with `values`, fill its `$name` placeholders first."""
    path = site_file(host, relative)
    if path is None:
        return not_found()
    body = path.read_bytes()
    if values is not None:
        body = string.Template(body.decode("utf-8")).safe_substitute(values).encode("utf-8")
    content_type = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return Response(200, body, {"Content-Type": content_type, **(headers or {})})


def cors_headers(request: Request, methods: str = "GET, POST, OPTIONS") -> dict[str, str]:
    """What an API answers so the browser lets the calling origin read the response."""
    origin = request.headers.get("origin")
    if not origin:
        return {}
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true",
            "Access-Control-Allow-Methods": methods,
            "Access-Control-Allow-Headers": request.headers.get("access-control-request-headers",
                                                                "content-type"),
            "Access-Control-Max-Age": "600", "Vary": "Origin"}


def preflight(request: Request) -> Response:
    return Response(204, b"", cors_headers(request))
