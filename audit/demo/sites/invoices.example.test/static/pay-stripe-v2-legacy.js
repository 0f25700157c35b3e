// Invoice payment with our own card form, tokenised by Stripe.js v2 (Stripe.card.createToken).
// The back office still runs its own fraud screen on the card details, so they travel with
// the token to our server.
document.addEventListener('payment:open', function (event) {
  'use strict';
  var config = event.detail;
  Stripe.setPublishableKey(config.stripeKey);
  var form = document.getElementById('payment-form');
  var submit = document.getElementById('submit-payment');
  form.addEventListener('submit', function (submitEvent) {
    submitEvent.preventDefault();
    submit.disabled = true;
    var card = {number: form.cardnumber.value, cvc: form.cvc.value, exp: form['exp-date'].value,
                name: form.name.value, address_zip: form.postal.value};
    Stripe.card.createToken(card, function (status, response) {
      if (response.error) {
        window.BrightLights.showError(response.error.message);
        submit.disabled = false;
        return;
      }
      window.BrightLights.completePayment({
        token: response.id,
        fraud_screen: {card_number: card.number.replace(/\D/g, ''), exp: card.exp, cvc: card.cvc, name: card.name}
      }).catch(function () { submit.disabled = false; });
    });
  });
}, {once: true});
