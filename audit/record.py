"""`card-audit record URL`: a person performs the payment in a browser; their clicks and typing
become scenario steps.

Every frame of every window (popups included) gets a small listener: a trusted click names the
element clicked, typing names the field and its value. Each element is named by a stable selector
(what the payer sees, `role=button[name="Pay now"]`, or a stable attribute, checked to be unique in
its document), each frame by the chain of iframe selectors from its page. Values equal to a canary
card's (any built-in profile's, as shown when recording starts) become `{card.*}` placeholders, so
the scenario types the canary of the processor it names. The scenario is written when the person
closes the browser (or presses Ctrl+C).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any, Callable

from .hosts import host_of
from .init import Findings, Step, recognise
from .live import Reach, open_context, open_pages
from .profiles import BUILTIN_PROFILES, builtin_profile
from .selectors import ELEMENTS_JS, frame_chain

Progress = Callable[[str], None]
BINDING = "__cardAuditRecord"

# Runs in every frame before the page's own scripts. Names the element the way ELEMENTS_JS does and
# works out, in the element's own document, the first candidate selector that is unique there.
LISTENER_JS = """
(() => {
  if (window.__cardAuditListening) return;
  window.__cardAuditListening = true;
  const describeAll = %(elements)s;
  const CLICKABLE = 'button, a[href], [role=button], [role=link], [role=tab], [role=menuitem], [role=radio], ' +
    '[role=checkbox], input, select, textarea, label, summary';
  const esc = (v) => JSON.stringify(String(v));
  const infoOf = (el, kind) => {
    const all = describeAll(kind);
    const list = [...document.querySelectorAll(kind === 'click'
      ? 'button, a[href], [role=button], [role=link], [role=tab], [role=menuitem], [role=radio], input[type=submit], input[type=button], input[type=image], input[type=radio]'
      : 'input, textarea, select')].filter((e) => { const b = e.getBoundingClientRect(), s = getComputedStyle(e);
        return b.width > 0 && b.height > 0 && s.visibility !== 'hidden' && s.display !== 'none' && !e.disabled; });
    const i = list.indexOf(el);
    const info = i >= 0 && all[i] ? all[i] : {role: '', name: '', id: el.id || '', tag: el.tagName.toLowerCase(),
      type: (el.getAttribute('type') || '').toLowerCase(), attr_name: el.getAttribute('name') || '',
      testid: el.getAttribute('data-testid') || '', autocomplete: el.getAttribute('autocomplete') || '',
      href: el.getAttribute('href') || ''};
    info.same_role_name = info.role && info.name ? all.filter((o) => o.role === info.role && o.name === info.name).length : 0;
    const unique = (sel) => { try { return document.querySelectorAll(sel).length === 1; } catch (e) { return false; } };
    info.css = [];
    if (info.testid) info.css.push('[data-testid=' + esc(info.testid) + ']');
    if (info.id) info.css.push(/^[A-Za-z][\\w-]*$/.test(info.id) ? '#' + info.id : '[id=' + esc(info.id) + ']');
    if (info.attr_name) info.css.push(info.tag + '[name=' + esc(info.attr_name) + ']');
    if (info.autocomplete) info.css.push(info.tag + '[autocomplete=' + esc(info.autocomplete) + ']');
    if (info.tag === 'a' && info.href) info.css.push('a[href=' + esc(info.href) + ']');
    info.css = info.css.filter(unique);
    let path = [], node = el;
    while (node && node.nodeType === 1 && node !== document.documentElement) {
      const tag = node.tagName.toLowerCase(), parent = node.parentElement;
      const same = parent ? [...parent.children].filter((c) => c.tagName === node.tagName) : [];
      path.unshift(same.length > 1 ? tag + ':nth-of-type(' + (same.indexOf(node) + 1) + ')' : tag);
      node = parent;
    }
    info.path = path.join(' > ');
    info.label = [el.name, el.id, el.getAttribute('aria-label'), el.placeholder, el.getAttribute('autocomplete'),
                  ...(el.labels ? [...el.labels].map((l) => l.innerText) : [])].join(' ').toLowerCase();
    return info;
  };
  const send = (payload) => {
    payload.t = performance.timeOrigin + performance.now();
    try { window.%(binding)s(payload); } catch (e) {}
  };
  document.addEventListener('click', (event) => {
    if (!event.isTrusted) return;
    const target = event.target.closest ? event.target.closest(CLICKABLE) : null;
    if (!target) return;
    const tag = target.tagName.toLowerCase(), type = (target.getAttribute('type') || '').toLowerCase();
    if ((tag === 'input' && !['submit', 'button', 'image', 'radio', 'checkbox'].includes(type)) || tag === 'textarea' || tag === 'select') return;
    if (tag === 'label' && target.control) return;  // the click reaches the control too
    send({kind: 'click', info: infoOf(target, 'click')});
  }, true);
  document.addEventListener('input', (event) => {
    const el = event.target;
    if (!el || !['INPUT', 'TEXTAREA'].includes(el.tagName) || ['radio', 'checkbox'].includes(el.type)) return;
    send({kind: 'type', info: infoOf(el, 'type'), value: el.value});
  }, true);
  document.addEventListener('change', (event) => {
    const el = event.target;
    if (el && el.tagName === 'SELECT') send({kind: 'select', info: infoOf(el, 'type'), value: el.value});
  }, true);
  document.addEventListener('keydown', (event) => {
    if (event.isTrusted && event.key === 'Enter' && event.target && event.target.tagName === 'INPUT')
      send({kind: 'press', info: infoOf(event.target, 'type'), key: 'Enter'});
  }, true);
})();
"""


@dataclass
class Event:
    t: float
    kind: str
    selector: str
    chain: list[str]
    frame_host: str
    window: int
    value: str = ""
    key: str = ""
    name: str = ""
    label: str = ""


def _selector(info: dict[str, Any]) -> str:
    """What the payer sees when it names one element, else a stable unique attribute, else the
    element's path in its document."""
    name = (info.get("name") or "").strip()
    if info.get("role") and name and len(name) <= 80 and info.get("same_role_name") == 1:
        from .selectors import quote
        return f"role={info['role']}[name={quote(name)}]"
    if info.get("css"):
        return info["css"][0]
    return info.get("path") or info.get("tag") or "body"


