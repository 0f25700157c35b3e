/*!
 * PayPal card field frame (card-audit demo emulation). Runs on https://www.paypal.com; each field
 * is its own frame. On submit the number frame gathers its sibling fields over a BroadcastChannel
 * (same origin, so nothing passes through the merchant page) and confirms the card with PayPal.
 */
(function () {
  'use strict';
  var ORIGIN = 'https://www.paypal.com';
  var params = new URLSearchParams(window.location.search);
  var hash = new URLSearchParams(window.location.hash.slice(1));
  var type = params.get('type');
  var id = params.get('uid');
  var parentOrigin = hash.get('origin');
  var input = document.querySelector('input');
  var channel = new BroadcastChannel('paypal-card-fields-' + id);
  if (hash.get('placeholder')) input.placeholder = hash.get('placeholder');

  function digits(value) { return String(value || '').replace(/\D/g, ''); }
  function toParent(message) { message.uid = id; window.parent.postMessage(message, parentOrigin); }

  input.addEventListener('input', function (event) {
    if (type === 'number') {
      var d = digits(input.value).slice(0, 19);
      input.value = /^3[47]/.test(d) ? [d.slice(0, 4), d.slice(4, 10), d.slice(10, 15)].filter(Boolean).join(' ')
                                     : (d.match(/.{1,4}/g) || []).join(' ');
    } else if (type === 'expiry') {
      var e = digits(input.value).slice(0, 4);
      var deleting = event.inputType && event.inputType.indexOf('delete') === 0;
      input.value = e.length > 2 || (e.length === 2 && !deleting) ? e.slice(0, 2) + ' / ' + e.slice(2) : e;
    } else if (type === 'cvv') {
      input.value = digits(input.value).slice(0, 4);
    }
  });

  channel.onmessage = function (event) {
    if (event.data && event.data.type === 'collect' && type !== 'number') {
      channel.postMessage({type: 'value', field: type, value: input.value});
    } else if (event.data && event.data.type === 'invalid' && event.data.field === type) {
      input.setAttribute('aria-invalid', 'true');
    }
  };

  function collect() {
    return new Promise(function (resolve) {
      var values = {number: input.value};
      var listener = function (event) {
        if (event.data && event.data.type === 'value') values[event.data.field] = event.data.value;
        if ('expiry' in values && 'cvv' in values) done();
      };
      var timer = setTimeout(done, 1000);  // the name field is optional
      function done() { clearTimeout(timer); channel.removeEventListener('message', listener); resolve(values); }
      channel.addEventListener('message', listener);
      channel.postMessage({type: 'collect'});
    });
  }

  function submit(orderID, billingAddress) {
    collect().then(function (values) {
      var exp = digits(values.expiry);
      var card = {number: digits(values.number), expiry: '20' + exp.slice(2, 4) + '-' + exp.slice(0, 2),
                  security_code: digits(values.cvv)};
      if (values.name) card.name = values.name;
      if (billingAddress) card.billing_address = billingAddress;
      return fetch(ORIGIN + '/v2/checkout/orders/' + encodeURIComponent(orderID) + '/confirm-payment-source', {
        method: 'POST', headers: {'Content-Type': 'application/json', 'PayPal-Client-Metadata-Id': id},
        body: JSON.stringify({payment_source: {card: card}})
      });
    }).then(function (response) { return response.json(); }).then(function (json) {
      if (json.status === 'APPROVED') { toParent({type: 'approved', orderID: json.id}); return; }
      var detail = (json.details && json.details[0]) || {};
      var field = (detail.field || '').split('/').pop();
      var ours = field === 'security_code' ? 'cvv' : field;
      if (ours === type) input.setAttribute('aria-invalid', 'true'); else channel.postMessage({type: 'invalid', field: ours});
      toParent({type: 'error', message: detail.description || json.message || 'Card could not be processed'});
    }).catch(function (err) { toParent({type: 'error', message: String(err)}); });
  }

  // Keys typed before this script ran (the input is in the HTML) are formatted now.
  if (input.value) input.dispatchEvent(new Event('input'));

  window.addEventListener('message', function (event) {
    if (event.origin === parentOrigin && event.data && event.data.type === 'submit' && type === 'number') {
      submit(event.data.orderID, event.data.billingAddress);
    }
  });
})();
