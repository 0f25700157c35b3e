"""Carrying out scenario steps in the browser, the way a payer would."""

from __future__ import annotations

import time
from typing import Any, Callable

from .capture.hittest import DESCRIBE_JS, focused, hit_test, mark, unmark
from .evidence import Card, KeystrokeRecord
from .hands import Hands
from .hosts import host_of, matches_any
from .scenario import expand, has_card_placeholder

FIELD_ORDER = ("number", "expiry", "cvc", "name", "postal")
KEY_DELAY_MS = 35  # between keystrokes: fast, but each key is a real keydown/keypress/input/keyup
OPTIONAL_FIELD_GRACE_S = 1.5  # split card elements mount one frame at a time


# Any card form a payer would recognise, whoever serves it: a payer types into the form in front of
# them, so `fill_card` falls back to these when the profile's own selectors find nothing (a
# merchant-hosted form, a skimmer's overlay). Autocomplete tokens per the HTML standard's
# autofill field names (cc-number, cc-exp, cc-csc, cc-name, postal-code).
GENERIC_FIELDS: dict[str, list[str]] = {
    "number": ['input[autocomplete="cc-number"]', 'input[name="cardnumber"]', 'input[name*="card_number" i]',
               'input[name*="cardNumber" i]', 'input[id*="cardnumber" i]'],
    "expiry": ['input[autocomplete="cc-exp"]', 'input[name="exp-date"]', 'input[name*="expir" i]'],
    "cvc": ['input[autocomplete="cc-csc"]', 'input[name="cvc"]', 'input[name*="cvv" i]', 'input[name*="cvc" i]'],
    "name": ['input[autocomplete="cc-name"]'],
    "postal": ['input[autocomplete="postal-code"]', 'input[autocomplete="billing postal-code"]'],
}


# The first selector matching a visible, editable input in this document.
FIRST_USABLE_JS = """(selectors) => {
  for (const sel of selectors) {
    let el; try { el = document.querySelector(sel); } catch (e) { continue; }
    if (!el || el.disabled || el.readOnly) continue;
    const box = el.getBoundingClientRect(), style = getComputedStyle(el);
    if (box.width > 0 && box.height > 0 && style.visibility !== 'hidden' && style.display !== 'none') return sel;
  }
  return null;
}"""


class StepFailed(Exception):
    """A step could not be carried out; the message says why, in the user's terms."""


