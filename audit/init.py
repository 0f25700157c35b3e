"""`card-audit init URL`: find the way from a page to its card fields, and write it as a scenario.

The page is opened in the audit's own browser set-up. Like a payer, init clicks what says "pay"
(buttons and links by their accessible name: Pay Invoice, Pay now, Pay with card, Debit or Credit
Card, ...), follows popups, and stops as soon as a card number field is visible in any frame of
any window, at most `MAX_CLICKS` clicks deep. The processor is recognised from the hosts of the
scripts, frames and popups the page loads, against the processor profiles' host lists. Init then
types the profile's canary card (`fill_card`, as `run` will), submits it with the payment form's
pay button and waits for what the page says afterwards, so the scenario ends on the same
confirmation a payer would see.

The scenario is YAML that `run` accepts unchanged, each step with a comment saying why it is
there, and the processor, frames and hosts found. When no card field can be reached, `InitFailed`
(exit 3) says what was seen and tried, with a screenshot.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable

from .errors import InconclusiveError, InputError
from .hosts import host_of, matches_any
from .live import Reach, open_context, open_pages
from .profiles import BUILTIN_PROFILES, builtin_profile, load_profile
from .selectors import ELEMENTS_JS, frame_chain, unique_selector
from .steps import FIRST_USABLE_JS, GENERIC_FIELDS, StepRunner

Progress = Callable[[str], None]
MAX_CLICKS = 5               # "a few steps deep": Options -> invoice -> Pay Invoice -> card -> popup
FIRST_LOOK_S = 2.0           # card fields that mount after load
AFTER_CLICK_S = 6.0          # a processor frame or popup needs a moment to show its inputs
OUTCOME_S = 20.0             # from the pay button to the page's answer

# What a payer clicks to get to the card, strongest first. Accessible names, lower case.
TOWARDS_CARD: tuple[tuple[int, re.Pattern[str]], ...] = tuple((score, re.compile(rx)) for score, rx in (
    (10, r"\b(debit or credit|credit or debit) card\b|\bpay (with|by) (a )?(credit |debit )?card\b"),
    (9, r"\bpay (the |this )?(invoice|bill|balance)\b|\bpay now\b|\bpay online\b"),
    (8, r"^pay\b|\bpay\s*[$€£]|\bpay [0-9]"),
    (7, r"\b(credit|debit) card\b|\bcard payment\b|^card$"),
    (6, r"\bcheck ?out\b|\bproceed to (payment|checkout)\b|\bcontinue to payment\b|\bplace order\b|"
        r"\bbuy now\b|\bcomplete (order|purchase)\b|\bmake (a )?payment\b"),
    (4, r"\bpay\b|\bpayment\b"),
    (3, r"\b(back to|view|open|see) (the |your )?invoice\b"),
    (1, r"\binvoice\b|\bbilling\b"),
))
# Never clicked on the way: they leave the payment, pay another way, or cannot be automated.
AVOID = re.compile(r"\b(cancel|close|delete|remove|log ?out|sign ?out|apple ?pay|google ?pay|g ?pay|"
                   r"pay ?later|venmo|paypal|klarna|afterpay|affirm|download|print|email|share|options?|"
                   r"settings|help|contact)\b", re.IGNORECASE)
# The button that sends the card, once typed.
SUBMIT: tuple[tuple[int, re.Pattern[str]], ...] = tuple((score, re.compile(rx)) for score, rx in (
    (9, r"^pay\b|\bpay now\b|\bsubmit payment\b|\bpay [$€£0-9]"),
    (7, r"\b(place|complete|confirm|submit) (order|payment|purchase)\b|\bbuy now\b|\bdonate\b"),
    (5, r"\bpay\b|\bsubmit\b|\bconfirm\b|\bcontinue\b|\bcheck ?out\b"),
))
SUCCESS = re.compile(r"\b(payment|order|invoice) (received|complete|completed|confirmed|approved|successful|paid)\b|"
                     r"\bthank(s| you)\b|\bsuccess|\bpaid\b|\bapproved\b|\bconfirmed\b|\breceipt\b", re.IGNORECASE)
FAILURE = re.compile(r"\b(declin|fail|error|invalid|incorrect|could not|couldn.t|unable|try again)", re.IGNORECASE)
# Headings and live regions: where a page says how the payment went.
MESSAGES_JS = r"""
() => [...document.querySelectorAll('h1, h2, h3, [role=status], [role=alert], output, .success, .receipt')]
  .filter((el) => { const b = el.getBoundingClientRect(); return b.width > 0 && b.height > 0; })
  .map((el) => (el.innerText || '').replace(/\s+/g, ' ').trim()).filter((t) => t && t.length <= 120)
