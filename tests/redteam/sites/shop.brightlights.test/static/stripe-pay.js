// The merchant's checkout with Stripe Elements (https://docs.stripe.com/payments/card-element): the card
// is typed into Stripe's own frame and only a PaymentMethod id, brand and last four come back.
(function () {
  'use strict';
  var stripe = Stripe('pk_test_brightlights');
  var card = stripe.elements().create('card');
  card.mount('#card-element');
  var form = document.getElementById('checkout');
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    stripe.createPaymentMethod({type: 'card', card: card,
                                billing_details: {name: document.getElementById('cc-name').value}})
      .then(function (result) {
        if (result.error) throw new Error(result.error.message);
        var pm = result.paymentMethod;
        var receipt = document.getElementById('receipt');
        receipt.textContent = 'Payment received: ' + pm.card.brand.replace(/^./, function (c) { return c.toUpperCase(); }) +
          ' \u2022\u2022\u2022\u2022 ' + pm.card.last4;
        receipt.hidden = false;
        form.hidden = true;
        document.dispatchEvent(new CustomEvent('payment:done', {detail: pm}));
      })
      .catch(function (err) { document.getElementById('receipt').textContent = err.message; });
  });
})();
