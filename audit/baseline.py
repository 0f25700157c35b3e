"""The payment page's script inventory and security headers, approved once and compared on every
run: PCI DSS v4.0.1 requirement 6.4.3 (inventory of authorised scripts, each with a justification)
and 11.6.1 (detect unauthorised changes to scripts and security-impacting headers as the consumer's
browser receives them)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from .evidence import Evidence
from .hosts import host_of, matches_any
from .policy import Finding, RULE_SEVERITY
from .yamlsrc import load_yaml, validate

SCHEMA = "card-audit/baseline/v1"
# Headers that change what the page may load or who may frame it.
SECURITY_HEADERS = ("content-security-policy", "content-security-policy-report-only",
                    "strict-transport-security", "x-frame-options", "x-content-type-options",
                    "referrer-policy", "permissions-policy", "cross-origin-opener-policy",
                    "cross-origin-embedder-policy", "cross-origin-resource-policy",
                    "reporting-endpoints", "report-to")
STRICT = ConfigDict(extra="forbid")


class BaselineScript(BaseModel):
    model_config = STRICT
    url: str
    sha384: str = Field(pattern=r"^sha384-[A-Za-z0-9+/=]+$")
    frame_url: str | None = None
    justification: str = ""
    owner: str = ""


class Baseline(BaseModel):
    model_config = STRICT
    schema_: str = Field(SCHEMA, alias="schema")
    page: str = ""
    approved_at: str = ""
    approved_from: str = ""
    processor_hosts: list[str] = []
    scripts: list[BaselineScript] = []
    headers: dict[str, str | None] = {}


def load_baseline(path: Path) -> Baseline:
    return validate(load_yaml(path), Baseline)


def payment_page_scripts(scripts: list[dict[str, Any]], processor_hosts: list[str]) -> list[dict[str, Any]]:
    """Scripts the merchant's page runs (6.4.3 covers these, not the ones inside the processor's frame)."""
    out = []
    for s in scripts:
        frame_host = host_of(s.get("frame_url") or "")
        if frame_host and matches_any(frame_host, processor_hosts):
            continue
        out.append(s)
    return out


def approve(result: dict[str, Any], output: Path) -> None:
    """Write a baseline from a recorded run's scripts and headers."""
    processor_hosts = list(result.get("policy", {}).get("processor_hosts", []))
    scripts = payment_page_scripts(result.get("scripts", []), processor_hosts)
    headers = {k.lower(): v for k, v in (result.get("page_headers") or {}).items()}
    doc = {
        "schema": SCHEMA,
        "page": result.get("start_url", ""),
        "approved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "approved_from": result.get("scenario", {}).get("file", ""),
        "processor_hosts": processor_hosts,
        "scripts": [{"url": s["url"], "sha384": s["sha384"], "frame_url": s.get("frame_url"),
                     "justification": "", "owner": ""} for s in scripts],
        "headers": {name: headers.get(name) for name in SECURITY_HEADERS if name in headers},
    }
    text = ("# card-audit baseline: the payment page's authorised scripts (PCI DSS 6.4.3) and security\n"
            "# headers (11.6.1). Fill in each script's justification and owner, review, commit.\n"
            + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)


def _finding(rule: str, message: str, **kw: Any) -> Finding:
    return Finding(rule=rule, severity=RULE_SEVERITY[rule], message=message, **kw)


def compare(evidence: Evidence, baseline: Baseline) -> tuple[list[Finding], dict[str, Any]]:
    """Findings for scripts and headers that differ from the baseline, and the side-by-side view."""
    scripts = payment_page_scripts([{"url": s.url, "frame_url": s.frame_url, "sha384": s.sha384}
                                    for s in evidence.scripts], baseline.processor_hosts)
    by_url = {b.url: b for b in baseline.scripts if b.url != "inline"}
    inline_hashes = {b.sha384: b for b in baseline.scripts if b.url == "inline"}
    findings: list[Finding] = []
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for s in scripts:
        key = (s["url"], s["sha384"])
        if key in seen:
            continue
        seen.add(key)
        known = inline_hashes.get(s["sha384"]) if s["url"] == "inline" else by_url.get(s["url"])
        if known is None:
            status = "new"
            findings.append(_finding("script-not-in-baseline",
                                     f"script {s['url']} ({s['sha384'][:20]}…) is not in the baseline",
                                     url=s["url"], frame_url=s["frame_url"], host=host_of(s["url"]) or None))
        elif known.sha384 != s["sha384"]:
            status = "changed"
            findings.append(_finding("script-changed",
                                     f"script {s['url']} changed: {known.sha384[:20]}… → {s['sha384'][:20]}…",
                                     url=s["url"], frame_url=s["frame_url"], host=host_of(s["url"]) or None))
        else:
            status = "same"
        rows.append({"url": s["url"], "sha384": s["sha384"], "status": status,
                     "justification": known.justification if known else ""})
    present = {(r["url"], r["sha384"]) for r in rows}
    for b in baseline.scripts:
        if (b.url, b.sha384) not in present and not any(r["url"] == b.url and b.url != "inline" for r in rows):
            rows.append({"url": b.url, "sha384": b.sha384, "status": "missing", "justification": b.justification})
    actual = {k.lower(): v for k, v in evidence.page_headers.items()}
    header_rows = []
    for name in sorted(set(baseline.headers) | {h for h in SECURITY_HEADERS if h in actual}):
        expected, got = baseline.headers.get(name), actual.get(name)
        status = "same" if expected == got else "changed"
        header_rows.append({"name": name, "expected": expected, "actual": got, "status": status})
        if status == "changed":
            findings.append(_finding("header-changed",
                                     f"header {name} of the payment page changed: "
                                     f"{expected!r} → {got!r}", url=baseline.page or evidence.start_url))
    return findings, {"scripts": rows, "headers": header_rows}