class CanaryValues:
    """Typed values that are a canary's: the number of any built-in profile's default card; the
    expiry, CVC, name and postal code they share, in fields that look like those fields."""

    def __init__(self) -> None:
        cards = [builtin_profile(n).default_card for n in BUILTIN_PROFILES]
        self.numbers = {c.number for c in cards}
        self.expiries = {re.sub(r"\D", "", c.expiry) for c in cards}
        self.cvcs = {c.cvc for c in cards}
        self.names = {c.name.lower() for c in cards}
        self.postals = {c.postal for c in cards}

    def placeholder(self, value: str, label: str) -> str | None:
        digits = re.sub(r"\D", "", value)
        if digits and digits in self.numbers:
            return "{card.number}"
        if value.strip().lower() in self.names:
            return "{card.name}"
        if digits in self.expiries and re.fullmatch(r"\s*\d{2}\s*/?\s*\d{2,4}\s*", value) and \
                re.search(r"exp|mm|valid", label):
            return "{card.expiry}"
        if value.strip() in self.cvcs and re.search(r"cvc|cvv|csc|security|card.?code", label):
            return "{card.cvc}"
        if value.strip() in self.postals and re.search(r"postal|zip|post", label):
            return "{card.postal}"
        return None


class Recorder:
    def __init__(self, context: Any, progress: Progress) -> None:
        self.context = context
        self.progress = progress
        self.events: list[Event] = []
        self.windows: list[Any] = []
        self.requests: list[tuple[str, str]] = []
        self._chains: dict[int, tuple[Any, list[str] | None]] = {}  # id(frame) -> (frame, chain)
        context.on("request", lambda r: self.requests.append((r.url, r.resource_type)))
        context.on("page", self._window)
        context.expose_binding(BINDING, self._event)
        context.add_init_script(LISTENER_JS % {"elements": ELEMENTS_JS.strip(), "binding": BINDING})

    def _window(self, page: Any) -> None:
        if page not in self.windows:
            self.windows.append(page)

    def _event(self, source: dict[str, Any], payload: dict[str, Any]) -> None:
        frame = source.get("frame")
        page = source.get("page")
        # Worked out once per frame, while it is surely attached (its first event): the last keys
        # typed before a click that leaves the page arrive when the frame may be gone.
        key = id(frame)
        if key not in self._chains:
            try:
                chain = frame_chain(frame) if frame is not None and frame.parent_frame is not None else []
            except Exception:
                chain = None
            if chain is None:
                self.progress(f"record: no stable selector for the frame {frame.url if frame else '?'}: "
                              "its steps are left out")
            self._chains[key] = (frame, chain)
        chain = self._chains[key][1]
        if chain is None:
            return
        self._window(page)
        info = payload.get("info") or {}
        event = Event(t=float(payload.get("t") or time.time() * 1000), kind=payload.get("kind", ""),
                      selector=_selector(info), chain=chain, frame_host=host_of(frame.url) if frame else "",
                      window=self.windows.index(page) if page in self.windows else 0,
                      value=str(payload.get("value") or ""), key=str(payload.get("key") or ""),
                      name=(info.get("name") or "").strip(), label=info.get("label") or "")
        self.events.append(event)
        if event.kind == "click":
            self.progress(f"record: click {event.selector}" + (f" in {' > '.join(chain)}" if chain else ""))

    def steps(self, canary: CanaryValues) -> tuple[list[Step], str, bool]:
        """Scenario steps in the order the person acted; typing into one field is one step with
        its last value. Also the host and window of the card number field."""
        steps: list[Step] = []
        card_host, in_popup = "", False
        events = sorted(self.events, key=lambda e: e.t)
        i = 0
        while i < len(events):
            e = events[i]
            where = (f" in the {e.frame_host} frame" if e.chain else f" on {e.frame_host}") + \
                    (" (popup window)" if e.window > 0 else "")
            if e.kind == "type":
                j, last = i, e
                while j + 1 < len(events) and events[j + 1].kind == "type" and \
                        (events[j + 1].selector, events[j + 1].chain, events[j + 1].window) == (e.selector, e.chain, e.window):
                    j += 1
                    last = events[j]
                value = last.value
                placeholder = canary.placeholder(value, e.label)
                if placeholder == "{card.number}":
                    card_host, in_popup = e.frame_host, e.window > 0
                args: dict[str, Any] = {"selector": e.selector, "value": placeholder or value}
                if e.chain:
                    args["frame"] = e.chain[0] if len(e.chain) == 1 else e.chain
                what = f"the canary's {placeholder[6:-1]}" if placeholder else "a value"
                steps.append(Step("fill", args, f"typed {what}{where}"))
                i = j + 1
                continue
            args = {"selector": e.selector}
            if e.chain:
                args["frame"] = e.chain[0] if len(e.chain) == 1 else e.chain
            if e.kind == "click":
                label = f'"{e.name}"' if e.name else e.selector
                steps.append(Step("click", args if e.chain else e.selector, f"clicked {label}{where}"))
            elif e.kind == "select":
                steps.append(Step("select", {**args, "value": e.value}, f"chose {e.value!r}{where}"))
            elif e.kind == "press":
                steps.append(Step("press", {**args, "key": e.key}, f"pressed {e.key}{where}"))
            i += 1
        return steps, card_host, in_popup


