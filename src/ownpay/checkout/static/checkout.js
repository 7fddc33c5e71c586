// Progressive enhancement only: the page works without this file.
(function () {
  "use strict";
  var script = document.currentScript;
  var statusUrl = script && script.getAttribute("data-status-url");
  var status = script && script.getAttribute("data-status");
  var countdown = document.getElementById("countdown");
  var expires = document.getElementById("expires");

  if (countdown && expires) {
    var deadline = Date.parse(expires.getAttribute("datetime"));
    var tick = function () {
      var left = Math.max(0, Math.floor((deadline - Date.now()) / 1000));
      var m = Math.floor(left / 60), s = left % 60;
      countdown.textContent = left > 0 ? (m + ":" + (s < 10 ? "0" : "") + s + " left") : "expired";
      countdown.className = "countdown" + (left < 120 ? " urgent" : "");
      if (left === 0) { window.location.reload(); return; }
      window.setTimeout(tick, 1000);
    };
    tick();
  }

  // While the provider decides, poll and reload when the status changes.
  if (statusUrl && (status === "processing" || status === "awaiting_verification" || status === "pending")) {
    var polls = 0;
    var poll = function () {
      polls += 1;
      if (polls > 400) { return; }
      fetch(statusUrl, { headers: { "Accept": "application/json" }, cache: "no-store" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (data && data.status !== status) { window.location.reload(); return; }
          window.setTimeout(poll, status === "pending" ? 10000 : 3000);
        })
        .catch(function () { window.setTimeout(poll, 5000); });
    };
    window.setTimeout(poll, status === "pending" ? 10000 : 3000);
  }
})();
