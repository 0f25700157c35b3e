"""The payment page's script inventory and security headers, approved once and compared on every
run: PCI DSS v4.0.1 requirement 6.4.3 (inventory of authorised scripts, each with a business or
technical justification) and 11.6.1 (detect unauthorised changes to scripts and security-impacting
headers as the consumer's browser receives them). Requirement text as summarised in
/work/shared/research/processors-and-pci.md; the standard is at https://www.pcisecuritystandards.org/.

Approval reads a recorded result.json (`approve`); comparison takes a run's Evidence (`compare`)
and returns findings plus a side-by-side view that becomes the result's `baseline` key.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from .errors import InputError
from .evidence import Evidence
from .profiles.fields import HostPattern
from .hosts import host_of, matches_any
from .detect.policy import RULE_SEVERITY, Finding
from .yamlsrc import load_yaml, validate

SCHEMA = "card-audit/baseline/v1"
# Headers that change what the page may load, where it may send data, or who may frame it.
SECURITY_HEADERS = ("content-security-policy", "content-security-policy-report-only",
                    "strict-transport-security", "x-frame-options", "x-content-type-options",
                    "referrer-policy", "permissions-policy", "cross-origin-opener-policy",
                    "cross-origin-embedder-policy", "cross-origin-resource-policy",
                    "reporting-endpoints", "report-to")
# A CSP nonce is new on every response by design; comparing it would flag every run.
_NONCE = re.compile(r"'nonce-[^']*'")
STRICT = ConfigDict(extra="forbid")


class BaselineScript(BaseModel):
    model_config = STRICT
    url: str = Field(min_length=1)          # the script's URL, or "inline" (matched by hash)
    sha384: str
    frame_url: str | None = None            # the frame that loaded it when approved (informative)
    justification: str = ""
    owner: str = ""

    @field_validator("sha384")
    @classmethod
    def _sri_form(cls, value: str) -> str:
        body = value.removeprefix("sha384-")
        try:
            ok = value.startswith("sha384-") and len(base64.b64decode(body, validate=True)) == 48
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"must be a SHA-384 in SRI form (sha384-<64 base64 characters>), got {value!r}")
        return value


class Baseline(BaseModel):
    model_config = STRICT
    schema_: Literal["card-audit/baseline/v1"] = Field(SCHEMA, alias="schema")
    page: str = ""
    approved_at: str = ""
    approved_from: str = ""
    processor_hosts: list[HostPattern] = []
    scripts: list[BaselineScript] = []
    headers: dict[str, str | None] = {}
    _file: str = PrivateAttr("")            # where it was loaded from, shown in the report

    @field_validator("headers")
    @classmethod
    def _lower_names(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        # HTTP header names are case-insensitive; the recorded ones are lower-case.
        return {k.lower(): v for k, v in value.items()}

    @property
    def file(self) -> str:
        return self._file


def load_baseline(path: Path) -> Baseline:
    """Read and validate a baseline file; problems raise InputError as `FILE:LINE: field: message`."""
    baseline = validate(load_yaml(path), Baseline)
    baseline._file = str(path)
    return baseline


def payment_page_scripts(scripts: list[dict[str, Any]], processor_hosts: list[str]) -> list[dict[str, Any]]:
    """Scripts the merchant's page runs. 6.4.3 covers these, the processor's own scripts loaded by
    the merchant page included, but not the scripts running inside the processor's frames."""
    out = []
    for s in scripts:
        frame_host = host_of(s.get("frame_url") or "")
        if frame_host and matches_any(frame_host, processor_hosts):
            continue
        out.append(s)
    return out


def _header_value(value: str | None) -> str | None:
    return _NONCE.sub("'nonce-*'", value) if value else value


def approve(result: dict[str, Any], output: Path) -> int:
    """Write a baseline from a recorded run's scripts and headers; returns the number of scripts.

    Only a passing run may be approved: a failing run's scripts may include the very skimmer the
    baseline exists to catch, and an inconclusive run may have missed scripts."""
    verdict = result.get("verdict")
    if verdict != "pass":
        raise InputError(f"{result.get('scenario', {}).get('file') or 'result'}: verdict is {verdict!r}: "
                         "only a passing run can be approved as the baseline (fix the findings, re-run)")
    policy = result.get("policy") or {}
    # Frames the processor serves (by its profile): their inner scripts are its own PCI scope. Hosts
    # a scenario merely allows to frame card inputs stay in the inventory.
    processor_hosts = list(policy.get("processor_hosts", []))
    entries: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for s in payment_page_scripts(result.get("scripts", []), processor_hosts):
        if (s["url"], s["sha384"]) in seen or not s["sha384"]:
            continue  # a body the run could not read has no hash to approve: a later run flags it
        seen.add((s["url"], s["sha384"]))
        entries.append({"url": s["url"], "sha384": s["sha384"], "frame_url": s.get("frame_url"),
                        "justification": "", "owner": ""})
    headers = {k.lower(): v for k, v in (result.get("page_headers") or {}).items()}
    doc = {
        "schema": SCHEMA,
        "page": result.get("start_url", ""),
        "approved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "approved_from": result.get("scenario", {}).get("file", ""),
        "processor_hosts": processor_hosts,
        "scripts": entries,
        "headers": {name: _header_value(headers[name]) for name in SECURITY_HEADERS if name in headers},
    }
    text = ("# card-audit baseline: the payment page's authorised scripts (PCI DSS 6.4.3) and security\n"
            "# headers (11.6.1). Fill in each script's justification and owner, review, commit.\n"
            + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=1 << 16))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    return len(entries)


