// Invoice payment with PayPal card fields (https://developer.paypal.com/sdk/js/reference/#card-fields):
// each card input is a PayPal frame; our server creates and captures the order.
document.addEventListener('payment:open', function (event) {
  'use strict';
  var config = event.detail;
  var form = document.getElementById('payment-form');
  var submit = document.getElementById('submit-payment');
  var cardFields = paypal.CardFields({
    createOrder: function () {
      return fetch('/invoice/' + config.invoice + '/paypal/order', {method: 'POST', credentials: 'same-origin'})
        .then(function (response) { return response.json(); })
        .then(function (order) { return order.id; });
    },
    onApprove: function (data) { return window.BrightLights.completePayment({order_id: data.orderID}); },
    onError: function (err) { window.BrightLights.showError(err.message); submit.disabled = false; }
  });
  if (!cardFields.isEligible()) { window.BrightLights.showError('Card payments are unavailable.'); return; }
  cardFields.NumberField().render('#card-number');
  cardFields.ExpiryField().render('#expiration-date');
  cardFields.CVVField().render('#cvv');
  form.addEventListener('submit', function (submitEvent) {
    submitEvent.preventDefault();
    submit.disabled = true;
    window.BrightLights.showError('');
    cardFields.submit().catch(function () { submit.disabled = false; });
  });
}, {once: true});
