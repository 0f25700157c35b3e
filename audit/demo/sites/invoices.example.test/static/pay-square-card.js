// Invoice payment with the Square Web Payments SDK card
// (https://developer.squareup.com/docs/web-payments/take-card-payment): the card is typed into
// Square's frame; we get a nonce and redeem it on our server.
document.addEventListener('payment:open', function (event) {
  'use strict';
  var config = event.detail;
  var payments = Square.payments(config.squareAppId, config.squareLocationId);
  var form = document.getElementById('payment-form');
  var submit = document.getElementById('submit-payment');
  payments.card().then(function (card) {
    return card.attach('#card-container').then(function () {
      form.addEventListener('submit', function (submitEvent) {
        submitEvent.preventDefault();
        submit.disabled = true;
        card.tokenize().then(function (result) {
          if (result.status !== 'OK') throw new Error(result.errors && result.errors[0] ? result.errors[0].message : 'Card not accepted.');
          return window.BrightLights.completePayment({source_id: result.token});
        }).catch(function (err) {
          window.BrightLights.showError(err.message);
          submit.disabled = false;
        });
      });
    });
  }).catch(function (err) { window.BrightLights.showError('Card payments are unavailable: ' + err.message); });
}, {once: true});
