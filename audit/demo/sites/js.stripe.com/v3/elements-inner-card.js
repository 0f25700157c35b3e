/*!
 * Stripe Elements card frame (card-audit demo emulation).
 * Runs on https://js.stripe.com inside the merchant page. Holds the card inputs, formats them as
 * Stripe's card Element does, and sends the card to api.stripe.com only.
 */
(function () {
  'use strict';
  var API = 'https://api.stripe.com';
  var params = new URLSearchParams(window.location.hash.slice(1));
  var parentOrigin = params.get('origin');
  var controllerId = params.get('controllerId');
  var frameId = params.get('frameId');
  var key = params.get('key');
  var loadedAt = Date.now();
  var ids = {muid: null, guid: null, sid: null};

  var number = document.querySelector('input[name=cardnumber]');
  var expiry = document.querySelector('input[name=exp-date]');
  var cvc = document.querySelector('input[name=cvc]');
  var postal = document.querySelector('input[name=postal]');
  if (params.get('hidePostalCode') === 'true') postal.parentNode.style.display = 'none';

  function post(message) {
    message.controllerId = controllerId;
    message.frameId = frameId;
    window.parent.postMessage(message, parentOrigin);
  }
  function digits(value) { return String(value || '').replace(/\D/g, ''); }

  function brandOf(d) {
    if (/^4/.test(d)) return 'visa';
    if (/^3[47]/.test(d)) return 'amex';
    if (/^(5[1-5]|222[1-9]|22[3-9]|2[3-6]|27[01]|2720)/.test(d)) return 'mastercard';
    if (/^(6011|65|64[4-9])/.test(d)) return 'discover';
    if (/^(36|38|30[0-5])/.test(d)) return 'diners';
    if (/^35(2[89]|[3-8])/.test(d)) return 'jcb';
    if (/^62/.test(d)) return 'unionpay';
    return 'unknown';
  }
  function maxLength(brand) { return brand === 'amex' ? 15 : brand === 'diners' ? 14 : 16; }
  function luhn(d) {
    var sum = 0;
    for (var i = 0; i < d.length; i++) {
      var n = Number(d[d.length - 1 - i]);
      if (i % 2) { n *= 2; if (n > 9) n -= 9; }
      sum += n;
    }
    return d.length >= 12 && sum % 10 === 0;
  }
  function groups(d, brand) {
    var sizes = brand === 'amex' ? [4, 6, 5] : brand === 'diners' ? [4, 6, 4] : [4, 4, 4, 4, 3];
    var out = [], at = 0;
    sizes.forEach(function (size) { if (at < d.length) { out.push(d.slice(at, at + size)); at += size; } });
    return out.join(' ');
  }

  function state() {
    var d = digits(number.value), brand = brandOf(d);
    var exp = digits(expiry.value), month = Number(exp.slice(0, 2)), year = 2000 + Number(exp.slice(2, 4));
    var now = new Date(), error = null;
    var numberDone = d.length === maxLength(brand);
    if (numberDone && !luhn(d)) error = {type: 'validation_error', code: 'invalid_number', message: 'Your card number is invalid.'};
    else if (exp.length === 4 && (month < 1 || month > 12)) error = {type: 'validation_error', code: 'invalid_expiry_month', message: "Your card's expiration date is invalid."};
    else if (exp.length === 4 && (year < now.getFullYear() || (year === now.getFullYear() && month < now.getMonth() + 1))) error = {type: 'validation_error', code: 'invalid_expiry_year_past', message: "Your card's expiration year is in the past."};
    var cvcDone = digits(cvc.value).length === (brand === 'amex' ? 4 : 3);
    var postalDone = postal.parentNode.style.display === 'none' || postal.value.trim().length >= 3;
    return {brand: brand, error: error, empty: !d && !exp && !cvc.value && !postal.value,
            complete: !error && numberDone && exp.length === 4 && cvcDone && postalDone,
            month: month, year: year, number: d};
  }
  function emitChange() {
    var s = state();
    number.setAttribute('aria-invalid', s.error && s.error.code === 'invalid_number' ? 'true' : 'false');
    post({type: 'change', brand: s.brand, complete: s.complete, empty: s.empty, error: s.error});
  }

  number.addEventListener('input', function () {
    var d = digits(number.value), brand = brandOf(d);
    d = d.slice(0, maxLength(brand));
    number.value = groups(d, brand);
    emitChange();
    if (d.length === maxLength(brand) && luhn(d)) expiry.focus();  // as Stripe does: move on when complete
  });
  expiry.addEventListener('input', function (event) {
    var d = digits(expiry.value).slice(0, 4);
    if (d.length === 1 && d > '1') d = '0' + d;            // "4" means April: "04 / "
    var deleting = event.inputType && event.inputType.indexOf('delete') === 0;
    expiry.value = d.length > 2 || (d.length === 2 && !deleting) ? d.slice(0, 2) + ' / ' + d.slice(2) : d;
    emitChange();
    if (d.length === 4) cvc.focus();
  });
  cvc.addEventListener('input', function () {
    cvc.value = digits(cvc.value).slice(0, brandOf(digits(number.value)) === 'amex' ? 4 : 3);
    emitChange();
  });
  postal.addEventListener('input', emitChange);
  [number, expiry, cvc, postal].forEach(function (input) {
    input.addEventListener('focus', function () { post({type: 'focus'}); });
    input.addEventListener('blur', function () { post({type: 'blur'}); });
  });

  function createPaymentMethod(requestId, billing) {
    var s = state();
    if (!s.complete) {
      var error = s.error || {type: 'validation_error', code: 'incomplete_number', message: 'Your card number is incomplete.'};
      post({type: 'response', requestId: requestId, result: {error: error}});
      return;
    }
    var body = new URLSearchParams();
    body.append('type', 'card');
    body.append('card[number]', s.number);
    body.append('card[cvc]', digits(cvc.value));
    body.append('card[exp_month]', String(s.month));
    body.append('card[exp_year]', String(s.year % 100));
    if (billing && billing.name) body.append('billing_details[name]', billing.name);
    if (billing && billing.email) body.append('billing_details[email]', billing.email);
    body.append('billing_details[address][postal_code]', postal.value.trim());
    if (ids.guid) { body.append('guid', ids.guid); body.append('muid', ids.muid); body.append('sid', ids.sid); }
    body.append('payment_user_agent', 'stripe.js/3.0.0; stripe-js-v3/3.0.0; card-element');
    body.append('time_on_page', String(Date.now() - loadedAt));
    body.append('key', key);
    fetch(API + '/v1/payment_methods', {method: 'POST', body: body})
      .then(function (response) { return response.json(); })
      .then(function (json) {
        post({type: 'response', requestId: requestId, result: json.error ? {error: json.error} : {paymentMethod: json}});
        telemetry(json.error ? 'card.create_payment_method.error' : 'card.create_payment_method.success');
      })
      .catch(function (err) {
        post({type: 'response', requestId: requestId,
              result: {error: {type: 'api_connection_error', message: String((err && err.message) || err)}}});
      });
  }

  window.addEventListener('message', function (event) {
    if (event.origin === 'https://m.stripe.network' && event.data && event.data.type === 'ids') {
      ids = event.data.ids;
      return;
    }
    if (event.origin !== parentOrigin || !event.data) return;
    if (event.data.type === 'createPaymentMethod') createPaymentMethod(event.data.requestId, event.data.billing_details);
    else if (event.data.type === 'focus') number.focus();
  });

  // Telemetry: event names and timings only, never field values.
  function telemetry(name) {
    var events = [{event_name: name, key: key.slice(0, 24), frame: 'card', referrer: parentOrigin,
                   time_on_page: Date.now() - loadedAt}];
    fetch('https://r.stripe.com/b', {method: 'POST', keepalive: true,
      body: new URLSearchParams({client_id: 'stripe-js', num_requests: '1', events: JSON.stringify(events)})})
      .catch(function () {});
  }
  telemetry('elements.card.frame_loaded');
  new Image().src = 'https://q.stripe.com/?event=stripe_js.card.mount&key=' + encodeURIComponent(key.slice(0, 24)) + '&t=' + Date.now();

  // Fraud signals come from a separate m.stripe.network frame (https://docs.stripe.com/disputes/prevention/advanced-fraud-detection).
  var signals = document.createElement('iframe');
  signals.title = 'Stripe fraud signals';
  signals.setAttribute('aria-hidden', 'true');
  signals.tabIndex = -1;
  signals.style.cssText = 'position:absolute;width:1px;height:1px;border:0;left:-9999px;';
  signals.src = 'https://m.stripe.network/inner.html#url=' + encodeURIComponent(parentOrigin) + '&title=' + encodeURIComponent(document.title);
  document.body.appendChild(signals);

  // Keys typed before this script ran (the inputs are in the HTML) are formatted and reported now.
  [number, expiry, cvc, postal].forEach(function (input) { if (input.value) input.dispatchEvent(new Event('input')); });
  post({type: 'ready'});
})();