def _finding(rule: str, message: str, **kw: Any) -> Finding:
    return Finding(rule=rule, severity=RULE_SEVERITY[rule], message=message, **kw)


def _short(digest: str) -> str:
    return digest[:20] + "…"


def compare(evidence: Evidence, baseline: Baseline) -> tuple[list[Finding], dict[str, Any]]:
    """Findings for scripts and headers that differ from the baseline, and the side-by-side view
    (`file`, `page`, `approved_at`, `scripts` rows with a status of same|new|changed|missing,
    `headers` rows with same|changed|not-recorded)."""
    findings: list[Finding] = []
    scripts = payment_page_scripts([{"url": s.url, "frame_url": s.frame_url, "sha384": s.sha384}
                                    for s in evidence.scripts], baseline.processor_hosts)
    # A URL may be approved with several hashes (e.g. two builds served side by side).
    approved: dict[str, dict[str, Any]] = {}
    for b in baseline.scripts:
        approved.setdefault(b.url, {})[b.sha384] = b
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for s in scripts:
        url, digest = s["url"], s["sha384"]
        if (url, digest) in seen:
            continue
        seen.add((url, digest))
        hashes = approved.get(url, {})
        known = hashes.get(digest)
        where = {"url": None if url == "inline" else url, "frame_url": s["frame_url"],
                 "host": host_of(url) or host_of(s["frame_url"] or "") or None}
        if known is not None:
            status = "same"
        elif not digest and hashes:
            # The page navigated away before the body could be read: an approved URL whose
            # content this run cannot confirm. A URL that was never approved is still flagged below.
            status = "unread"
        elif hashes and url != "inline":
            status = "changed"
            was = ", ".join(_short(h) for h in hashes)
            findings.append(_finding("script-changed", f"script {url} changed: {was} → {_short(digest)}",
                                     **where))
        else:
            status = "new"
            what = f"inline script in {s['frame_url']}" if url == "inline" else f"script {url}"
            findings.append(_finding("script-not-in-baseline",
                                     f"{what} ({_short(digest)}) is not in the baseline", **where))
        entry = known or next(iter(hashes.values()), None)
        rows.append({"url": url, "sha384": digest, "status": status,
                     "justification": entry.justification if entry else "",
                     "owner": entry.owner if entry else ""})
    # Fail closed: an approved script that was never read whole in this run has an unconfirmed
    # hash, and a gate cannot pass what it could not check.
    for url in sorted({r["url"] for r in rows if r["status"] == "unread"}):
        if all(r["status"] == "unread" for r in rows if r["url"] == url):
            findings.append(_finding("script-changed", f"script {url} could not be read in this run "
                                     "(its page navigated away first): its hash is unconfirmed; re-run",
                                     url=url, host=host_of(url) or None))
    seen_urls = {r["url"] for r in rows if r["url"] != "inline"}
    for b in baseline.scripts:
        if (b.url, b.sha384) in seen or b.url in seen_urls:
            continue  # present, or present with another hash (already a "changed" row)
        rows.append({"url": b.url, "sha384": b.sha384, "status": "missing",
                     "justification": b.justification, "owner": b.owner})
    header_rows = _compare_headers(evidence, baseline, findings)
    view = {"file": baseline.file, "page": baseline.page, "approved_at": baseline.approved_at,
            "scripts": rows, "headers": header_rows}
    return findings, view


def _compare_headers(evidence: Evidence, baseline: Baseline, findings: list[Finding]) -> list[dict[str, Any]]:
    actual = {k.lower(): v for k, v in evidence.page_headers.items()}
    names = sorted(set(baseline.headers) | {h for h in SECURITY_HEADERS if h in actual})
    if not actual:
        # The payment page's response was never recorded (the run broke before it): nothing to
        # compare, which the run's own verdict (inconclusive) already says.
        return [{"name": n, "expected": baseline.headers.get(n), "actual": None, "status": "not-recorded"}
                for n in names]
    rows = []
    for name in names:
        expected, got = _header_value(baseline.headers.get(name)), _header_value(actual.get(name))
        status = "same" if expected == got else "changed"
        rows.append({"name": name, "expected": expected, "actual": got, "status": status})
        if status == "changed":
            findings.append(_finding("header-changed",
                                     f"header {name} of the payment page changed: "
                                     f"{describe_header_change(name, expected, got)}",
                                     url=evidence.start_url or baseline.page or None,
                                     host=host_of(evidence.start_url) or None))
    return rows


def _directives(csp: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            out.setdefault(words[0].lower(), words[1:])  # the first of a repeated directive wins
    return out


def describe_header_change(name: str, expected: str | None, got: str | None) -> str:
    """One readable line: for a CSP, the directives and sources added and removed; else both values."""
    if expected is None:
        return f"added ({got!r})"
    if got is None:
        return f"removed (was {expected!r})"
    if not name.startswith("content-security-policy"):
        return f"{expected!r} → {got!r}"
    before, after = _directives(expected), _directives(got)
    parts = []
    for directive in sorted(set(before) | set(after)):
        if directive not in after:
            parts.append(f"{directive} removed")
        elif directive not in before:
            parts.append(f"{directive} added: {' '.join(after[directive])}")
        else:
            added = [w for w in after[directive] if w not in before[directive]]
            dropped = [w for w in before[directive] if w not in after[directive]]
            if added:
                parts.append(f"{directive} allows {' '.join(added)}")
            if dropped:
                parts.append(f"{directive} no longer allows {' '.join(dropped)}")
    return "; ".join(parts) or "the same directives, rewritten"
