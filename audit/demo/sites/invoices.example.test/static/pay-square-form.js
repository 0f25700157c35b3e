// Invoice payment with our own card form: the card details are posted to Square's card-nonce
// endpoint from this page (as the Square card frame would), and the nonce goes to our server.
document.addEventListener('payment:open', function (event) {
  'use strict';
  var config = event.detail;
  var form = document.getElementById('payment-form');
  var submit = document.getElementById('submit-payment');
  var number = form.cardnumber;
  number.addEventListener('input', function () {
    var d = number.value.replace(/\D/g, '').slice(0, 16);
    number.value = (d.match(/.{1,4}/g) || []).join(' ');
  });
  form.addEventListener('submit', function (submitEvent) {
    submitEvent.preventDefault();
    submit.disabled = true;
    var exp = form['exp-date'].value.replace(/\D/g, '');
    fetch('https://pci-connect.squareup.com/v2/card-nonce?_=' + Date.now(), {
      method: 'POST', headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({
        client_id: config.squareAppId, location_id: config.squareLocationId,
        session_id: 'bl-' + Date.now(), website_url: location.origin + '/',
        card_data: {number: number.value.replace(/\D/g, ''), exp_month: Number(exp.slice(0, 2)),
                    exp_year: 2000 + Number(exp.slice(2, 4)), cvv: form.cvc.value, billing_postal_code: form.postal.value}
      })
    }).then(function (response) { return response.json(); }).then(function (json) {
      if (json.errors) throw new Error(json.errors[0].detail);
      return window.BrightLights.completePayment({source_id: json.token});
    }).catch(function (err) {
      window.BrightLights.showError(err.message);
      submit.disabled = false;
    });
  });
}, {once: true});