"""


class InitFailed(InconclusiveError):
    """No card field could be reached: what was seen and tried, and the screenshot."""

    def __init__(self, lines: list[str]) -> None:
        self.problems = lines
        super().__init__("\n".join(lines))


@dataclass
class Step:
    """One scenario step to write, and the comment that says why it is there."""

    action: str
    args: Any
    comment: str


@dataclass
class Findings:
    """What init learnt about the page; everything a scenario and its comments need."""

    url: str
    title: str = ""
    processor: str | None = None
    processor_why: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    card_frame: str = ""          # host of the frame holding the number field
    card_chain: list[str] = field(default_factory=list)
    card_in_popup: bool = False
    fields_seen: list[str] = field(default_factory=list)
    hosts: dict[str, set[str]] = field(default_factory=dict)   # host -> resource types
    frames: list[str] = field(default_factory=list)
    tried: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Candidate:
    score: int
    name: str
    selector: str
    chain: list[str]
    frame: Any


def _score(name: str, table: tuple[tuple[int, re.Pattern[str]], ...]) -> int:
    text = name.lower().strip()
    if not text or AVOID.search(text):
        return 0
    return max((score for score, rx in table if rx.search(text)), default=0)


def _number_selectors() -> dict[str, list[str]]:
    """Per profile: the selectors of its card-number input (used only inside its own frames)."""
    return {name: list(builtin_profile(name).card_fields.number) for name in BUILTIN_PROFILES}


class Explorer:
    def __init__(self, context: Any, reach: Reach, timeout_ms: int, progress: Progress) -> None:
        self.context = context
        self.reach = reach
        self.timeout_ms = timeout_ms
        self.progress = progress
        self.profiles = {name: builtin_profile(name) for name in BUILTIN_PROFILES}
        self.numbers = _number_selectors()
        self.requests: list[tuple[str, str]] = []   # (url, resource type)
        self.clicked: set[tuple[str, str]] = set()
        context.on("request", lambda r: self.requests.append((r.url, r.resource_type)))

    # -- looking -----------------------------------------------------------------------------
    def pages(self) -> list[Any]:
        return open_pages(self.context)

    def pause(self, seconds: float) -> None:
        live = self.pages()
        if live:
            try:
                live[-1].wait_for_timeout(int(seconds * 1000))
                return
            except Exception:
                pass
        time.sleep(seconds)

    def card_field(self, within_s: float) -> tuple[Any, Any, str] | None:
        """(page, frame, selector) of a visible card-number input, newest window first."""
        deadline = time.monotonic() + within_s
        while True:
            for page in self.pages()[::-1]:
                for frame in list(page.frames):
                    host = host_of(frame.url)
                    selectors = list(GENERIC_FIELDS["number"])
                    for name, profile in self.profiles.items():
                        if matches_any(host, [*profile.card_frame_hosts, *profile.popup_hosts]):
                            selectors += [s for s in self.numbers[name] if s not in selectors]
                    try:
                        found = frame.evaluate(FIRST_USABLE_JS, selectors)
                    except Exception:  # detached or navigating: look again
                        continue
                    if found:
                        return page, frame, found
            if time.monotonic() >= deadline:
                return None
            self.pause(0.2)

    def candidates(self, page: Any, table: tuple[tuple[int, re.Pattern[str]], ...]) -> list[Candidate]:
        found: list[Candidate] = []
        for frame in list(page.frames):
            try:
                elements = frame.evaluate(ELEMENTS_JS, "click")
            except Exception:
                continue
            for info in elements:
                score = _score(info["name"], table)
                if score <= 0:
                    continue
                key = (frame.url, info["name"])
                if key in self.clicked:
                    continue
                selector = unique_selector(frame, info)
                chain = frame_chain(frame)
                if selector is None or chain is None:
                    continue
                # The page's own buttons before those of frames, at equal score.
                found.append(Candidate(score * 10 - len(chain), info["name"], selector, chain, frame))
        return sorted(found, key=lambda c: -c.score)

    def visible_names(self, page: Any) -> list[str]:
        names: list[str] = []
        for frame in list(page.frames):
            try:
                names += [e["name"] for e in frame.evaluate(ELEMENTS_JS, "click") if e["name"]]
            except Exception:
                continue
        return list(dict.fromkeys(names))

    # -- acting ------------------------------------------------------------------------------
    def click(self, page: Any, cand: Candidate) -> tuple[str, Any | None]:
        """Click like a payer; returns what happened and the popup it opened, if any."""
        before = len(self.pages())
        url = page.url
        scope: Any = page
        for selector in cand.chain:
            scope = scope.frame_locator(selector)
        self.clicked.add((cand.frame.url, cand.name))
        scope.locator(cand.selector).first.click(timeout=self.timeout_ms)
        self.pause(0.5)
        pages = self.pages()
        if len(pages) > before:
            popup = pages[-1]
            try:
                popup.wait_for_load_state("load", timeout=self.timeout_ms)
            except Exception:
                pass
            return f"opened a window on {host_of(popup.url) or popup.url}", popup
        try:
            page.wait_for_load_state("load", timeout=self.timeout_ms)
        except Exception:
            pass
        if page.is_closed():
            return "closed the window", None
        if page.url != url:
            return f"went to {page.url.split('?')[0].split('#')[0]}", None
        return "changed the page in place", None


def explore(url: str, reach: Reach, config: Any, *, processor: str | None = None,
            screenshot: Path | None = None, headless: bool = True,
            progress: Progress | None = None) -> Findings:
    """Open `url`, reach its card fields, try a payment with the canary; raises InitFailed."""
    progress = progress or (lambda _line: None)
    found = Findings(url=url)
    with open_context(reach, config, headless=headless, slow_mo_ms=config.slow_mo_ms) as context:
        ex = Explorer(context, reach, config.timeout_ms, progress)
        page = context.new_page()
        progress(f"init: opening {url}")
        try:
            response = page.goto(url, wait_until="load", timeout=config.timeout_ms)
        except Exception as exc:
            raise InitFailed([f"cannot open {url}: {_first_line(exc)}"]) from None
        if response is not None and response.status >= 400:
            raise InitFailed([f"{url} answered HTTP {response.status}: no payment page to explore"])
        found.title = _title(page)
        card = ex.card_field(FIRST_LOOK_S)
        clicks = 0
        while card is None and clicks < MAX_CLICKS:
            active = ex.pages()[-1] if ex.pages() else None
            if active is None:
                break
            options = ex.candidates(active, TOWARDS_CARD)
            if not options:
                break
            cand = options[0]
            progress(f"init: clicking {cand.name!r}" + (f" in frame {' > '.join(cand.chain)}" if cand.chain else ""))
            try:
                outcome, popup = ex.click(active, cand)
            except Exception as exc:
                found.tried.append(f"clicked {cand.selector} ({cand.name!r}): {_first_line(exc)}")
                continue
            clicks += 1
            found.tried.append(f"clicked {cand.selector} ({cand.name!r}): {outcome}")
            step_args: Any = cand.selector if not cand.chain else {
                "selector": cand.selector, "frame": cand.chain[0] if len(cand.chain) == 1 else cand.chain}
            found.steps.append(Step("click", step_args, f'"{cand.name}": {outcome}'))
            card = ex.card_field(AFTER_CLICK_S)
        _inventory(ex, found)
        if card is None:
            raise InitFailed(_failure(ex, found, screenshot))
        card_page, card_frame, _selector = card
        found.card_frame = host_of(card_frame.url)
        found.card_chain = frame_chain(card_frame) or []
        found.card_in_popup = card_page is not ex.pages()[0]
        found.processor, found.processor_why = _recognise(ex, found, processor)
        profile = load_profile(found.processor, Path("."))
        found.fields_seen = _fields_seen(card_page, profile)
        where = (f"the {found.card_frame} frame" if card_frame.parent_frame is not None
                 else f"the {'popup window' if found.card_in_popup else 'page'} on {found.card_frame}")
        found.steps.append(Step("fill_card", {}, f"types the canary card into {', '.join(found.fields_seen)} "
                                                 f"in {where}, key by key"))
        _pay(ex, card_page, profile, found, progress)
    return found


def _pay(ex: Explorer, page: Any, profile: Any, found: Findings, progress: Progress) -> None:
    """Type the canary, press the form's pay button, and note what the page says afterwards."""
    options = ex.candidates(page, SUBMIT)
    if not options:
        found.notes.append("no pay button found next to the card fields: add the step that submits them")
        return
    submit = options[0]
    before = {t for p in ex.pages() for t in _messages(p)}
    progress(f"init: typing the canary card and clicking {submit.name!r}")
    card = load_card(profile)
    runner = StepRunner(ex.pages, card, profile, ex.timeout_ms, lambda _f, _x: None, lambda _n: None)
    try:
        runner.fill_card(None, ex.timeout_ms)
        outcome, _popup = ex.click(page, submit)
    except Exception as exc:
        found.notes.append(f"trying the card failed ({_first_line(exc)}): check the pay step")
        outcome = "not tried"
    step_args: Any = submit.selector if not submit.chain else {
        "selector": submit.selector, "frame": submit.chain[0] if len(submit.chain) == 1 else submit.chain}
    found.steps.append(Step("click", step_args, f'"{submit.name}" sends the card: {outcome}'))
    deadline = time.monotonic() + OUTCOME_S
    while time.monotonic() < deadline:
        for p in ex.pages()[::-1]:
            for text in _messages(p):
                if text in before or FAILURE.search(text) or not SUCCESS.search(text):
                    continue
                found.steps.append(Step("wait_for", {"text": text},
                                        "what the page said after the card was sent"))
                found.steps.append(Step("screenshot", "receipt", "the page the payer ends on"))
                return
        ex.pause(0.25)
    said = [t for p in ex.pages() for t in _messages(p) if t not in before]
    found.notes.append("no confirmation appeared after the pay button within "
                       f"{OUTCOME_S:.0f} s" + (f" (the page said: {'; '.join(said[:3])})" if said else "")
                       + ": add a wait_for step for the page's confirmation")


