/*!
 * PayPal JavaScript SDK, as emulated by the card-audit demo world.
 * Surface per https://developer.paypal.com/sdk/js/reference/ :
 *   paypal.Buttons({createOrder, onApprove, onCancel, onError}).render('#paypal-buttons')
 *   const cardFields = paypal.CardFields({createOrder, onApprove, onError});
 *   cardFields.NumberField().render('#card-number'); ... cardFields.submit();
 * Buttons and card fields are www.paypal.com frames; "Debit or Credit Card" opens a
 * www.paypal.com popup. The card never passes through this script.
 */
(function () {
  'use strict';
  var ORIGIN = 'https://www.paypal.com';
  var CLIENT_ID = '$client_id';
  var COMPONENTS = '$components'.split(',');

  function uid() { return 'uid_' + Math.random().toString(36).slice(2, 12); }
  // The SDK's event logger (beaver-logger) posts to www.paypal.com/xoplatform/logger/api/logger
  // from the merchant's page; EasyPrivacy's `||paypal.com/xoplatform/logger/api/logger` stops it.
  function log(event, extra) {
    try {
      fetch(ORIGIN + '/xoplatform/logger/api/logger', {method: 'POST', keepalive: true,
        headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({events: [Object.assign({level: 'info', event: event, timestamp: Date.now(),
          client_id: CLIENT_ID, page: window.location.origin + window.location.pathname}, extra || {})], meta: {},
          tracking: [{feed_name: 'payments_sdk', comp: COMPONENTS.join(',')}]})}).catch(function () {});
    } catch (e) {}
  }
  log('sdk_load');
  function query(obj) { return new URLSearchParams(obj).toString(); }
  function frame(src, name, title, height) {
    var f = document.createElement('iframe');
    f.name = name;
    f.title = title;
    f.src = src;
    f.setAttribute('allowpaymentrequest', 'allowpaymentrequest');
    f.setAttribute('scrolling', 'no');
    f.style.border = 'none';
    f.style.width = '100%';
    f.style.height = height;
    f.style.display = 'block';
    return f;
  }
  function containerOf(target) {
    var el = typeof target === 'string' ? document.querySelector(target) : target;
    if (!el) throw new Error('Document is ready and element ' + target + ' does not exist');
    return el;
  }
  // Listen for one component's frames: same origin, same uid.
  function listen(id, handler) {
    window.addEventListener('message', function (event) {
      if (event.origin === ORIGIN && event.data && event.data.uid === id) handler(event.data, event.source);
    });
  }
  function callCreateOrder(options, data) {
    if (typeof options.createOrder !== 'function') return Promise.reject(new Error('Expected createOrder'));
    return Promise.resolve(options.createOrder(data, {order: {}}));
  }
  function fail(options, err) {
    if (typeof options.onError === 'function') options.onError(err);
    else console.error(err);
  }

  function Buttons(options) {
    options = options || {};
    var id = uid();
    return {
      isEligible: function () { return true; },
      render: function (target) {
        var container = containerOf(target);
        var src = ORIGIN + '/smart/buttons?' + query({'client-id': CLIENT_ID, uid: id, env: 'production',
          layout: (options.style && options.style.layout) || 'vertical'}) + '#' + query({origin: window.location.origin});
        var f = frame(src, '__zoid__paypal_buttons__' + id, 'PayPal', '112px');
        f.className = 'component-frame visible';
        container.appendChild(f);
        listen(id, function (msg, source) {
          if (msg.type === 'createOrder') {
            callCreateOrder(options, {paymentSource: msg.fundingSource}).then(function (orderID) {
              source.postMessage({type: 'orderCreated', orderID: orderID}, ORIGIN);
            }, function (err) {
              source.postMessage({type: 'orderFailed'}, ORIGIN);
              fail(options, err);
            });
          } else if (msg.type === 'approve') {
            Promise.resolve(options.onApprove && options.onApprove({orderID: msg.orderID, paymentSource: msg.fundingSource,
                                                                    facilitatorAccessToken: 'A21AA_demo'}, {}))
              .catch(function (err) { fail(options, err); });
          } else if (msg.type === 'cancel') {
            if (typeof options.onCancel === 'function') options.onCancel({orderID: msg.orderID});
          } else if (msg.type === 'error') {
            fail(options, new Error(msg.message));
          }
        });
        return Promise.resolve();
      }
    };
  }

  function CardFields(options) {
    options = options || {};
    var id = uid();
    var numberFrame = null;
    var pending = null;
    listen(id, function (msg) {
      if (!pending) return;
      if (msg.type === 'approved') { pending.resolve(msg); pending = null; }
      else if (msg.type === 'error') { pending.reject(new Error(msg.message)); pending = null; }
    });
    function field(type, title, height) {
      return function (fieldOptions) {
        return {
          render: function (target) {
            var src = ORIGIN + '/smart/card-field?' + query({type: type, uid: id, 'client-id': CLIENT_ID}) +
                      '#' + query({origin: window.location.origin, placeholder: (fieldOptions && fieldOptions.placeholder) || ''});
            var f = frame(src, 'paypal-card-field-' + id + '-' + type, title, height || '44px');
            f.className = 'card-field-frame';
            containerOf(target).appendChild(f);
            if (type === 'number') numberFrame = f;
            return Promise.resolve();
          }
        };
      };
    }
    return {
      isEligible: function () { return true; },
      NumberField: field('number', 'paypal_card_number_field'),
      ExpiryField: field('expiry', 'paypal_card_expiry_field'),
      CVVField: field('cvv', 'paypal_card_cvv_field'),
      NameField: field('name', 'paypal_card_name_field'),
      submit: function (data) {
        if (!numberFrame) return Promise.reject(new Error('Render the NumberField before submit()'));
        return callCreateOrder(options, {paymentSource: 'card'}).then(function (orderID) {
          return new Promise(function (resolve, reject) {
            pending = {resolve: resolve, reject: reject};
            numberFrame.contentWindow.postMessage({type: 'submit', orderID: orderID, uid: id,
                                                   billingAddress: (data && data.billingAddress) || null}, ORIGIN);
          });
        }).then(function (msg) {
          return options.onApprove && options.onApprove({orderID: msg.orderID, liabilityShift: 'NO'});
        }).catch(function (err) { fail(options, err); throw err; });
      }
    };
  }

  var paypal = {version: '5.0.465-demo', FUNDING: {PAYPAL: 'paypal', CARD: 'card'}};
  if (COMPONENTS.indexOf('buttons') >= 0) paypal.Buttons = Buttons;
  if (COMPONENTS.indexOf('card-fields') >= 0) paypal.CardFields = CardFields;
  window.paypal = paypal;
})();