class StepRunner:
    """Runs steps against the active page. Popups become the active page while open."""

    def __init__(self, pages: Callable[[], list[Any]], card: Card, profile: Any, timeout_ms: int,
                 note_typed: Callable[[Any, str], None], shoot: Callable[[str], str | None],
                 frames: Any = None) -> None:
        self._pages = pages
        self.card = card
        self.profile = profile
        self.timeout_ms = timeout_ms
        self.note_typed = note_typed
        self.shoot = shoot
        self.frames = frames  # the frame recorder: CDP sessions, and where keystrokes landed
        self.hands = Hands()

    def active_page(self) -> Any:
        open_pages = [p for p in self._pages() if not p.is_closed()]
        if not open_pages:
            raise StepFailed("no open page left")
        return open_pages[-1]

    def run(self, step: Any) -> str | None:
        """Carry out one step; returns a screenshot path when the step takes one."""
        timeout = step.timeout_ms or self.timeout_ms
        action = step.action
        if action == "goto":
            self.active_page().goto(step.url, timeout=timeout, wait_until="domcontentloaded")
        elif action == "click":
            locator = self._locator(step)
            self._approach(locator)
            locator.click(timeout=timeout)
        elif action in ("fill", "type"):
            value = expand(step.value, self.card)
            locator = self._locator(step)
            if action == "type" or has_card_placeholder(step.value):
                delay = getattr(step, "delay_ms", KEY_DELAY_MS)
                locator.click(timeout=timeout)
                locator.press_sequentially(value, delay=delay, timeout=timeout)
                for field in _fields_in(step.value):
                    self._note(locator, field, timeout)
            else:
                locator.fill(value, timeout=timeout)
        elif action == "press":
            if step.selector:
                self._locator(step).press(step.key, timeout=timeout)
            else:
                self.active_page().keyboard.press(step.key)
        elif action == "select":
            self._locator(step).select_option(expand(step.value, self.card), timeout=timeout)
        elif action == "wait_for":
            self._wait_for(step, timeout)
        elif action == "fill_card":
            self.fill_card(step.fields, timeout)
        elif action == "screenshot":
            return self.shoot(step.name)
        else:  # the scenario model admits no other action
            raise StepFailed(f"unknown action {action!r}")
        return None

    def _scope(self, step: Any, page: Any = None) -> Any:
        scope = page or self.active_page()
        frame = getattr(step, "frame", None)
        for selector in ([frame] if isinstance(frame, str) else (frame or [])):
            scope = scope.frame_locator(selector)
        return scope

    def _locator(self, step: Any) -> Any:
        return self._scope(step).locator(step.selector).first

    def _note(self, locator: Any, field: str, timeout: int) -> None:
        handle = locator.element_handle(timeout=timeout)
        frame = handle.owner_frame() if handle is not None else None
        if frame is not None:
            self.note_typed(frame, field)

    def _wait_for(self, step: Any, timeout: int) -> None:
        if step.url is not None:
            target = step.url
            page = self.active_page()
            if "*" in target:
                page.wait_for_url(target, timeout=timeout)
            else:
                page.wait_for_url(lambda url: target in url, timeout=timeout)
            return
        # Text or selector: looked for in every open page, newest first, until the timeout, so a
        # payment popup that closes itself hands over to its opener without failing the step.
        deadline = time.monotonic() + timeout / 1000
        what = f"text {step.text!r}" if step.text is not None else f"selector {step.selector!r}"
        while True:
            for page in [p for p in self._pages() if not p.is_closed()][::-1]:
                try:
                    scope = self._scope(step, page)
                    target = scope.get_by_text(step.text) if step.text is not None else scope.locator(step.selector)
                    if target.first.is_visible():
                        return
                except Exception:  # page or frame went away while looking: look again
                    continue
            if time.monotonic() >= deadline:
                raise StepFailed(f"timed out after {timeout} ms waiting for {what}")
            self._pause(50)

    def _pause(self, ms: int) -> None:
        live = [p for p in self._pages() if not p.is_closed()]
        if live:
            try:
                live[0].wait_for_timeout(ms)
                return
            except Exception:
                pass
        time.sleep(ms / 1000)

    # -- fill_card -------------------------------------------------------------------------
    def fill_card(self, fields: list[str] | None, timeout: int) -> None:
        """Type every card field the profile knows (or those named) into the frame holding it."""
        wanted = [f for f in FIELD_ORDER if f in (fields or FIELD_ORDER)]
        values = {"number": self.card.number, "expiry": self.card.expiry, "cvc": self.card.cvc,
                  "name": self.card.name, "postal": self.card.postal}
        own: dict[str, list[str]] = dict(self.profile.card_fields or {})
        selectors = {f: list(own.get(f) or []) + [g for g in GENERIC_FIELDS[f] if g not in (own.get(f) or [])]
                     for f in FIELD_ORDER}
        for field in wanted:
            # The number (or any field the step names) is waited for; the rest get a short grace,
            # since integrations differ in which fields they show.
            required = field == "number" or bool(fields)
            deadline = time.monotonic() + (timeout / 1000 if required else OPTIONAL_FIELD_GRACE_S)
            found = self._find_field(selectors[field], deadline)
            if found is None:
                if required:
                    raise StepFailed(f"no {field} field found in any frame within {timeout} ms "
                                     f"(looked for {', '.join(selectors[field])})")
                continue
            frame, selector = found
            self._payer_types(frame, frame.locator(selector).first, field, values[field], timeout)

    def _approach(self, locator: Any) -> None:
        """Bring the mouse to an element the way a hand does, before Playwright clicks it."""
        try:
            box = locator.bounding_box(timeout=1000)
            if box:
                self.hands.move(self.active_page_of(locator), *self.hands.point_in(box))
        except Exception:  # not there yet: Playwright's own click waits for it
            pass

    def active_page_of(self, locator: Any) -> Any:
        return getattr(locator, "page", None) or self.active_page()

    def _payer_types(self, frame: Any, field_input: Any, field: str, value: str, timeout: int) -> None:
        """Click the field where a payer sees it and type into whatever then has the focus.

        The point is hit-tested first, through the frame chain, by the browser: when another
        element lies on top, the click and keys go to it, as a payer's would, and the keystroke
        record names it (rule card-field-obscured)."""
        page = frame.page
        box = _steady_box_in_view(page, field_input, timeout)
        if box is None:  # outside the window, or still moving: scrolled to and waited for
            _scroll_frames_into_view(frame, timeout)
            field_input.scroll_into_view_if_needed(timeout=timeout)
            box = field_input.bounding_box(timeout=timeout)
        if not box:
            raise StepFailed(f"the {field} field is not visible on the page")
        x, y = self.hands.point_in(box)
        # The hand moves to the point while the field is marked, described and hit-tested.
        moving = self.hands.start_move(page, x, y)
        try:
            handle = field_input.element_handle(timeout=timeout)
            marked = mark(handle)  # the field marked for the hit test, and described, in one call
            target = marked[1] if marked is not None else _describe(field_input)
            hit = None
            if self.frames is not None and marked is not None:
                hit = hit_test(page, x, y, marked[0], self.frames.cdp_for)
            if marked is not None:
                unmark(handle, marked[0])
        except BaseException:
            self.hands.abandon(moving)
            raise
        self.hands.arrive(page, moving, timeout / 1000)
        self.hands.press(page)
        landed = focused(page)
        self.hands.type(page, value)
        covered = hit is not None and not hit.is_target
        # Where the keys went; when the browser cannot say, the field the click was meant for
        # (never nowhere: an untyped canary proves nothing).
        self.note_typed(landed[0] if landed is not None else frame, field)
        if self.frames is not None:
            self.frames.note_keys(KeystrokeRecord(
                field=field, target=target, target_frame_url=frame.url, target_host=host_of(frame.url),
                landed=landed[1] if landed else "", landed_frame_url=landed[2] if landed else "",
                landed_host=host_of(landed[2]) if landed else "", page=self.frames.page_index(page),
                x=round(x, 1), y=round(y, 1), covered_by=hit.element if covered else None,
                cover_frame_url=hit.frame_url if covered else None, cover_host=hit.host if covered else None,
                time=self.frames.now()))

    def _find_field(self, selectors: list[str], deadline: float) -> tuple[Any, str] | None:
        """Frame and selector of the first visible, editable element matching a selector, looking in processor card frames first,
        in the newest open page (a payment popup) first."""
        card_hosts = list(getattr(self.profile, "card_frame_hosts", []) or [])
        while True:
            pages = [p for p in self._pages() if not p.is_closed()][::-1]
            if not pages:  # every window closed, or the browser was stopped: nothing can show up
                raise StepFailed("no window is open to look for card fields in")
            for page in pages:
                frames = sorted(page.frames, key=lambda f: not matches_any(host_of(f.url), card_hosts))
                for frame in frames:
                    try:  # one round trip per frame, whatever the number of selectors
                        selector = frame.evaluate(FIRST_USABLE_JS, selectors)
                    except Exception:  # frame detached or navigating: look again
                        continue
                    if selector and _shown_in_page(frame):
                        return frame, selector
            if time.monotonic() >= deadline:
                return None
            self._pause(100)


