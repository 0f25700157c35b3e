/*!
 * Stripe.js v2 (legacy), as emulated by the card-audit demo world.
 * Stripe.setPublishableKey(pk); Stripe.card.createToken(card, callback(status, response)).
 * With v2 the card inputs are the merchant's own: the card number passes through the merchant
 * page before it reaches api.stripe.com, which is why Stripe replaced it with Elements.
 */
(function () {
  'use strict';
  var API = 'https://api.stripe.com';
  var Stripe = {version: 2, key: null, card: {}};
  Stripe.setPublishableKey = function (key) { Stripe.key = key; };

  function digits(value) { return String(value || '').replace(/\D/g, ''); }
  Stripe.card.validateCardNumber = function (value) {
    var d = digits(value), sum = 0;
    for (var i = 0; i < d.length; i++) {
      var n = Number(d[d.length - 1 - i]);
      if (i % 2) { n *= 2; if (n > 9) n -= 9; }
      sum += n;
    }
    return d.length >= 12 && sum % 10 === 0;
  };
  Stripe.card.cardType = function (value) {
    var d = digits(value);
    return /^4/.test(d) ? 'Visa' : /^3[47]/.test(d) ? 'American Express' : /^(5[1-5]|2[2-7])/.test(d) ? 'MasterCard' : /^6/.test(d) ? 'Discover' : 'Unknown';
  };

  Stripe.card.createToken = function (card, callback) {
    var exp = card.exp ? digits(card.exp) : null;
    var body = new URLSearchParams();
    body.append('card[number]', digits(card.number));
    body.append('card[cvc]', digits(card.cvc));
    body.append('card[exp_month]', exp ? exp.slice(0, 2) : String(card.exp_month));
    body.append('card[exp_year]', exp ? exp.slice(2) : String(card.exp_year));
    if (card.name) body.append('card[name]', card.name);
    if (card.address_zip) body.append('card[address_zip]', card.address_zip);
    body.append('key', Stripe.key);
    body.append('payment_user_agent', 'stripe.js/v2');
    fetch(API + '/v1/tokens', {method: 'POST', body: body})
      .then(function (response) {
        return response.json().then(function (json) { callback(response.status, json); });
      })
      .catch(function (err) { callback(0, {error: {type: 'api_connection_error', message: String(err)}}); });
  };

  window.Stripe = Stripe;
})();
