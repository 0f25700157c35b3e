// Invoice payment with Stripe Elements (https://docs.stripe.com/payments/card-element):
// the card is typed into Stripe's frame; we only ever see the PaymentIntent's outcome.
document.addEventListener('payment:open', function (event) {
  'use strict';
  var config = event.detail;
  var stripe = Stripe(config.stripeKey);
  var card = stripe.elements().create('card', {style: {base: {fontSize: '16px', color: '#1d2433'}}});
  card.mount('#card-element');
  var errors = document.getElementById('card-errors');
  card.on('change', function (change) { errors.textContent = change.error ? change.error.message : ''; });

  var form = document.getElementById('payment-form');
  var submit = document.getElementById('submit-payment');
  form.addEventListener('submit', function (submitEvent) {
    submitEvent.preventDefault();
    submit.disabled = true;
    stripe.confirmCardPayment(config.clientSecret, {
      payment_method: {card: card, billing_details: {name: document.getElementById('cardholder-name').value}}
    }).then(function (result) {
      if (result.error) throw new Error(result.error.message);
      return window.BrightLights.completePayment({payment_intent: result.paymentIntent.id});
    }).catch(function (err) {
      errors.textContent = err.message;
      submit.disabled = false;
    });
  });
}, {once: true});
