/*!
 * PayPal checkout popup (card-audit demo emulation). Runs on https://www.paypal.com: the card is
 * typed here and confirmed on the order with PayPal; the opener (the PayPal buttons frame) is
 * told the order was approved, and the popup closes.
 */
(function () {
  'use strict';
  var form = document.getElementById('card-form');
  var orderID = form.getAttribute('data-order-id');
  var number = document.getElementById('cardNumber');
  var expiry = document.getElementById('cardExpiry');
  var cvv = document.getElementById('cardCvv');
  var postal = document.getElementById('billingPostalCode');
  var errorLine = document.getElementById('error');
  var button = document.getElementById('payNow');
  function digits(value) { return String(value || '').replace(/\D/g, ''); }

  number.addEventListener('input', function () {
    var d = digits(number.value).slice(0, 19);
    number.value = (d.match(/.{1,4}/g) || []).join(' ');
  });
  expiry.addEventListener('input', function (event) {
    var d = digits(expiry.value).slice(0, 4);
    var deleting = event.inputType && event.inputType.indexOf('delete') === 0;
    expiry.value = d.length > 2 || (d.length === 2 && !deleting) ? d.slice(0, 2) + '/' + d.slice(2) : d;
  });

  // Keys typed before this script ran (the inputs are in the HTML) are formatted now.
  [number, expiry].forEach(function (input) { if (input.value) input.dispatchEvent(new Event('input')); });

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    errorLine.textContent = '';
    button.disabled = true;
    var exp = digits(expiry.value);
    var card = {number: digits(number.value), expiry: '20' + exp.slice(2, 4) + '-' + exp.slice(0, 2),
                security_code: digits(cvv.value), billing_address: {postal_code: postal.value.trim(), country_code: 'US'}};
    fetch('/v2/checkout/orders/' + encodeURIComponent(orderID) + '/confirm-payment-source', {
      method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({payment_source: {card: card}})
    }).then(function (response) { return response.json(); }).then(function (json) {
      if (json.status !== 'APPROVED') {
        var detail = (json.details && json.details[0]) || {};
        errorLine.textContent = detail.description || 'We could not process this card.';
        button.disabled = false;
        return;
      }
      form.hidden = true;
      document.getElementById('done').hidden = false;
      if (window.opener) {
        window.opener.postMessage({type: 'approved', orderID: json.id}, 'https://www.paypal.com');
        setTimeout(function () { window.close(); }, 150);
      }
    }).catch(function (err) { errorLine.textContent = String(err); button.disabled = false; });
  });

  // FraudNet device data (no card data), as PayPal's checkout pages send it.
  fetch('https://c.paypal.com/v1/r/d/b/p1', {method: 'POST', keepalive: true,
    body: JSON.stringify({f: orderID, s: 'CHECKOUTNOW_GUEST', l: navigator.language, tz: new Date().getTimezoneOffset()})})
    .catch(function () {});
})();
