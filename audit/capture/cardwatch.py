"""The watcher injected into every frame before page scripts run: card fields the moment they appear.

A snapshot after each step misses a form that comes and goes between steps, and page JavaScript
cannot reach a closed shadow root. So `Element.prototype.attachShadow` is wrapped to keep every
root it creates, open or closed, and one MutationObserver watches the document and each of those
roots (childList, subtree and the attributes that show or hide a field). On a change the watcher
looks for card fields (the table of `cardwords`) and reports each new one through a binding that
is taken into a closure and removed from `window` at once. Its timer is the real `setTimeout`,
taken before any page script (or a fake clock) can replace it.

Declarative shadow roots (`<template shadowrootmode="closed">`) are made by the parser, not by
`attachShadow`: the CDP walk (`domwalk`) sees them at every snapshot and at the final sweep.
"""

from __future__ import annotations

from .cardwords import js_table

BINDING = "__cardAuditWatch"

WATCH_JS = r"""
(() => {
  const rec = window.%(binding)s;
  if (typeof rec !== 'function') return;
  try { delete window.%(binding)s; } catch (e) {}
  const T = %(table)s;
  const AC = Object.entries(T.autocomplete).map(([f, s]) => [f, new RegExp(s)]);
  const WORDS = Object.entries(T.words).map(([f, s]) => [f, new RegExp(s)]);
  const realTimeout = window.setTimeout.bind(window);
  const fold = (s) => { s = String(s || '').toLowerCase();
    const b = s.normalize('NFKD').replace(/[\u0300-\u036f]/g, ''); return b === s ? s : s + ' ' + b; };
  const roots = new Map();  // root -> 'document' | 'open' | 'closed'
  const desc = (el) => { let d = el.localName || ''; if (el.id) d += '#' + String(el.id).slice(0, 60);
    for (const k of ['name', 'autocomplete', 'aria-label', 'placeholder']) {
      const v = el.getAttribute && el.getAttribute(k); if (v) d += '[' + k + '=' + v.slice(0, 40) + ']'; }
    return d; };
  const where = (root) => {
    const parts = [];
    while (root && root !== document && roots.has(root)) {
      parts.unshift(roots.get(root) + ' shadow root of <' + desc(root.host) + '>');
      root = root.host.getRootNode();
    }
    return parts.length ? parts.join(' > ') : 'document';
  };
  const editable = (el) => {
    if (el.localName === 'input') return !T.notTyped.includes(String(el.type || 'text').toLowerCase());
    if (el.localName === 'textarea') return true;
    return el.isContentEditable || (el.getAttribute('role') || '').toLowerCase() === 'textbox';
  };
  const classify = (el) => {
    const ac = String(el.getAttribute('autocomplete') || '').toLowerCase();
    for (const [f, re] of AC) if (re.test(ac)) return f;
    const words = [];
    for (const k of ['name', 'id', 'placeholder', 'aria-label', 'title', 'data-elements-stable-field-name'])
      words.push(el.getAttribute(k) || '');
    try { for (const l of el.labels || []) words.push(l.textContent); } catch (e) {}
    try { for (const ref of String(el.getAttribute('aria-labelledby') || '').split(/\s+/)) {
      const r = ref && el.getRootNode().getElementById && el.getRootNode().getElementById(ref);
      if (r) words.push(r.textContent); } } catch (e) {}
    const text = fold(words.join(' ').slice(0, 1000));
    for (const [f, re] of WORDS) if (re.test(text)) return f;
    if (!['', 'on', 'off'].includes(ac.trim())) return null;
    const near = before(el);
    if (!near || near.length > T.labelBeforeMax) return null;
    for (const [f, re] of WORDS) if (re.test(fold(near))) return f;
    return null;
  };
  // The last text before a field since the previous control, in its own root: what a payer reads
  // as its label when no <label>, placeholder or name says it (cardwords.label_before).
  const NO_LABEL_TEXT = new Set(['script', 'style', 'noscript', 'template', 'option', 'optgroup', 'button',
                                 'textarea', 'title']);
  const CONTROLS = new Set(['select', 'button', 'iframe', 'frame', 'object', 'embed', 'portal', 'fencedframe']);
  const before = (el) => {
    try {
      const walker = document.createTreeWalker(el.getRootNode(), NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
      walker.currentNode = el;
      for (let i = 0, n; i < 500 && (n = walker.previousNode()); i++) {
        if (n.nodeType === 3) {
          const p = n.parentNode;
          if (p && p.localName && NO_LABEL_TEXT.has(p.localName)) continue;
          const t = n.data.split(/\s+/).filter(Boolean).join(' ');
          if (t) return t;
        } else if (!n.contains(el) && (CONTROLS.has(n.localName) || editable(n))) return '';
      }
    } catch (e) {}
    return '';
  };
  const reported = new Set();
  const scan = () => {
    const out = [];
    for (const root of roots.keys()) {
      let els; try { els = root.querySelectorAll('input, textarea, [contenteditable], [role=textbox]'); } catch (e) { continue; }
      for (const el of els) {
        try {
          if (!editable(el)) continue;
          const field = classify(el); if (!field) continue;
          const r = el.getBoundingClientRect();
          let visible = r.width >= 2 && r.height >= 2;
          if (visible && el.checkVisibility) visible = el.checkVisibility({opacityProperty: true, visibilityProperty: true});
          const item = {field, hidden: !visible, where: where(root), element: desc(el)};
          const sig = JSON.stringify(item);
          if (reported.has(sig)) continue;
          reported.add(sig); out.push(item);
        } catch (e) {}
      }
    }
    if (out.length) { try { rec(String(location.href), out); } catch (e) {} }
  };
  let queued = false;
  const later = () => { if (queued) return; queued = true; realTimeout(() => { queued = false; scan(); }, 50); };
  const adopt = (node) => {  // open roots the parser made (declarative shadow DOM)
    try { if (node.shadowRoot && !roots.has(node.shadowRoot)) watch(node.shadowRoot, node.shadowRoot.mode);
      if (node.querySelectorAll) for (const el of node.querySelectorAll('*'))
        if (el.shadowRoot && !roots.has(el.shadowRoot)) watch(el.shadowRoot, el.shadowRoot.mode); } catch (e) {}
  };
  const observer = new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes || []) if (n.nodeType === 1) adopt(n);
    later();
  });
  const OPTIONS = {childList: true, subtree: true, attributes: true,
                   attributeFilter: ['style', 'class', 'hidden', 'type', 'autocomplete', 'name', 'id',
                                     'placeholder', 'aria-label', 'open']};
  const watch = (root, kind) => { roots.set(root, kind); try { observer.observe(root, OPTIONS); } catch (e) {} later(); };
  const attach = Element.prototype.attachShadow;
  if (typeof attach === 'function') {
    const wrapped = {attachShadow(init) {
      const root = attach.apply(this, arguments);
      try { watch(root, (init && init.mode) === 'closed' ? 'closed' : 'open'); } catch (e) {}
      return root;
    }}.attachShadow;
    try { Object.defineProperty(wrapped, 'name', {value: 'attachShadow'}); } catch (e) {}
    Element.prototype.attachShadow = wrapped;
  }
  watch(document, 'document');
  document.addEventListener('DOMContentLoaded', () => { adopt(document); later(); });
})();
""" % {"binding": BINDING, "table": js_table()}
