"""The payer's ad blocker in the browser: it stops requests and hides elements, and says why.

Requests: every request of every frame, popup and dedicated worker goes through one context route;
the blocker (audit/blocking.py) is asked with the request's type and the URL of the document that
made it (the parent document for a frame's own load, the Referer for a worker), and a stopped request
fails with ERR_BLOCKED_BY_CLIENT as an extension's would. Redirects are judged by their first URL
only (Playwright routes the first request of a redirect chain).

Elements: a script injected into every frame before page scripts asks for the element-hiding
selectors of its document (the filters specific to its URL, then the generic `##.class`/`###id`
filters for the classes and ids the document uses, again as it changes) and hides what they match
with a constructed style sheet, as uBlock Origin does with injected user styles. What each selector
hid is reported back. Scriptlet filters (`##+js(...)`) and procedural filters (`:has-text`) are
not run: the engine's resources for them are not part of the lists.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..blocking import Blocker, Decision
from ..evidence import FilterListRecord, HiddenRecord
from . import Recorder

BINDING = "__cardAuditCosmetic"
TEXT_LIMIT = 80

COSMETIC_JS = r"""
(() => {
  const call = window.%(binding)s;
  if (typeof call !== 'function') return;
  try { delete window.%(binding)s; } catch (e) {}
  if (!/^https?:/.test(location.href)) return;
  const sheet = new CSSStyleSheet();
  const applied = new Set(), reported = new Set(), classes = new Set(), ids = new Set();
  let exceptions = [], attached = false, timer = null;
  const attach = () => {
    if (attached) return;
    try { document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet]; attached = true; } catch (e) {}
  };
  const describe = (el) => {
    let s = '<' + el.tagName.toLowerCase();
    for (const a of ['id', 'class', 'name', 'src', 'href', 'type']) {
      const v = el.getAttribute(a); if (v) s += ' ' + a + '="' + v.slice(0, 60) + '"';
    }
    return s + '>';
  };
  const text = (el) => String(el.innerText || el.textContent || el.value || '').replace(/\s+/g, ' ').trim().slice(0, %(limit)d);
  const check = () => {
    const found = [];
    for (const sel of applied) {
      if (reported.has(sel)) continue;
      let all; try { all = document.querySelectorAll(sel); } catch (e) { reported.add(sel); continue; }
      if (all.length) { reported.add(sel); found.push([sel, all.length, describe(all[0]), text(all[0])]); }
    }
    if (found.length) call('hidden', location.href, found).catch(() => {});
  };
  const apply = (selectors) => {
    for (const sel of selectors || []) {
      if (applied.has(sel)) continue;
      applied.add(sel);
      try { sheet.insertRule(sel + '{display:none!important}', sheet.cssRules.length); } catch (e) {}
    }
    attach();
    check();
  };
  const collect = () => {
    const newClasses = [], newIds = [];
    for (const el of document.querySelectorAll('[class],[id]')) {
      if (el.id && !ids.has(el.id)) { ids.add(el.id); newIds.push(el.id); }
      for (const c of el.classList || []) if (!classes.has(c)) { classes.add(c); newClasses.push(c); }
    }
    if (newClasses.length || newIds.length) {
      call('generic', location.href, newClasses, newIds, exceptions).then(apply, () => {});
    } else check();
  };
  const later = () => { if (!timer) timer = setTimeout(() => { timer = null; collect(); }, 150); };
  call('specific', location.href).then((r) => { exceptions = r.exceptions || []; apply(r.selectors); collect(); },
                                       () => {});
  new MutationObserver(later).observe(document, {childList: true, subtree: true, attributes: true,
                                                 attributeFilter: ['class', 'id']});
  document.addEventListener('DOMContentLoaded', later);
})();
"""

# For a failed step: the selector that hid its target, or an ancestor of it (through shadow roots).
EXPLAIN_JS = r"""(els, sels) => {
  for (const el of els) {
    for (let n = el; n && n.nodeType === 1; n = n.parentElement || (n.getRootNode && n.getRootNode().host) || null) {
      for (const s of sels) {
        let hit = false; try { hit = n.matches(s); } catch (e) {}
        if (hit) {
          let d = '<' + n.tagName.toLowerCase();
          for (const a of ['id', 'class', 'name', 'src']) { const v = n.getAttribute(a); if (v) d += ' ' + a + '="' + v.slice(0, 60) + '"'; }
          return [s, d + '>', String(n.innerText || n.textContent || '').replace(/\s+/g, ' ').trim().slice(0, 80),
                  location.href];
        }
      }
    }
  }
  return null;
}"""


class AdblockRecorder(Recorder):
    """Applies the blocker in the browser and records what it stopped and hid."""

    name = "adblock"

    def __init__(self, session: Any, blocker: Blocker) -> None:
        super().__init__(session)
        self.blocker = blocker
        self._decisions: dict[str, Decision] = {}          # URL -> why it was stopped
        self._hidden: dict[tuple[str, str], dict[str, Any]] = {}
        self._selectors: set[str] = set()                  # every selector sent to a document

    def attach_context(self, context: Any) -> None:
        context.route("**/*", self._route)
        if self.blocker.engine is not None:
            context.expose_binding(BINDING, self._cosmetic)
            context.add_init_script(COSMETIC_JS % {"binding": BINDING, "limit": 80})

    # -- network -------------------------------------------------------------------------------
    def _route(self, route: Any, request: Any) -> None:
        try:
            source, child = self._source(request)
            decision = self.blocker.decide(request.url, source, request.resource_type, child)
        except Exception as exc:  # noqa: BLE001 - a broken decision is evidence, the request goes on
            self.session.error("capture", f"adblock: {type(exc).__name__}: {exc}")
            decision = None
        if decision is None:
            route.fallback()
            return
        self._decisions.setdefault(request.url, decision)
        route.abort("blockedbyclient")

    @staticmethod
    def _source(request: Any) -> tuple[str, bool]:
        """The URL of the document that made the request, and whether it loads a child frame."""
        try:
            frame = request.frame
        except Exception:  # dedicated workers' requests have no frame; their Referer names them
            return request.headers.get("referer") or request.url, False
        if request.resource_type == "document" and request.is_navigation_request():
            parent = frame.parent_frame
            return (_document_url(parent) or request.url, True) if parent is not None else (request.url, False)
        return _document_url(frame) or request.url, False

    # -- elements ------------------------------------------------------------------------------
    def _cosmetic(self, source: dict[str, Any], kind: str, url: str, *args: Any) -> Any:
        return self.session.guard(self.name, self._answer, source, kind, url, *args)

    def _answer(self, source: dict[str, Any], kind: str, url: str, *args: Any) -> Any:
        if kind == "specific":
            selectors, exceptions = self.blocker.hide_selectors(url)
            self._selectors.update(selectors)
            return {"selectors": selectors, "exceptions": exceptions}
        if kind == "generic":
            classes, ids, exceptions = args
            selectors = self.blocker.generic_selectors(list(classes), list(ids), list(exceptions))
            self._selectors.update(selectors)
            return selectors
        if kind == "hidden":
            page = source.get("page")
            index = self.session.page_index(page) if page is not None else 0
            for selector, count, element, text in args[0]:
                self._hide(selector, url, index, int(count), str(element), str(text), None)
        return None

    def _hide(self, selector: str, url: str, page: int, count: int, element: str, text: str,
              step: int | None) -> None:
        key = (url, selector)
        record = self._hidden.get(key)
        if record is None:
            origin = self.blocker.cosmetic_origin(selector, url)
            record = self._hidden[key] = {"selector": selector, "rule": origin.rule, "list": origin.list,
                                          "frame_url": url, "page": page, "count": count, "element": element,
                                          "text": text, "step": None, "time": self.session.now()}
        if step is not None:
            record["step"] = step

    def explain(self, locator: Any, step: int, page: int) -> None:
        """A step failed: if its target (or an ancestor) is hidden by an element-hiding filter,
        record which, so the finding can say the blocker kept the payer from this step."""
        if not self._selectors:
            return
        try:
            found = locator.evaluate_all(EXPLAIN_JS, sorted(self._selectors))
        except Exception:  # noqa: BLE001 - best effort: the page may be gone; the step's error stands
            return
        if found:
            selector, element, text, url = found
            self._hide(selector, url, page, 1, element, text, step)

    # -- export --------------------------------------------------------------------------------
    def export(self) -> dict[str, Any]:
        return {"adblock_mode": self.blocker.mode,
                "adblock_lists": tuple(FilterListRecord(name=f.name, path=f.path, sha256=f.sha256, lines=f.lines)
                                       for f in self.blocker.lists),
                "hidden": tuple(HiddenRecord(**h) for h in self._hidden.values())}

    def annotate(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Name the rule and list on each request the blocker stopped and on its console line."""
        why = self._decisions
        if not why:
            return fields
        requests = tuple(dataclasses.replace(r, blocked_rule=why[r.url].rule, blocked_list=why[r.url].list)
                         if r.blocked_by_client and r.url in why else r for r in fields.get("requests", ()))
        console = []
        for line in fields.get("console", ()):
            decision = why.get(line.url or "") if line.blocked_by_client else None
            if decision is None and line.blocked_by_client:
                decision = next((d for u, d in why.items() if u in line.text), None)
            console.append(dataclasses.replace(line, blocked_rule=decision.rule, blocked_list=decision.list)
                           if decision else line)
        return {**fields, "requests": requests, "console": tuple(console)}


def _document_url(frame: Any) -> str:
    """A frame's document URL; about:blank and srcdoc frames act for their parent's document."""
    while frame is not None:
        url = frame.url or ""
        if url.startswith(("http:", "https:")):
            return url
        frame = frame.parent_frame
    return ""
