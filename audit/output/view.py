"""Tolerant readers of a result dict, shared by every renderer.

A result may come from an older run, a hand-edited file or a run that broke half way: any field
may be missing, null or of the wrong type. Renderers read it only through these helpers so that
they render what is there and never crash on what is not.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
from typing import Any

SEVERITIES = ("critical", "high", "medium", "low", "info")
VERDICTS = ("fail", "inconclusive", "pass")  # worst first
PARTIES = ("processor", "merchant", "known", "unlisted")
CARD_FIELDS = ("number", "expiry", "cvc", "postal", "name")

# What each rule means, for SARIF rule metadata and the report's finding headings. A rule seen in a
# result but not listed here is still rendered, with its id as its description.
RULES: dict[str, tuple[str, str]] = {
    "card-data-egress": ("critical", "Card data left the browser for a host that may not receive it."),
    "card-field-outside-processor": (
        "critical", "A card input lives in a frame not served by a card-frame host of the processor."),
    "card-data-at-rest": ("high", "The card number was written to browser storage of a non-processor origin."),
    "processor-blocked-by-client": (
        "medium", "A processor request was blocked by the client: payers with an ad blocker cannot pay."),
    "unlisted-third-party": (
        "low", "The payment page talks to a host that is neither the merchant's, the processor's nor known."),
    "script-not-in-baseline": ("high", "A payment-page script is not in the baseline (PCI DSS 6.4.3, 11.6.1)."),
    "script-changed": ("high", "A payment-page script's hash differs from the baseline (PCI DSS 6.4.3, 11.6.1)."),
    "header-changed": ("medium", "A security-relevant header of the payment page changed (PCI DSS 11.6.1)."),
}

# Request headers that carry credentials: never written out, even if the recorder missed them.
SECRET_HEADERS = frozenset({"cookie", "set-cookie", "authorization", "proxy-authorization"})
REDACTED = "[redacted]"


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def dicts(value: Any) -> list[dict[str, Any]]:
    """The dict items of a list; anything else (null, a string, stray items) is dropped."""
    if not isinstance(value, (list, tuple)):
        return []
    return [item for item in value if isinstance(item, dict)]


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)):
        return []
    return [text(item) for item in value if item is not None and not isinstance(item, (dict, list))]


def text(value: Any, default: str = "") -> str:
    """Any scalar as a string; None and containers become `default`."""
    if value is None or isinstance(value, (dict, list, tuple)):
        return default
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def number(value: Any, default: float = 0.0) -> float:
    if isinstance(value, bool):
        return default
    try:
        result = float(value)
    except (TypeError, ValueError):
        return default
    return result if result == result and abs(result) != float("inf") else default  # drop NaN/inf


def severity_rank(severity: Any) -> int:
    """Position in SEVERITIES; unknown severities sort after info."""
    sev = text(severity).lower()
    return SEVERITIES.index(sev) if sev in SEVERITIES else len(SEVERITIES)


def findings(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Findings, most severe first (stable within a severity)."""
    return sorted(dicts(result.get("findings")), key=lambda f: severity_rank(f.get("severity")))


def severity_counts(result: dict[str, Any]) -> dict[str, int]:
    counts = {sev: 0 for sev in SEVERITIES}
    for finding in dicts(result.get("findings")):
        sev = text(finding.get("severity")).lower()
        if sev in counts:
            counts[sev] += 1
    return counts


def errors(result: dict[str, Any]) -> list[dict[str, str]]:
    return [{"stage": text(e.get("stage"), "unknown"), "message": text(e.get("message"))}
            for e in dicts(result.get("errors"))]


def verdict(result: dict[str, Any]) -> str:
    """The worse of the recorded verdict and the SPEC's rule applied to what is recorded.

    Fail closed: a result that says nothing about its flow is not a pass, and a recorded "pass"
    next to a critical finding or a recorded error is not shown as one.
    """
    if any(severity_rank(f.get("severity")) <= 1 for f in dicts(result.get("findings"))):
        derived = "fail"
    elif not as_dict(result.get("flow")).get("completed") or errors(result):
        derived = "inconclusive"
    else:
        derived = "pass"
    recorded = text(result.get("verdict")).lower()
    if recorded not in VERDICTS:
        return derived
    return min(recorded, derived, key=verdict_rank)


def verdict_rank(value: str) -> int:
    return VERDICTS.index(value) if value in VERDICTS else 0


def host_matches(host: str, pattern: str) -> bool:
    """SPEC host patterns: an exact host, or `*.example.com` for any subdomain (not the bare domain)."""
    host, pattern = host.lower().rstrip("."), pattern.lower().rstrip(".")
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and host != pattern[2:]
    return fnmatch.fnmatchcase(host, pattern) if "*" in pattern else host == pattern


def matches_any(host: str, patterns: list[str]) -> bool:
    return any(host_matches(host, p) for p in patterns)


def decode_b64(value: Any) -> bytes:
    if not isinstance(value, str) or not value:
        return b""
    try:
        return base64.b64decode(value, validate=False)
    except (binascii.Error, ValueError):
        return b""


def preview(value: Any, limit: int = 2048) -> tuple[str, int]:
    """At most `limit` bytes of a base64 body as UTF-8 text (invalid bytes replaced), and its full size."""
    raw = decode_b64(value)
    return raw[:limit].decode("utf-8", errors="replace"), len(raw)


def headers(value: Any) -> dict[str, str]:
    """Headers as str -> str with credentials redacted; accepts a dict or HAR-style name/value list."""
    pairs: list[tuple[str, str]] = []
    if isinstance(value, dict):
        pairs = [(text(k), text(v)) for k, v in value.items()]
    else:
        pairs = [(text(h.get("name")), text(h.get("value"))) for h in dicts(value)]
    return {k: (REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in pairs if k}