def load_card(profile: Any) -> Any:
    from .evidence import Card
    d = profile.default_card
    return Card(number=d.number, expiry=d.expiry, cvc=d.cvc, name=d.name, postal=d.postal)


def _messages(page: Any) -> list[str]:
    try:
        return list(page.evaluate(MESSAGES_JS))
    except Exception:
        return []


def _title(page: Any) -> str:
    try:
        return page.title().strip()
    except Exception:
        return ""


def _first_line(exc: Any) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return re.sub(r"\s+", " ", text)[:300]


def _fields_seen(page: Any, profile: Any) -> list[str]:
    """The card fields of the profile (or generic ones) visible in the card's window."""
    seen = []
    for name in ("number", "expiry", "cvc", "name", "postal"):
        selectors = list(getattr(profile.card_fields, name) or []) + GENERIC_FIELDS[name]
        for frame in list(page.frames):
            try:
                if frame.evaluate(FIRST_USABLE_JS, selectors):
                    seen.append(name)
                    break
            except Exception:
                continue
    return seen or ["number"]


def _inventory(ex: Explorer, found: Findings) -> None:
    for url, kind in ex.requests:
        host = host_of(url)
        if host:
            found.hosts.setdefault(host, set()).add(kind)
    frames = []
    for page in ex.pages():
        for frame in list(page.frames)[1:]:
            host = host_of(frame.url)
            if host and host not in frames:
                frames.append(host)
    found.frames = frames


