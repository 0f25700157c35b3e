"""Browsing as a payer with an ad blocker: which requests it stops, which elements it hides, and why.

Two modes (`--adblock processor|lists`, scenario `adblock: {mode: ...}`):
- `processor`: every host of the processor profile is blocked, the worst case of an over-eager
  blocker (the demonstration of what a payer whose blocker stops the processor sees);
- `lists`: the real filter lists a payer runs. Debian's `webext-ublock-origin-chromium` ships
  uBlock Origin with its default lists (EasyList, EasyPrivacy, uBlock filters, badware, privacy,
  quick fixes, unbreak, URLhaus) under `PACKAGED_LISTS_DIR`; a scenario may name its own.
A scenario's `block:` host patterns and `filter_list:` add to either mode (alone: mode `custom`).

Filter lists run in Brave's maintained `adblock` engine (https://github.com/brave/adblock-rust),
built with debug information so that each decision names the filter that made it
(`BlockerResult.filter`); the list it came from is found by looking the filter's text up in the
list files. Building the engine from the packaged lists takes about a second; the serialized
engine is cached under the user's cache folder, keyed by the lists' SHA-256 and the engine version.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError
from .hosts import host_of, matches_any

PACKAGED_LISTS_DIR = Path("/usr/share/chromium/extensions/ublock-origin/assets")
# uBlock Origin's default selection, in its own order (assets/assets.json of the package).
PACKAGED_LISTS = ("ublock/filters.min.txt", "ublock/badware.min.txt", "ublock/privacy.min.txt",
                  "ublock/quick-fixes.min.txt", "ublock/unbreak.min.txt",
                  "thirdparties/easylist/easylist.txt", "thirdparties/easylist/easyprivacy.txt",
                  "thirdparties/urlhaus-filter/urlhaus-filter-online.txt")
LISTS_ENV = "CARD_AUDIT_FILTER_LISTS"   # os.pathsep-separated list files that replace the packaged ones
MODES = ("processor", "lists")

# Playwright resource types → the request types filter lists speak of (uBlock Origin's names;
# sendBeacon and <a ping> are `ping`, fetch and XHR are `xmlhttprequest`).
FILTER_TYPES = {"document": "main_frame", "stylesheet": "stylesheet", "image": "image", "media": "media",
                "font": "font", "script": "script", "xhr": "xmlhttprequest", "fetch": "xmlhttprequest",
                "websocket": "websocket", "ping": "ping", "beacon": "ping", "eventsource": "other",
                "manifest": "web_manifest", "texttrack": "other", "cspreport": "csp_report",
                "prefetch": "other", "other": "other"}
_TITLE = re.compile(r"^!\s*Title:\s*(.+?)\s*$", re.M)


@dataclass(frozen=True)
class Decision:
    """Why a request was stopped: the filter's text and the list it belongs to."""

    rule: str
    list: str


@dataclass(frozen=True)
class FilterList:
    name: str          # the list's `! Title:`, else its file name
    path: str
    sha256: str
    lines: int


def packaged_lists() -> list[Path]:
    """The filter lists of the installed uBlock Origin package (or of $CARD_AUDIT_FILTER_LISTS)."""
    env = os.environ.get(LISTS_ENV)
    if env is not None:
        return [Path(p) for p in env.split(os.pathsep) if p and Path(p).is_file()]
    return [PACKAGED_LISTS_DIR / rel for rel in PACKAGED_LISTS if (PACKAGED_LISTS_DIR / rel).is_file()]


def request_type(resource_type: str, is_child_frame: bool = False) -> str:
    if resource_type == "document":
        return "sub_frame" if is_child_frame else "main_frame"
    return FILTER_TYPES.get(resource_type, "other")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "card-audit" / "adblock"


# -- the engine ---------------------------------------------------------------------------------
_ENGINES: dict[str, Any] = {}   # in-process reuse (a matrix runs many scenarios)


def _read_lists(paths: list[Path]) -> list[tuple[FilterList, bytes]]:
    out = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"{path}: cannot read filter list: {exc.strerror}") from None
        head = data[:4096].decode("utf-8", "replace")
        title = _TITLE.search(head)
        out.append((FilterList(name=title.group(1) if title else path.name, path=str(path),
                               sha256=hashlib.sha256(data).hexdigest(), lines=data.count(b"\n")), data))
    return out


def load_engine(lists: list[tuple[FilterList, bytes]]) -> tuple[Any, bool]:
    """The engine for these lists, and whether it came from the cache."""
    import adblock

    key = hashlib.sha256(("adblock " + adblock.__version__ + "\n" + "\n".join(
        f.sha256 for f, _ in lists)).encode()).hexdigest()[:40]
    if key in _ENGINES:
        return _ENGINES[key], True
    cached = cache_dir() / f"engine-{key}.dat"
    engine = adblock.Engine(adblock.FilterSet(debug=True), optimize=False)
    try:
        engine.deserialize(cached.read_bytes())
        _ENGINES[key] = engine
        return engine, True
    except (OSError, Exception):  # absent, unreadable or from another engine build: rebuild
        pass
    rules = adblock.FilterSet(debug=True)
    for _, data in lists:
        rules.add_filter_list(data.decode("utf-8", "replace"))
    # optimize=False keeps each filter whole, so a decision can name the filter that made it.
    engine = adblock.Engine(rules, optimize=False)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(engine.serialize())
        os.replace(tmp, cached)
    except OSError:
        pass  # a read-only home: the engine is built again next time, nothing else changes
    _ENGINES[key] = engine
    return engine, False


