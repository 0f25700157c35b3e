/*!
 * Stripe.js v3, as emulated by the card-audit demo world.
 * Public surface follows https://docs.stripe.com/js : Stripe(key), stripe.elements(),
 * elements.create('card'), element.mount(selector), element.on('change'),
 * stripe.createPaymentMethod(...), stripe.confirmCardPayment(clientSecret, data).
 * Card inputs live only in the js.stripe.com frame; this script never sees the card number.
 */
(function () {
  'use strict';
  if (window.Stripe && window.Stripe.version === 3) return;

  var JS_ORIGIN = 'https://js.stripe.com';
  var API = 'https://api.stripe.com';
  var INNER_CARD_URL = JS_ORIGIN + '/v3/elements-inner-card-$inner_card_hash.html';
  var frameCount = 0;

  function randomId() { return Math.random().toString(36).slice(2, 12); }

  function Stripe(key, options) {
    if (!(this instanceof Stripe)) return new Stripe(key, options);
    if (typeof key !== 'string' || key.indexOf('pk_') !== 0) {
      throw new Error('IntegrationError: Invalid value for Stripe(): apiKey should be a publishable key (pk_...).');
    }
    this._apiKey = key;
    this._controllerId = '__privateStripeController' + randomId();
    sendSignals();
    this._elements = {};
    this._pending = {};
    var self = this;
    window.addEventListener('message', function (event) {
      if (event.origin !== JS_ORIGIN || !event.data || event.data.controllerId !== self._controllerId) return;
      self._onFrameMessage(event.data);
    });
  }
  Stripe.version = 3;

  // Fraud signals from the merchant's page to m.stripe.com/6 (device data, no card data), besides
  // those of the m.stripe.network frame. EasyPrivacy's `||m.stripe.com^$third-party,domain=~stripe.network`
  // stops this one on a merchant's page and lets the m.stripe.network frame's through.
  function sendSignals() {
    try {
      var signals = {v2: 1, id: randomId(), t: Math.round(performance.now()), tag: '4.5.43', src: 'js',
                     b: {a: window.location.origin + window.location.pathname, b: document.title}};
      fetch('https://m.stripe.com/6', {method: 'POST', body: btoa(unescape(encodeURIComponent(JSON.stringify(signals))))})
        .catch(function () {});
    } catch (e) {}
  }

  Stripe.prototype._onFrameMessage = function (msg) {
    var element = this._elements[msg.frameId];
    if (!element) return;
    if (msg.type === 'ready') {
      element._markReady();
      element._emit('ready', {elementType: 'card'});
    } else if (msg.type === 'change') {
      element._emit('change', {elementType: 'card', brand: msg.brand, complete: msg.complete,
                               empty: msg.empty, error: msg.error || undefined});
    } else if (msg.type === 'focus' || msg.type === 'blur') {
      element._emit(msg.type, {elementType: 'card'});
    } else if (msg.type === 'response' && this._pending[msg.requestId]) {
      this._pending[msg.requestId](msg.result);
      delete this._pending[msg.requestId];
    }
  };

  Stripe.prototype._ask = function (element, message) {
    var self = this;
    var requestId = randomId();
    return element._ready.then(function () {
      return new Promise(function (resolve) {
        self._pending[requestId] = resolve;
        message.requestId = requestId;
        element._frame.contentWindow.postMessage(message, JS_ORIGIN);
      });
    });
  };

  Stripe.prototype.elements = function (options) { return new Elements(this, options || {}); };

  // createPaymentMethod({type: 'card', card: element, billing_details}) or the older
  // createPaymentMethod('card', element, {billing_details}).
  Stripe.prototype.createPaymentMethod = function (typeOrData, maybeElement, maybeData) {
    var data = typeof typeOrData === 'string'
      ? Object.assign({type: typeOrData, card: maybeElement}, maybeData || {}) : (typeOrData || {});
    if (!(data.card instanceof CardElement)) {
      return Promise.resolve({error: {type: 'validation_error', message: 'A card Element is required.'}});
    }
    return this._ask(data.card, {type: 'createPaymentMethod', billing_details: data.billing_details || {}});
  };

  Stripe.prototype.confirmCardPayment = function (clientSecret, data) {
    var self = this;
    data = data || {};
    var pm = data.payment_method;
    var intentId = String(clientSecret || '').split('_secret_')[0];
    var created = typeof pm === 'string'
      ? Promise.resolve({paymentMethod: {id: pm}})
      : this.createPaymentMethod({type: 'card', card: pm && pm.card, billing_details: pm && pm.billing_details});
    return created.then(function (result) {
      if (result.error) return result;
      var body = new URLSearchParams({
        payment_method: result.paymentMethod.id, expected_payment_method_type: 'card',
        use_stripe_sdk: 'true', key: self._apiKey, client_secret: clientSecret
      });
      return fetch(API + '/v1/payment_intents/' + encodeURIComponent(intentId) + '/confirm',
                   {method: 'POST', body: body})
        .then(function (response) { return response.json(); })
        .then(function (json) { return json.error ? {error: json.error} : {paymentIntent: json}; });
    }).catch(function (err) {
      return {error: {type: 'api_connection_error', message: String((err && err.message) || err)}};
    });
  };

  function Elements(stripe, options) { this._stripe = stripe; this._options = options; }
  Elements.prototype.create = function (type, options) {
    if (type !== 'card') throw new Error('IntegrationError: this Stripe.js build only offers the card Element.');
    return new CardElement(this._stripe, options || {});
  };

  function CardElement(stripe, options) {
    var self = this;
    this._stripe = stripe;
    this._options = options;
    this._handlers = {};
    this._frameId = String(frameCount++);
    this._ready = new Promise(function (resolve) { self._markReady = resolve; });
    stripe._elements[this._frameId] = this;
  }
  CardElement.prototype.mount = function (target) {
    var container = typeof target === 'string' ? document.querySelector(target) : target;
    if (!container) throw new Error('IntegrationError: The selector you specified (' + target + ') applies to no DOM elements.');
    var wrapper = document.createElement('div');
    wrapper.className = 'StripeElement StripeElement--empty';
    var frame = document.createElement('iframe');
    var params = new URLSearchParams({
      componentName: 'card', controllerId: this._stripe._controllerId, frameId: this._frameId,
      key: this._stripe._apiKey, origin: window.location.origin,
      style: JSON.stringify(this._options.style || {}), hidePostalCode: String(!!this._options.hidePostalCode)
    });
    frame.name = '__privateStripeFrame' + (5000 + Number(this._frameId) * 7 + 1);
    frame.title = 'Secure card payment input frame';
    frame.setAttribute('frameborder', '0');
    frame.setAttribute('allowtransparency', 'true');
    frame.setAttribute('scrolling', 'no');
    frame.setAttribute('role', 'presentation');
    frame.setAttribute('allow', 'payment *');
    frame.style.border = 'none';
    frame.style.width = '100%';
    frame.style.height = '40px';
    frame.style.display = 'block';
    frame.src = INNER_CARD_URL + '#' + params.toString();
    wrapper.appendChild(frame);
    container.appendChild(wrapper);
    this._frame = frame;
    this._wrapper = wrapper;
  };
  CardElement.prototype.on = function (event, handler) {
    (this._handlers[event] = this._handlers[event] || []).push(handler);
    return this;
  };
  CardElement.prototype._emit = function (event, payload) {
    if (event === 'change' && this._wrapper) {
      this._wrapper.className = 'StripeElement' + (payload.empty ? ' StripeElement--empty' : '') +
        (payload.complete ? ' StripeElement--complete' : '') + (payload.error ? ' StripeElement--invalid' : '');
    }
    (this._handlers[event] || []).forEach(function (handler) { handler(payload); });
  };
  CardElement.prototype.focus = function () {
    var frame = this._frame;
    this._ready.then(function () { frame.contentWindow.postMessage({type: 'focus'}, JS_ORIGIN); });
  };
  CardElement.prototype.unmount = CardElement.prototype.destroy = function () {
    if (this._wrapper && this._wrapper.parentNode) this._wrapper.parentNode.removeChild(this._wrapper);
  };

  window.Stripe = Stripe;
})();
