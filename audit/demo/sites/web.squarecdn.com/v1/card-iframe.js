/*!
 * Square card frame (card-audit demo emulation). Runs on https://web.squarecdn.com; sends the
 * card to https://pci-connect.squareup.com/v2/card-nonce and hands the merchant page a nonce.
 */
(function () {
  'use strict';
  var params = new URLSearchParams(window.location.hash.slice(1));
  var parentOrigin = params.get('origin');
  var instanceId = params.get('instanceId');
  var number = document.getElementById('cardNumber');
  var expiry = document.getElementById('expirationDate');
  var cvv = document.getElementById('cvv');
  var postal = document.getElementById('postalCode');
  var errorLine = document.getElementById('sq-error');

  function post(message) { message.instanceId = instanceId; window.parent.postMessage(message, parentOrigin); }
  function digits(value) { return String(value || '').replace(/\D/g, ''); }
  function isAmex(d) { return /^3[47]/.test(d); }

  number.addEventListener('input', function () {
    var d = digits(number.value).slice(0, isAmex(digits(number.value)) ? 15 : 16);
    number.value = isAmex(d) ? [d.slice(0, 4), d.slice(4, 10), d.slice(10)].filter(Boolean).join(' ')
                             : (d.match(/.{1,4}/g) || []).join(' ');
    post({type: 'event', event: 'cardBrandChanged', detail: {cardBrand: isAmex(d) ? 'americanExpress' : /^4/.test(d) ? 'visa' : 'unknown'}});
  });
  expiry.addEventListener('input', function (event) {
    var d = digits(expiry.value).slice(0, 4);
    var deleting = event.inputType && event.inputType.indexOf('delete') === 0;
    expiry.value = d.length > 2 || (d.length === 2 && !deleting) ? d.slice(0, 2) + '/' + d.slice(2) : d;
  });
  cvv.addEventListener('input', function () { cvv.value = digits(cvv.value).slice(0, 4); });

  function fail(field, input, message) {
    input.setAttribute('aria-invalid', 'true');
    errorLine.textContent = message;
    return {status: 'Invalid', errors: [{field: field, type: 'VALIDATION_ERROR', message: message}]};
  }

  function tokenize(requestId) {
    [number, expiry, cvv, postal].forEach(function (i) { i.setAttribute('aria-invalid', 'false'); });
    errorLine.textContent = '';
    var d = digits(number.value), exp = digits(expiry.value);
    var result = null;
    if (d.length < 13) result = fail('cardNumber', number, 'Card number is not valid');
    else if (exp.length !== 4) result = fail('expirationDate', expiry, 'Expiration date is not valid');
    else if (digits(cvv.value).length < 3) result = fail('cvv', cvv, 'CVV is not valid');
    else if (postal.value.trim().length < 3) result = fail('postalCode', postal, 'Postal code is not valid');
    if (result) { post({type: 'result', requestId: requestId, result: result}); return; }
    var body = {
      client_id: params.get('applicationId'), location_id: params.get('locationId'),
      session_id: params.get('sessionId'), website_url: parentOrigin + '/', squarejs_version: '1.0.0-demo',
      analytics_token: Math.random().toString(36).slice(2),
      card_data: {number: d, exp_month: Number(exp.slice(0, 2)), exp_year: 2000 + Number(exp.slice(2)),
                  cvv: digits(cvv.value), billing_postal_code: postal.value.trim()}
    };
    fetch('https://pci-connect.squareup.com/v2/card-nonce?_=' + Date.now() + '&version=1.0.0-demo', {
      method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)
    }).then(function (response) { return response.json(); }).then(function (json) {
      if (json.errors) {
        var e = json.errors[0];
        errorLine.textContent = e.detail;
        post({type: 'result', requestId: requestId, result: {status: 'Invalid', errors: [{field: e.field, type: 'VALIDATION_ERROR', message: e.detail}]}});
      } else {
        post({type: 'result', requestId: requestId, result: {status: 'OK', token: json.token, details: json.details}});
      }
    }).catch(function (err) {
      post({type: 'result', requestId: requestId, result: {status: 'Error', errors: [{type: 'NETWORK_ERROR', message: String(err)}]}});
    });
  }

  window.addEventListener('message', function (event) {
    if (event.origin === parentOrigin && event.data && event.data.type === 'tokenize') tokenize(event.data.requestId);
  });
  // Keys typed before this script ran (the inputs are in the HTML) are formatted and reported now.
  [number, expiry, cvv, postal].forEach(function (input) { if (input.value) input.dispatchEvent(new Event('input')); });
  post({type: 'ready'});
})();
