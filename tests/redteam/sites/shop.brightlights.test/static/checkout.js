// The merchant's own checkout script (Stripe.js v2 style tokenisation, https://docs.stripe.com/api/tokens):
// the card goes to api.stripe.com only, then the receipt shows brand and last four.
(function () {
  'use strict';
  var form = document.getElementById('checkout');
  var value = function (id) { return document.getElementById(id).value; };
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var exp = value('cc-exp').split('/');
    var body = new URLSearchParams({
      'card[number]': value('cc-number').replace(/\D/g, ''), 'card[exp_month]': (exp[0] || '').trim(),
      'card[exp_year]': (exp[1] || '').trim(), 'card[cvc]': value('cc-csc'), key: 'pk_test_brightlights'
    });
    fetch('https://api.stripe.com/v1/tokens', {method: 'POST', body: body})
      .then(function (r) { return r.json(); })
      .then(function (token) {
        var card = token.card || {};
        var receipt = document.getElementById('receipt');
        receipt.textContent = 'Payment received: ' + (card.brand || 'Card') + ' \u2022\u2022\u2022\u2022 ' + (card.last4 || '');
        receipt.hidden = false;
        form.hidden = true;
      });
  });
})();
