"""The HTML report of one run and the index of several: single self-contained files.

Every captured string is attacker-controlled (the page under audit chose its URLs, frame names,
console text and request bodies), so the Jinja environment autoescapes everything and nothing
captured is ever marked safe. The page carries a strict CSP: nothing may be fetched, images only
as data: URIs, and the one stylesheet and one script are allowed by their SHA-256 alone, so even
markup that slipped through escaping could neither run nor load anything.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
from markupsafe import Markup

from audit.output import flowgraph, sections, view

PACKAGE_DIR = Path(__file__).parent
MAX_SCREENSHOT_BYTES = 15 * 1024 * 1024
# Only raster formats are inlined: an SVG "screenshot" could carry script.
IMAGE_MAGIC = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))

PCI_SOURCES = {
    "faq1438": ("PCI SSC FAQ 1438, \u201cHow is the payment page determined for SAQ A merchants using iframe?\u201d",
                "https://pcisecuritystandards.org/faq/articles/Frequently_Asked_Question/"
                "how-is-the-payment-page-determined-for-saq-a-merchants-using-iframe"),
    "faq1588": ("PCI SSC FAQ 1588, \u201cHow does an e-commerce merchant meet the SAQ A eligibility criteria for "
                "scripts?\u201d",
                "https://www.pcisecuritystandards.org/faq/articles/Frequently_Asked_Question/"
                "how-does-an-e-commerce-merchant-meet-the-saq-a-eligibility-criteria-for-scripts"),
    "dss": ("PCI DSS v4.0.1, requirements 6.4.3 and 11.6.1 (PCI SSC document library)",
            "https://www.pcisecuritystandards.org/document_library/"),
    "eskimming": ("PCI SSC information supplement \u201cPayment Page Security and Preventing E-Skimming: Guidance "
                  "for PCI DSS Requirements 6.4.3 and 11.6.1\u201d",
                  "https://blog.pcisecuritystandards.org/new-information-supplement-payment-page-security-and-"
                  "preventing-e-skimming"),
}


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(PACKAGE_DIR / "templates"),
        autoescape=True,  # for every template and every variable, whatever its file name
        trim_blocks=True, lstrip_blocks=True,
    )
    env.globals["sources"] = PCI_SOURCES
    return env


def _static(name: str) -> str:
    content = (PACKAGE_DIR / "static" / name).read_text(encoding="utf-8")
    # The asset is placed verbatim inside <style>/<script>; a closing tag in it would end that element.
    if "</" in content:
        raise ValueError(f"static asset {name} must not contain '</'")
    return content


def _sha256(content: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(content.encode("utf-8")).digest()).decode("ascii")


def _assets() -> dict[str, Any]:
    """The inline stylesheet and script, and the CSP that admits exactly those two and nothing else."""
    css, js = _static("report.css"), _static("report.js")
    csp = (f"default-src 'none'; img-src data:; style-src '{_sha256(css)}'; script-src '{_sha256(js)}'; "
           "base-uri 'none'; form-action 'none'")
    # Markup only for our own static files, verified above not to close their element.
    return {"css": Markup(css), "js": Markup(js), "csp": csp}


def _inline_image(out_dir: Path, relative: str) -> str | None:
    """A data: URI of a screenshot under out_dir, or None when absent, outside out_dir or not an image."""
    if not relative:
        return None
    base = out_dir.resolve()
    try:
        path = (base / relative).resolve()
        if not path.is_relative_to(base) or not path.is_file() or path.stat().st_size > MAX_SCREENSHOT_BYTES:
            return None
        data = path.read_bytes()
    except (OSError, ValueError):
        return None
    for magic, mime in IMAGE_MAGIC:
        if data.startswith(magic):
            return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")
    return None


def report_context(result: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    result = view.as_dict(result)
    shots = []
    for shot in sections.screenshots(result):
        shots.append({**shot, "src": _inline_image(out_dir, shot["path"])})
    return {
        "o": sections.overview(result),
        "errors": view.errors(result),
        "graph": flowgraph.build(result),
        "findings": sections.findings(result),
        "steps": sections.steps(result),
        "groups": sections.host_groups(result),
        "websockets": sections.websockets(result),
        "api_calls": sections.api_calls(result),
        "storage": sections.storage(result),
        "console": sections.console(result),
        "blocked_explanation": sections.BLOCKED_EXPLANATION,
        "chromium_errors_source": sections.CHROMIUM_ERRORS_SOURCE,
        "frames": sections.frame_tree(result),
        "scripts": sections.scripts(result),
        "baseline": sections.baseline(result),
        "page_headers": sections.page_headers(result),
        "screenshots": shots,
        "pci": sections.pci(result),
        "policy": _policy(result),
        "severities": view.SEVERITIES,
        "parties": view.PARTIES,
        **_assets(),
    }


def _policy(result: dict[str, Any]) -> dict[str, Any]:
    policy = view.as_dict(result.get("policy"))
    return {
        "card_data_hosts": view.strings(policy.get("card_data_hosts")),
        "card_frame_hosts": view.strings(policy.get("card_frame_hosts")),
        "processor_hosts": view.strings(policy.get("processor_hosts")),
        "known_hosts": view.strings(policy.get("known_hosts")),
        "merchant_domain": view.text(policy.get("merchant_domain")),
        "sources": [{"url": view.text(s.get("url")), "what": view.text(s.get("what"))}
                    for s in view.dicts(policy.get("profile_sources"))],
    }


def render_report(result: dict[str, Any], out_dir: Path) -> Path:
    """Write out_dir/report.html for one result; screenshots are read from out_dir and inlined."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    html = _environment().get_template("report.html.j2").render(**report_context(result, out_dir))
    path = out_dir / "report.html"
    path.write_text(html, encoding="utf-8")
    return path


def _relative_link(value: Any) -> str | None:
    """A link to a sibling report, only if it is a plain relative path (never javascript:, //host, /abs)."""
    link = view.text(value)
    if not link or "\\" in link or link.startswith("/") or any(ord(c) < 32 for c in link):
        return None
    parts = urlsplit(link)
    if parts.scheme or parts.netloc:
        return None
    return quote(link, safe="/._-~#")


def index_rows(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for entry in entries or []:
        if not isinstance(entry, dict):
            continue
        result = view.as_dict(entry.get("result"))
        o = sections.overview(result)
        rows.append({"name": o["name"], "file": o["file"], "processor": o["processor"], "verdict": o["verdict"],
                     "counts": o["severity_counts"], "duration": o["duration"], "started_at": o["started_at"],
                     "link": _relative_link(entry.get("report")), "errors": len(view.errors(result))})
    rows.sort(key=lambda r: (view.verdict_rank(r["verdict"]), r["name"].lower()))
    return rows


def render_index(entries: list[dict[str, Any]], out_dir: Path, problems: list[str] | None = None) -> Path:
    """Write out_dir/index.html: one row per scenario, worst verdict first, linking to each report;
    `problems` (a merge that lacks shards) are shown above them."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = index_rows(entries)
    worst = rows[0]["verdict"] if rows else "inconclusive"
    totals = {v: sum(1 for r in rows if r["verdict"] == v) for v in view.VERDICTS}
    html = _environment().get_template("index.html.j2").render(
        rows=rows, worst=worst, totals=totals, severities=view.SEVERITIES,
        problems=[view.text(p) for p in problems or []], **_assets())
    path = out_dir / "index.html"
    path.write_text(html, encoding="utf-8")
    return path
