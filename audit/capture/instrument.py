"""Instrumentation injected into every frame before page scripts run.

It records data handed to the browser's sending APIs (fetch, XHR, sendBeacon, WebSocket,
EventSource, WebRTC). The network recorder sees requests; this sees what the page *tried* to send,
which matters when the browser refuses the request (a CSP violation leaves only a console line) and
for WebRTC data channels, which never show up as requests at all.
"""

from __future__ import annotations

from typing import Any

from ..evidence import ApiCallRecord
from . import Recorder

BINDING = "__cardAuditRecord"

# The binding is taken into a closure and removed from window at once, so page scripts see no
# extra global. Wrapped functions keep their names; data is cut at 256 KB per call.
INIT_JS = r"""
(() => {
  const rec = window.%(binding)s;
  if (typeof rec !== 'function') return;
  try { delete window.%(binding)s; } catch (e) {}
  const LIMIT = 262144;
  const text = (v) => {
    try {
      if (v == null) return '';
      if (typeof v === 'string') return v.slice(0, LIMIT);
      if (v instanceof URLSearchParams) return v.toString().slice(0, LIMIT);
      if (typeof FormData !== 'undefined' && v instanceof FormData) {
        const parts = []; for (const [k, x] of v.entries()) parts.push(k + '=' + (typeof x === 'string' ? x : '[file]'));
        return parts.join('&').slice(0, LIMIT);
      }
      if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
        const bytes = new Uint8Array(v.buffer ? v.buffer : v, v.byteOffset || 0, v.byteLength);
        let s = ''; for (let i = 0; i < Math.min(bytes.length, LIMIT); i++) s += String.fromCharCode(bytes[i]);
        return 'base64:' + btoa(s);
      }
      if (typeof Blob !== 'undefined' && v instanceof Blob) return '[blob ' + v.size + ' bytes]';
      return JSON.stringify(v).slice(0, LIMIT);
    } catch (e) { return String(v).slice(0, LIMIT); }
  };
  const absolute = (url) => { try { return new URL(String(url), location.href).href; } catch (e) { return String(url); } };
  // The script that made the call: the first URL on the stack that is not this instrumentation.
  const caller = () => {
    try { const m = String(new Error().stack).match(/(?:https?|blob|data):[^\s()]+?(?=:\d+:\d+)/);
          return m ? m[0] : ''; } catch (e) { return ''; }
  };
  const send = (kind, url, data) => {
    try {
      const where = url == null ? null : (kind.startsWith('rtc') ? String(url) : absolute(url));
      const who = caller();
      // A Blob's bytes can only be read asynchronously; the request itself does not carry them
      // in what the network layer reports (sendBeacon and fetch with a Blob body).
      if (typeof Blob !== 'undefined' && data instanceof Blob) {
        data.slice(0, LIMIT).arrayBuffer().then((buf) => { try { rec(kind, where, text(buf), who); } catch (e) {} },
                                               () => { try { rec(kind, where, '[blob unreadable]', who); } catch (e) {} });
        return;
      }
      rec(kind, where, text(data), who);
    } catch (e) {}
  };
  const wrap = (obj, name, make) => {
    try { const orig = obj[name]; if (typeof orig !== 'function') return;
      const w = make(orig); Object.defineProperty(w, 'name', {value: orig.name});
      obj[name] = w; } catch (e) {}
  };
  wrap(window, 'fetch', (orig) => function (input, init) {
    const url = (input && input.url) || input;
    send('fetch', url, init && init.body);
    return orig.apply(this, arguments);
  });
  if (window.XMLHttpRequest) {
    const P = XMLHttpRequest.prototype, urls = new WeakMap();
    wrap(P, 'open', (orig) => function (method, url) { urls.set(this, url); return orig.apply(this, arguments); });
    wrap(P, 'send', (orig) => function (body) { send('xhr', urls.get(this), body); return orig.apply(this, arguments); });
  }
  if (navigator.sendBeacon) {
    wrap(Navigator.prototype, 'sendBeacon', (orig) => function (url, data) { send('beacon', url, data); return orig.apply(this, arguments); });
  }
  if (window.WebSocket) {
    wrap(WebSocket.prototype, 'send', (orig) => function (data) { send('websocket', this.url, data); return orig.apply(this, arguments); });
  }
  const Ctor = window.RTCPeerConnection || window.webkitRTCPeerConnection;
  if (Ctor) {
    const Wrapped = function (config, ...rest) {
      try { for (const s of (config && config.iceServers) || []) {
        const urls = [].concat(s.urls || s.url || []);
        send('rtc-ice', urls.join(' '), [urls.join(' '), s.username || '', s.credential || ''].join(' '));
      } } catch (e) {}
      return new Ctor(config, ...rest);
    };
    Wrapped.prototype = Ctor.prototype;
    Object.defineProperty(Wrapped, 'name', {value: Ctor.name});
    try { Object.setPrototypeOf(Wrapped, Ctor); } catch (e) {}
    window.RTCPeerConnection = Wrapped;
    if (window.webkitRTCPeerConnection) window.webkitRTCPeerConnection = Wrapped;
    wrap(Ctor.prototype, 'createDataChannel', (orig) => function (label) { send('rtc-label', null, label); return orig.apply(this, arguments); });
    wrap(Ctor.prototype, 'setLocalDescription', (orig) => function (desc) { send('rtc-sdp', null, desc && desc.sdp); return orig.apply(this, arguments); });
    if (window.RTCDataChannel) {
      wrap(RTCDataChannel.prototype, 'send', (orig) => function (data) { send('rtc-send', this.label, data); return orig.apply(this, arguments); });
    }
  }
  // Resource hints make the browser resolve or connect to a host with no request the page sees.
  const HINTS = /^(dns-prefetch|preconnect|prefetch|preload|prerender|modulepreload)$/i;
  const hint = (el) => { try {
    if (el && el.tagName === 'LINK' && el.href && String(el.rel).split(/\s+/).some((r) => HINTS.test(r))) send('dns-hint', el.href, el.rel);
  } catch (e) {} };
  try {
    new MutationObserver((records) => { for (const r of records) for (const n of r.addedNodes) {
      hint(n); if (n.querySelectorAll) n.querySelectorAll('link').forEach(hint); } })
      .observe(document, {childList: true, subtree: true});
  } catch (e) {}
  if (window.EventSource) {
    const ES = window.EventSource;
    const W = function (url, opts) { send('eventsource', url, ''); return new ES(url, opts); };
    W.prototype = ES.prototype; Object.defineProperty(W, 'name', {value: 'EventSource'});
    try { Object.setPrototypeOf(W, ES); } catch (e) {}
    window.EventSource = W;
  }
})();
""" % {"binding": BINDING}


class InstrumentRecorder(Recorder):
    name = "instrument"

    def __init__(self, session: Any) -> None:
        super().__init__(session)
        self._calls: list[ApiCallRecord] = []

    def attach_context(self, context: Any) -> None:
        context.expose_binding(BINDING, self.on(self._record))
        context.add_init_script(INIT_JS)

    def _record(self, source: dict[str, Any], kind: str, url: str | None, data: str,
                script: str = "") -> None:
        frame = source.get("frame")
        page = source.get("page")
        self._calls.append(ApiCallRecord(
            kind=str(kind), url=url, data=str(data)[:262144], script=str(script)[:2048] or None,
            frame_url=frame.url if frame is not None else None,
            page=self.session.page_index(page) if page is not None else 0, time=self.session.now()))

    def export(self) -> dict[str, Any]:
        return {"api_calls": tuple(self._calls)}