def _recognise(ex: Explorer, found: Findings, forced: str | None) -> tuple[str, list[str]]:
    if forced:
        return forced, [f"named on the command line (--processor {forced})"]
    name, why = recognise(found.hosts, found.card_frame, found.card_in_popup)
    if name is None:
        name = BUILTIN_PROFILES[0]
        found.notes.append(f"no processor recognised from the page's scripts, frames or windows; the "
                           f"scenario names {name} (its canary card is typed): set `processor:` "
                           "to the page's processor")
    return name, why


def recognise(hosts: dict[str, set[str]], card_host: str, in_popup: bool = False) -> tuple[str | None, list[str]]:
    """The processor whose hosts the page used most convincingly: the host of the frame or window
    holding the card number first, then the hosts scripts came from, then any other request.
    `hosts` maps each host the page used to the resource types fetched from it."""
    scores: dict[str, int] = {}
    why: dict[str, list[str]] = {}
    for name in BUILTIN_PROFILES:
        profile = builtin_profile(name)
        score, reasons = 0, []
        if card_host and matches_any(card_host, [*profile.card_frame_hosts, *profile.popup_hosts]):
            score += 10
            reasons.append(f"the card number field is in {'a popup' if in_popup else 'a frame'} on {card_host}")
        scripts = sorted(h for h, kinds in hosts.items() if "script" in kinds and matches_any(h, profile.script_hosts))
        if scripts:
            score += 3 * len(scripts)
            reasons.append(f"scripts from {', '.join(scripts)}")
        others = sorted(h for h in hosts if h not in scripts and matches_any(h, profile.processor_hosts))
        if others:
            score += len(others)
            reasons.append(f"requests to {', '.join(others)}")
        scores[name], why[name] = score, reasons
    best = max(BUILTIN_PROFILES, key=lambda n: scores[n])
    if scores[best] == 0:
        return None, ["none recognised"]
    return best, why[best]


