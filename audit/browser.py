"""Finding a Chromium to drive and the flags it is started with."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .errors import BrowserNotFound

# Without these Chromium reaches out to Google's services at start-up: an audit must make no
# traffic of its own beside the pages under audit.
QUIET_ARGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-default-apps",
    "--no-default-browser-check",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
)
# navigator.webdriver stays false, so a skimmer that hides from bots still runs.
STEALTH_ARGS = ("--disable-blink-features=AutomationControlled",)

SYSTEM_BROWSERS = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome",
                   "google-chrome-stable")


def playwright_chromium() -> str | None:
    """The Chromium that `playwright install chromium` put in place, if any."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is a hard dependency
        return None
    try:
        with sync_playwright() as p:
            path = p.chromium.executable_path
    except Exception:
        return None
    return path if path and os.path.exists(path) else None


def find_browser(explicit: str | None = None) -> str:
    """Path of the Chromium to use: an explicit path, else Playwright's own, else the system's."""
    if explicit:
        path = Path(explicit).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
        found = shutil.which(explicit)
        if found:
            return found
        raise BrowserNotFound(f"browser not found or not executable: {explicit}")
    own = playwright_chromium()
    if own:
        return own
    for name in SYSTEM_BROWSERS:
        found = shutil.which(name) if not name.startswith("/") else (name if os.access(name, os.X_OK) else None)
        if found:
            return found
    raise BrowserNotFound(
        "no Chromium found: install one (Debian: `apt-get install -y chromium`, or "
        "`python -m playwright install chromium`), or give its path with --browser-path or "
        "executable_path in playwright.config.yaml")


# Services Chromium calls on its own, whatever the flags above (seen in the NetLog of a demo run:
# component updates, autofill form signatures). No payment page needs them; they never resolve.
BROWSER_OWN_HOSTS = ("update.googleapis.com", "content-autofill.googleapis.com", "redirector.gvt1.com",
                     "*.gvt1.com", "clients2.google.com", "clientservices.googleapis.com")


def host_resolver_rules(hosts: dict[str, str], unmapped_unresolved: bool = False) -> str:
    """Chromium's --host-resolver-rules value: `MAP host address:port` for each mapping, and the
    browser's own service hosts made unresolvable.

    With `unmapped_unresolved`, every other name fails to resolve, so nothing can leave the machine.
    """
    rules = [f"MAP {host} {target}" for host, target in hosts.items()]
    rules += [f"MAP {host} ~NOTFOUND" for host in BROWSER_OWN_HOSTS if host not in hosts]
    if unmapped_unresolved:
        rules.append("MAP * ~NOTFOUND")
    return ", ".join(rules)
