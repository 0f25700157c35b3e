// Invoice payment with PayPal buttons (https://developer.paypal.com/sdk/js/reference/#buttons):
// our server creates the order; PayPal's popup takes the card; our server captures the order.
document.addEventListener('payment:open', function (event) {
  'use strict';
  var config = event.detail;
  paypal.Buttons({
    style: {layout: 'vertical'},
    createOrder: function () {
      return fetch('/invoice/' + config.invoice + '/paypal/order', {method: 'POST', credentials: 'same-origin'})
        .then(function (response) { return response.json(); })
        .then(function (order) { return order.id; });
    },
    onApprove: function (data) { return window.BrightLights.completePayment({order_id: data.orderID}); },
    onCancel: function () { window.BrightLights.showError('Payment cancelled.'); },
    onError: function (err) { window.BrightLights.showError(err.message); }
  }).render('#paypal-buttons');
}, {once: true});