def _failure(ex: Explorer, found: Findings, screenshot: Path | None) -> list[str]:
    lines = [f"no card fields reached from {found.url}"]
    pages = ex.pages()
    for page in pages:
        lines.append(f"  saw: {_title(page) or '(untitled)'} <{page.url}>")
        names = ex.visible_names(page)
        lines.append("  buttons and links: " + (", ".join(repr(n) for n in names[:20]) or "none"))
    processor_hosts = sorted(h for h in found.hosts if any(
        matches_any(h, p.processor_hosts) for p in ex.profiles.values()))
    lines.append("  processor hosts loaded: " + (", ".join(processor_hosts) or "none"))
    lines.append("  frames: " + (", ".join(found.frames) or "none"))
    lines.append("  tried: " + ("; ".join(found.tried) if found.tried else
                                "nothing: no button or link named like a payment (Pay Invoice, Pay now, "
                                "Pay with card, Debit or Credit Card, Checkout, ...)"))
    if screenshot is not None and pages:
        try:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            pages[-1].screenshot(path=str(screenshot), full_page=True, timeout=10000)
            lines.append(f"  screenshot: {screenshot}")
        except Exception as exc:
            lines.append(f"  screenshot: not taken ({_first_line(exc)})")
    lines.append("  write the steps by hand (see README, Scenarios) or use `card-audit record URL`")
    return lines


# -- the scenario file -----------------------------------------------------------------------------
def _yaml_str(value: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9 ._/#:-]+", value) and not value[0] in "-#:" and ": " not in value \
            and " #" not in value and value.strip() == value:
        return value
    if "'" not in value and all(c.isprintable() for c in value):
        return f"'{value}'"
    import json
    return json.dumps(value, ensure_ascii=False)


def _yaml_value(value: Any) -> str:
    if isinstance(value, str):
        return _yaml_str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_yaml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_yaml_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def scenario_yaml(found: Findings, reach: Reach, command: str) -> str:
    """The scenario as YAML text, with a comment on each step and what init found."""
    processor = found.processor or BUILTIN_PROFILES[0]
    start_host = host_of(found.url)
    lines = [f"# Written by `{command}` on {date.today().isoformat()}.",
             f"# Processor: {processor}, recognised from: {'; '.join(found.processor_why)}."]
    if found.frames:
        lines.append(f"# Frames on the way: {', '.join(found.frames)}.")
    lines.append(f"# Card fields: {', '.join(found.fields_seen)} in {found.card_frame}"
                 + (f" (frame {' > '.join(found.card_chain)})" if found.card_chain else "")
                 + (", in a popup window" if found.card_in_popup else "") + ".")
    if found.hosts:
        lines.append("# Hosts the page used before the card was typed:")
        for host in sorted(found.hosts):
            lines.append(f"#   {host} ({', '.join(sorted(found.hosts[host]))})")
    for note in found.notes:
        lines.append(f"# NOTE: {note}")
    name = f"{found.title or start_host} paid by card ({processor})"
    lines += [f"name: {_yaml_str(name)}", f"processor: {processor}", f"start_url: {_yaml_str(found.url)}"]
    if reach.demo:
        lines.append("demo: true                 # serve the bundled demo sites on this machine")
    if reach.hosts:
        lines.append("hosts:")
        lines += [f"  {_yaml_str(h)}: {_yaml_str(a)}" for h, a in reach.hosts.items()]
    if reach.offline:
        lines.append("offline: true              # names not under hosts fail to resolve")
    if reach.ignore_tls:
        lines.append("tls: {ignore_errors: true}")
    lines.append("steps:")
    for step in found.steps:
        lines.append(f"  # {step.comment}")
        lines.append(f"  - {step.action}: {_yaml_value(step.args)}")
    others = sorted(h for h in found.hosts if not _is_party(h, start_host, processor))
    if others:
        lines.append("# Third parties the page used (each an `unlisted-third-party` finding until you list it")
        lines.append("# here after review; a host that receives card data fails the audit whatever this says):")
        lines.append(f"# policy:\n#   known_hosts: [{', '.join(others)}]")
    return "\n".join(lines) + "\n"


def _is_party(host: str, start_host: str, processor: str) -> bool:
    from .hosts import same_site
    return same_site(host, start_host) or matches_any(host, load_profile(processor, Path(".")).processor_hosts)


def write_scenario(text: str, path: Path) -> Any:
    """Write the scenario and load it back as `run` will: a scenario `run` refuses is a bug here."""
    from .scenario import load_scenario
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    try:
        return load_scenario(path)
    except InputError as exc:
        raise InconclusiveError("the scenario written does not validate (a bug):\n" + "\n".join(exc.problems))