class Blocker:
    """Decides, per request, whether the payer's ad blocker stops it, and per document which
    elements it hides. Pure apart from the engine; the browser side is audit/capture/adblock.py."""

    def __init__(self, mode: str, patterns: list[tuple[str, str]] | None = None,
                 list_paths: list[Path] | None = None) -> None:
        self.mode = mode
        self.patterns = list(patterns or [])      # (host pattern, where it came from)
        read = _read_lists(list(dict.fromkeys(list_paths or [])))
        self.lists = tuple(f for f, _ in read)
        self.engine, self.from_cache = load_engine(read) if read else (None, False)
        self._origins: dict[str, str] | None = None
        self._cosmetic: dict[str, list[tuple[str, str, str]]] | None = None

    # -- network -----------------------------------------------------------------------------
    def decide(self, url: str, source_url: str, resource_type: str,
               is_child_frame: bool = False) -> Decision | None:
        if not url.startswith(("http:", "https:", "ws:", "wss:")):
            return None
        host = host_of(url)
        for pattern, origin in self.patterns:
            if matches_any(host, [pattern]):
                return Decision(rule=pattern, list=origin)
        if self.engine is None:
            return None
        result = self.engine.check_network_urls(url, source_url or url, request_type(resource_type, is_child_frame))
        if not result.matched:
            return None
        rule = result.filter or "(a filter of the lists)"
        return Decision(rule=rule, list=self.list_of(rule))

    def blocks(self, url: str, source_url: str, resource_type: str) -> bool:
        return self.decide(url, source_url, resource_type) is not None

    def list_of(self, rule: str) -> str:
        """The list a filter's text comes from (the first, in load order)."""
        if self._origins is None:
            self._index()
        return self._origins.get(rule.strip(), self.lists[0].name if len(self.lists) == 1 else "")

    def _index(self) -> None:
        origins: dict[str, str] = {}
        cosmetic: dict[str, list[tuple[str, str, str]]] = {}
        for item in self.lists:
            try:
                text = Path(item.path).read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            for line in text.splitlines():
                line = line.strip()
                if not line or line.startswith(("!", "[")):
                    continue
                origins.setdefault(line, item.name)
                if "##" in line and "#@#" not in line:
                    domains, _, selector = line.partition("##")
                    cosmetic.setdefault(selector, []).append((domains, line, item.name))
        self._origins, self._cosmetic = origins, cosmetic

    # -- cosmetic ----------------------------------------------------------------------------
    def hide_selectors(self, url: str) -> tuple[list[str], list[str]]:
        """Selectors to hide in a document at `url` (specific and complex generic ones), and the
        exceptions to pass to `generic_selectors`."""
        if self.engine is None or not url.startswith(("http:", "https:")):
            return [], []
        found = self.engine.url_cosmetic_resources(url)
        if getattr(found, "generichide", False):
            return sorted(found.hide_selectors), ["*"]
        return sorted(found.hide_selectors), sorted(found.exceptions)

    def generic_selectors(self, classes: list[str], ids: list[str], exceptions: list[str]) -> list[str]:
        """Generic `##.class` / `###id` rules that apply to the classes and ids a document uses."""
        if self.engine is None or "*" in exceptions or not (classes or ids):
            return []
        return list(self.engine.hidden_class_id_selectors(classes[:5000], ids[:5000], set(exceptions)))

    def cosmetic_origin(self, selector: str, url: str) -> Decision:
        """The element-hiding filter (and its list) that produced `selector` for a document at `url`."""
        if self._cosmetic is None:
            self._index()
        host = host_of(url)
        candidates = self._cosmetic.get(selector, [])
        for domains, line, name in candidates:
            if domains and any(d and not d.startswith("~") and (host == d or host.endswith("." + d))
                               for d in domains.split(",")):
                return Decision(rule=line, list=name)
        for domains, line, name in candidates:
            if not domains:
                return Decision(rule=line, list=name)
        if candidates:
            return Decision(rule=candidates[0][1], list=candidates[0][2])
        return Decision(rule="##" + selector, list="")

    def describe(self) -> str:
        if self.mode == "processor" and not self.lists:
            return "the processor's hosts blocked"
        names = ", ".join(f.name for f in self.lists)
        return f"filter lists: {names}" if names else "host patterns: " + ", ".join(p for p, _ in self.patterns)


def blocker_for(scenario: Any, profile: Any, requested: str | bool | None = None) -> Blocker:
    """The ad blocker of a run: the CLI's mode wins over the scenario's; a plain `--adblock`
    (`auto`, or True) means `lists` when lists are at hand, else `processor`."""
    spec = getattr(scenario, "adblock", None)
    where = str(getattr(scenario, "source_path", "scenario"))
    mode = requested if requested in MODES else None
    if mode is None and spec is not None:
        mode = spec.effective_mode()
    if mode is None:
        mode = "lists" if packaged_lists() else "processor"
    patterns: list[tuple[str, str]] = []
    paths: list[Path] = []
    if mode == "processor":
        name = getattr(profile, "name", None) or getattr(scenario, "processor", "processor")
        patterns += [(p, f"processor hosts ({name} profile)") for p in profile.processor_hosts]
    if mode == "lists":
        paths += list(spec.lists) if spec is not None and spec.lists else packaged_lists()
        if not paths:
            raise InputError(f"{where}: adblock: mode lists: no filter lists found (looked in "
                             f"{PACKAGED_LISTS_DIR}; install Debian's webext-ublock-origin-chromium, "
                             "or name list files in the scenario's adblock.lists)")
    if spec is not None:
        patterns += [(p, "scenario adblock.block") for p in spec.block]
        if spec.filter_list:
            paths.append(spec.filter_list)
    return Blocker(mode, patterns, paths)
