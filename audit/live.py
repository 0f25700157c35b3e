"""A browser opened on a page outside of an audit run: for `init` (finding the way to the card
fields) and `record` (a person performing the flow). Same flags as an audit run: no traffic of its
own, no automation announced to the page, names mapped to local or staging addresses."""

from __future__ import annotations

from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

from .browser import QUIET_ARGS, STEALTH_ARGS, find_browser, host_resolver_rules


@dataclass(frozen=True)
class Reach:
    """How a browser reaches the site: the same facts a scenario's `hosts`, `tls`, `offline` and
    `demo` keys hold, so that a scenario written from them is run exactly as it was explored."""

    hosts: dict[str, str] = field(default_factory=dict)
    ignore_tls: bool = False
    offline: bool = False
    demo: bool = False


@contextmanager
def open_context(reach: Reach, config: Any, *, headless: bool, slow_mo_ms: int = 0,
                 extra_args: tuple[str, ...] = ()) -> Iterator[Any]:
    """A fresh browser context; the browser (and the demo world with `reach.demo`) stop on exit."""
    from playwright.sync_api import sync_playwright

    with ExitStack() as stack:
        hosts, spki, offline = dict(reach.hosts), None, reach.offline
        if reach.demo:
            from .demo import DemoWorld
            world = stack.enter_context(DemoWorld())
            hosts, spki, offline = {**world.host_map(), **hosts}, world.spki_sha256, True
        args = [*QUIET_ARGS, *STEALTH_ARGS, *config.args, *extra_args,
                "--host-resolver-rules=" + host_resolver_rules(hosts, offline)]
        if spki:
            args.append("--ignore-certificate-errors-spki-list=" + spki)
        if reach.ignore_tls:
            args.append("--ignore-certificate-errors")
        playwright = stack.enter_context(sync_playwright())
        browser = playwright.chromium.launch(executable_path=find_browser(config.executable_path),
                                             headless=headless, slow_mo=slow_mo_ms or None, args=args)
        stack.callback(_quietly, browser.close)
        major = browser.version.split(".")[0]
        viewport = config.viewport
        context = browser.new_context(
            ignore_https_errors=reach.ignore_tls,
            viewport={"width": viewport.width, "height": viewport.height} if viewport else None,
            user_agent=(f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                        f"Chrome/{major}.0.0.0 Safari/537.36"))
        stack.callback(_quietly, context.close)
        context.set_default_timeout(config.timeout_ms)
        yield context


def _quietly(close: Any) -> None:
    try:
        close()
    except Exception:
        pass


def open_pages(context: Any) -> list[Any]:
    return [p for p in context.pages if not p.is_closed()]
