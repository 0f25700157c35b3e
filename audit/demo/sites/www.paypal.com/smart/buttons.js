/*!
 * PayPal smart buttons frame (card-audit demo emulation). Runs on https://www.paypal.com.
 * A click opens the checkout popup at once (inside the user gesture, so no popup blocker stops
 * it), asks the merchant page for an order id, then points the popup at /checkoutnow.
 */
(function () {
  'use strict';
  var ORIGIN = 'https://www.paypal.com';
  var params = new URLSearchParams(window.location.search);
  var id = params.get('uid');
  var parentOrigin = new URLSearchParams(window.location.hash.slice(1)).get('origin');
  var popup = null, fundingSource = null, orderID = null, approved = false;

  function toParent(message) { message.uid = id; window.parent.postMessage(message, parentOrigin); }

  document.querySelectorAll('.paypal-button').forEach(function (button) {
    button.addEventListener('click', function () {
      fundingSource = button.getAttribute('data-funding-source');
      popup = window.open('', 'PPFrame' + id, 'width=450,height=640,left=200,top=80,resizable=yes,scrollbars=yes');
      if (!popup) { toParent({type: 'error', message: 'Popup blocked'}); return; }
      popup.document.title = 'PayPal Checkout';
      popup.document.body.textContent = 'Loading PayPal Checkout...';
      approved = false;
      toParent({type: 'createOrder', fundingSource: fundingSource});
      watch(popup);
    });
  });

  function watch(win) {
    var timer = setInterval(function () {
      if (!win.closed) return;
      clearInterval(timer);
      if (!approved) toParent({type: 'cancel', orderID: orderID});
    }, 300);
  }

  window.addEventListener('message', function (event) {
    var msg = event.data;
    if (!msg) return;
    if (event.origin === parentOrigin && msg.type === 'orderCreated' && popup) {
      orderID = msg.orderID;
      popup.location.href = ORIGIN + '/checkoutnow?' + new URLSearchParams({
        token: orderID, fundingSource: fundingSource, sessionID: id, buttonSessionID: id, env: 'production'
      }).toString();
    } else if (event.origin === parentOrigin && msg.type === 'orderFailed' && popup) {
      popup.close();
    } else if (event.origin === ORIGIN && event.source === popup && msg.type === 'approved') {
      approved = true;
      toParent({type: 'approve', orderID: msg.orderID, fundingSource: fundingSource});
    }
  });

  // FraudNet pixel: device data only. EasyPrivacy's `||c.paypal.com^$image,script` stops it.
  new Image().src = 'https://c.paypal.com/v1/r/d/i?' + new URLSearchParams({f: id, s: 'SMART_PAYMENT_BUTTONS'}).toString();
  // FraudNet: device data only (https://developer.paypal.com/limited-release/fraudnet/).
  fetch('https://c.paypal.com/v1/r/d/b/p1', {method: 'POST', keepalive: true,
    body: JSON.stringify({f: id, s: 'SMART_PAYMENT_BUTTONS', l: navigator.language, w: screen.width, h: screen.height})})
    .catch(function () {});
})();
