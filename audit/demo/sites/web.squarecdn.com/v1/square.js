/*!
 * Square Web Payments SDK, as emulated by the card-audit demo world.
 * Surface per https://developer.squareup.com/reference/sdks/web/payments :
 *   const payments = Square.payments(applicationId, locationId);
 *   const card = await payments.card(); await card.attach('#card-container');
 *   const result = await card.tokenize();  // {status: 'OK', token: 'cnon:...', details}
 * The card inputs live in a web.squarecdn.com frame; the card goes from there to
 * pci-connect.squareup.com, and only the nonce comes back to the merchant page.
 */
(function () {
  'use strict';
  var ORIGIN = 'https://web.squarecdn.com';
  var count = 0;

  function randomId() { return Math.random().toString(36).slice(2, 12) + Math.random().toString(36).slice(2, 12); }

  function Payments(applicationId, locationId) {
    if (!/^(sq0idp-|sandbox-sq0idb-)/.test(String(applicationId))) {
      throw new Error('InvalidApplicationIdError: The Payment object must be initialized with a valid application ID.');
    }
    this.applicationId = applicationId;
    this.locationId = locationId;
    this.sessionId = randomId();
  }
  Payments.prototype.card = function (options) { return Promise.resolve(new Card(this, options || {})); };
  Payments.prototype.setLocale = function () { return Promise.resolve(); };

  function Card(payments, options) {
    var self = this;
    this._payments = payments;
    this._options = options;
    this._instanceId = 'sq-card-' + (count++);
    this._pending = {};
    this._listeners = {};
    this._ready = new Promise(function (resolve) { self._markReady = resolve; });
    window.addEventListener('message', function (event) {
      var msg = event.data;
      if (event.origin !== ORIGIN || !msg || msg.instanceId !== self._instanceId) return;
      if (msg.type === 'ready') self._markReady();
      else if (msg.type === 'result' && self._pending[msg.requestId]) {
        self._pending[msg.requestId](msg.result);
        delete self._pending[msg.requestId];
      } else if (msg.type === 'event') {
        (self._listeners[msg.event] || []).forEach(function (fn) { fn(new CustomEvent(msg.event, {detail: msg.detail})); });
      }
    });
  }
  Card.prototype.attach = function (target) {
    var container = typeof target === 'string' ? document.querySelector(target) : target;
    if (!container) return Promise.reject(new Error('ElementNotFoundError: ' + target));
    var wrapper = document.createElement('div');
    wrapper.className = 'sq-card-wrapper';
    var frame = document.createElement('iframe');
    frame.id = this._instanceId;
    frame.name = 'sq-card-iframe-container';
    frame.className = 'sq-card-component';
    frame.title = 'Secure Credit Card Form';
    frame.setAttribute('allow', 'payment');
    frame.style.border = 'none';
    frame.style.width = '100%';
    frame.style.height = '96px';
    frame.src = ORIGIN + '/v1/card-iframe.html#' + new URLSearchParams({
      applicationId: this._payments.applicationId, locationId: this._payments.locationId,
      sessionId: this._payments.sessionId, instanceId: this._instanceId, origin: window.location.origin
    }).toString();
    wrapper.appendChild(frame);
    container.appendChild(wrapper);
    this._frame = frame;
    return this._ready;
  };
  Card.prototype.tokenize = function () {
    var self = this, requestId = randomId();
    return this._ready.then(function () {
      return new Promise(function (resolve) {
        self._pending[requestId] = resolve;
        self._frame.contentWindow.postMessage({type: 'tokenize', requestId: requestId}, ORIGIN);
      });
    });
  };
  Card.prototype.addEventListener = function (name, fn) { (this._listeners[name] = this._listeners[name] || []).push(fn); };
  Card.prototype.destroy = function () {
    if (this._frame && this._frame.parentNode) this._frame.parentNode.parentNode.removeChild(this._frame.parentNode);
    return Promise.resolve(true);
  };

  window.Square = {payments: function (applicationId, locationId) { return new Payments(applicationId, locationId); }};
})();
