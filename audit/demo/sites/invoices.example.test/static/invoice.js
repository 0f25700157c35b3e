// Every invoice page: "Pay Invoice" reveals the payment form in place (no navigation) and tells
// the processor script to set itself up; completePayment() finishes on our server.
(function () {
  'use strict';
  var invoice = document.getElementById('invoice');
  if (!invoice) return;
  var config = Object.assign({}, invoice.dataset);
  var payButton = document.getElementById('pay-invoice');
  var section = document.getElementById('payment');
  var errorLine = document.getElementById('payment-error');

  function showError(message) {
    errorLine.textContent = message || '';
    errorLine.hidden = !message;
  }

  function completePayment(payload) {
    payload.processor = payload.processor || config.processor;
    return fetch('/invoice/' + config.invoice + '/pay', {
      method: 'POST', credentials: 'same-origin',
      headers: {'Content-Type': 'application/json'}, body: JSON.stringify(payload)
    }).then(function (response) { return response.json(); }).then(function (result) {
      if (!result.ok) throw new Error(result.error || 'Payment failed.');
      window.location.assign(result.redirect);
      return result;
    }).catch(function (err) { showError(err.message); throw err; });
  }

  window.BrightLights = {config: config, showError: showError, completePayment: completePayment};

  payButton.addEventListener('click', function () {
    // Blur before hiding: a focused element that becomes hidden is blurred later, at the next
    // rendering update, which would pull focus out of a card field the payer has started typing in.
    payButton.blur();
    section.hidden = false;
    payButton.hidden = true;
    document.dispatchEvent(new CustomEvent('payment:open', {detail: config}));
  });
})();
