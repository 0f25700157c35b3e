"""Looking like a payer's browser: the common tells a skimmer checks before it shows itself.

Best effort, and said so in every result (`evasions_open`). The page-level tells are presented
through playwright-stealth (https://pypi.org/project/playwright-stealth/, the evasions of
puppeteer-extra-plugin-stealth as init scripts): WebGL vendor and renderer (a headless browser on
a server reports the SwiftShader software renderer), plugins and mime types, languages,
`navigator.permissions`, `window.chrome`, the user agent and its client hints. Screen size,
locale and viewport are context options; `navigator.webdriver` is false through
`--disable-blink-features=AutomationControlled` (browser.py). Mouse paths and typing pace are
`hands.py`'s.
"""

from __future__ import annotations

from typing import Any

SCREEN = {"width": 1920, "height": 1080}
LOCALE = "en-US"
# A common laptop GPU as Chrome on Linux reports it through ANGLE.
WEBGL_VENDOR = "Google Inc. (Intel)"
WEBGL_RENDERER = "ANGLE (Intel, Mesa Intel(R) UHD Graphics 620 (KBL GT2), OpenGL 4.6)"

# What a page can still tell apart, as far as known. Each is a way a skimmer could hide from
# the audit while showing itself to payers.
EVASIONS_OPEN = (
    "workers: init scripts do not run in dedicated, shared or service workers, so a worker sees the "
    "software WebGL renderer (OffscreenCanvas) and the browser's own navigator values",
    "rendering: canvas, audio and WebGL images and limits (extensions, maximum sizes) are those of "
    "the software renderer; only WebGL's vendor and renderer strings are replaced",
    "patched functions: WebGL getParameter, attachShadow and the sending APIs are wrapped; a page "
    "comparing them with pristine copies from a fresh frame, or probing toString deeply, can tell",
    "frames: iframe.contentWindow of a srcdoc frame is not disguised (the library's patch breaks "
    "srcdoc frames, so it is left out)",
    "window: outerWidth/outerHeight equal the viewport (no browser toolbar) in a headless browser",
    "permissions: Notification.permission is 'denied' in a headless browser, 'default' in a payer's",
    "debugger: a page can notice an attached DevTools protocol client (e.g. through console "
    "serialisation side effects)",
    "behaviour: mouse paths and key gaps follow fixed ranges; no scrolling, idling or mistakes as a "
    "person makes; pages that wait for minutes of presence are not waited for",
)


def context_options() -> dict[str, Any]:
    return {"screen": dict(SCREEN), "locale": LOCALE}


def apply(context: Any, user_agent: str) -> None:
    """Install the evasions into every page and frame of the context, before page scripts run."""
    from playwright_stealth import Stealth

    # Its iframe.contentWindow evasion replaces the srcdoc setter of new iframes, and a srcdoc
    # frame then never loads its document: a page would behave differently under audit.
    Stealth(iframe_content_window=False,
            navigator_user_agent_override=user_agent, navigator_platform_override="Linux x86_64",
            navigator_languages_override=("en-US", "en"), webgl_vendor_override=WEBGL_VENDOR,
            webgl_renderer_override=WEBGL_RENDERER).apply_stealth_sync(context)
