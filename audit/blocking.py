"""Browsing as a payer with an ad blocker.

Requests are stopped the way an extension stops them: Chromium fails them with
ERR_BLOCKED_BY_CLIENT (through Playwright this reads `net::ERR_BLOCKED_BY_CLIENT.Inspector`).
Host patterns are matched here; Adblock Plus syntax filter lists go through Brave's maintained
`adblock` engine (https://github.com/brave/adblock-rust), not a home-made parser.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import InputError
from .hosts import host_of, matches_any

# Playwright resource types → the request types filter lists speak of.
FILTER_TYPES = {"document": "document", "stylesheet": "stylesheet", "image": "image", "media": "media",
                "font": "font", "script": "script", "xhr": "xmlhttprequest", "fetch": "xmlhttprequest",
                "websocket": "websocket", "ping": "ping", "eventsource": "other", "manifest": "other",
                "texttrack": "media", "other": "other"}


class Blocker:
    """Decides, per request, whether an ad blocker would stop it (pure apart from the engine)."""

    def __init__(self, patterns: list[str], filter_list: Path | None = None) -> None:
        self.patterns = list(patterns)
        self.engine = _engine(filter_list) if filter_list else None

    def blocks(self, url: str, source_url: str, resource_type: str) -> bool:
        if not url.startswith(("http:", "https:", "ws:", "wss:")):
            return False
        if matches_any(host_of(url), self.patterns):
            return True
        if self.engine is None:
            return False
        result = self.engine.check_network_urls(url, source_url or url, FILTER_TYPES.get(resource_type, "other"))
        return bool(result.matched) and not getattr(result, "exception", None)


def _engine(path: Path) -> Any:
    import adblock

    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"{path}: cannot read filter list: {exc.strerror}") from None
    rules = adblock.FilterSet()
    rules.add_filter_list(text)
    return adblock.Engine(rules, True)


def blocker_for(scenario: Any, profile: Any) -> Blocker:
    """The scenario's `adblock:` when given; with only --adblock, the processor's own hosts."""
    spec = getattr(scenario, "adblock", None)
    if spec is None:
        return Blocker(list(profile.processor_hosts))
    return Blocker(spec.blocked_hosts(profile), spec.filter_list)


def attach_blocker(context: Any, scenario: Any, profile: Any) -> Blocker:
    blocker = blocker_for(scenario, profile)

    def route(route: Any, request: Any) -> None:
        try:
            source = request.frame.url
        except Exception:  # worker requests have no frame
            source = request.url
        if blocker.blocks(request.url, source, request.resource_type):
            route.abort("blockedbyclient")
        else:
            route.fallback()

    context.route("**/*", route)
    return blocker
