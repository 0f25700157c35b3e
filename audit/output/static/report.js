/* The report's only script: filter requests by text and party, expand everything for printing.
   Inlined at render time and allowed by its hash in the page's CSP. It reads the page's own DOM
   and writes nothing but `hidden`, `open` and one count: no HTML is ever built from text. */
(function () {
  "use strict";
  var bar = document.getElementById("request-filters");
  if (!bar) { return; }
  var box = document.getElementById("filter-text");
  var party = document.getElementById("filter-party");
  var count = document.getElementById("filter-count");
  var groups = Array.prototype.slice.call(document.querySelectorAll(".host-group"));

  function apply() {
    var query = box.value.trim().toLowerCase();
    var wanted = party.value;
    var shown = 0;
    groups.forEach(function (group) {
      var partyOk = !wanted || group.getAttribute("data-party") === wanted ||
        (wanted === "blocked" && group.getAttribute("data-blocked") === "1") ||
        (wanted === "card" && group.getAttribute("data-card") === "1");
      var host = (group.getAttribute("data-host") || "").toLowerCase();
      var inGroup = 0;
      group.querySelectorAll("tbody.req").forEach(function (row) {
        var ok = partyOk && (!query || host.indexOf(query) !== -1 ||
          row.textContent.toLowerCase().indexOf(query) !== -1);
        row.hidden = !ok;
        if (ok) { inGroup += 1; }
      });
      group.hidden = inGroup === 0;
      shown += inGroup;
    });
    count.textContent = shown + " shown";
  }

  box.addEventListener("input", apply);
  party.addEventListener("change", apply);
  bar.hidden = false;  // without this script the filters are useless, so they start hidden
  apply();

  window.addEventListener("beforeprint", function () {
    box.value = "";
    party.value = "";
    apply();
    document.querySelectorAll("details").forEach(function (d) { d.open = true; });
  });
})();