def _steady_box_in_view(page: Any, element: Any, timeout: int) -> dict[str, float] | None:
    """The element's box when it lies wholly inside the window and did not move between two
    looks; else None (the caller scrolls to it and lets Playwright wait for it to be stable)."""
    size = page.viewport_size
    if not size:
        return None
    first = element.bounding_box(timeout=timeout)
    if not first or first["width"] < 1 or first["height"] < 1:
        return None
    inside = (first["x"] >= 0 and first["y"] >= 0 and first["x"] + first["width"] <= size["width"]
              and first["y"] + first["height"] <= size["height"])
    if not inside:
        return None
    second = element.bounding_box(timeout=timeout)
    return second if second == first else None


def _scroll_frames_into_view(frame: Any, timeout: int) -> None:
    """Scroll each frame element of the field's frame chain into view, outermost first, as a
    payer scrolls to the card form. Chromium does not run animation frames in a cross-site frame
    that lies outside the viewport, so Playwright's wait for the field to be stable would
    otherwise never end on a short window."""
    chain = []
    while frame.parent_frame is not None:
        chain.append(frame)
        frame = frame.parent_frame
    for child in reversed(chain):
        try:
            child.frame_element().scroll_into_view_if_needed(timeout=timeout)
        except Exception:  # detached or hidden: the field's own scroll says what is wrong
            return


def _shown_in_page(frame: Any) -> bool:
    """A frame a payer can see: every frame element up to the page has a size."""
    try:
        while frame.parent_frame is not None:
            box = frame.frame_element().bounding_box()
            if not box or box["width"] < 2 or box["height"] < 2:
                return False
            frame = frame.parent_frame
    except Exception:  # detached while looking: not a field to type into now
        return False
    return True


def _describe(locator: Any) -> str:
    try:
        return locator.evaluate(DESCRIBE_JS)
    except Exception:
        return ""


def _fields_in(value: str) -> list[str]:
    return [f for f in FIELD_ORDER if "{card." + f in value or
            (f == "expiry" and ("{card.exp_month" in value or "{card.exp_year" in value))]