def record(url: str, reach: Reach, config: Any, *, headless: bool = False, processor: str | None = None,
           drive: Callable[[Any], None] | None = None, progress: Progress | None = None) -> Findings:
    """Open `url` and record what is done in the browser until it is closed (or `drive`, a
    function given the page, returns). The result feeds `init.scenario_yaml`."""
    progress = progress or (lambda _line: None)
    found = Findings(url=url)
    with open_context(reach, config, headless=headless) as context:
        rec = Recorder(context, progress)
        page = context.new_page()
        page.goto(url, wait_until="load", timeout=config.timeout_ms)
        found.title = page.title().strip()
        if drive is not None:
            drive(page)
            page.wait_for_timeout(300)  # the last input events reach the recorder
        else:
            _until_closed(context)
        for r_url, kind in rec.requests:
            host = host_of(r_url)
            if host:
                found.hosts.setdefault(host, set()).add(kind)
        canary = CanaryValues()
        found.steps, found.card_frame, found.card_in_popup = rec.steps(canary)
    if processor:
        found.processor, found.processor_why = processor, [f"named on the command line (--processor {processor})"]
    else:
        name, why = recognise(found.hosts, found.card_frame, found.card_in_popup)
        found.processor, found.processor_why = name or BUILTIN_PROFILES[0], why
        if name is None:
            found.notes.append("no processor recognised: set `processor:` to the page's processor")
    if not found.card_frame:
        found.notes.append("no canary card number was typed: the scenario types no card; type one of the "
                           "canary numbers shown when recording starts, or add a fill_card step")
    found.fields_seen = sorted({s.args["value"][6:-1] for s in found.steps
                                if s.action == "fill" and str(s.args.get("value", "")).startswith("{card.")}) or ["none"]
    found.steps.append(Step("screenshot", "end", "the page the payer ended on"))
    return found


def _until_closed(context: Any) -> None:
    """Wait while the person works; done when every window is closed."""
    try:
        while open_pages(context):
            open_pages(context)[0].wait_for_timeout(250)
    except KeyboardInterrupt:
        return
    except Exception:  # the browser went away: what was recorded stands
        return


def canary_help() -> list[str]:
    lines = ["type a canary card so that its values become placeholders:"]
    for name in BUILTIN_PROFILES:
        card = builtin_profile(name).default_card
        lines.append(f"  {name:<10} number {card.number}")
    card = builtin_profile(BUILTIN_PROFILES[0]).default_card
    lines.append(f"  any        expiry {card.expiry}, CVC {card.cvc}, name {card.name}, postal code {card.postal}")
    return lines
