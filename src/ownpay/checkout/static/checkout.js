// Progressive enhancement only: the page works without this file.
(function () {
  "use strict";
  var script = document.currentScript;
  var statusUrl = script && script.getAttribute("data-status-url");
  var status = script && script.getAttribute("data-status");
  var countdown = document.getElementById("countdown");
  // The page's language: its words come in data- attributes (checkout/templates/_script.html),
  // dates and digits from the browser's Intl for that locale (bn-BD: Bengali digits).
  // English (no data-locale): the browser's own formats, as always.
  var locale = (script && script.getAttribute("data-locale")) || [];
  var words = {
    left: (script && script.getAttribute("data-left")) || "{time} left",
    expiring: (script && script.getAttribute("data-expiring")) || "expiring…",
    today: (script && script.getAttribute("data-today")) || "today"
  };
  var digits = null;
  try {
    if (!locale.length) { throw new Error("the browser's own digits"); }
    var zero = new Intl.NumberFormat(locale).format(0);
    if (zero !== "0") {
      digits = [];
      for (var d = 0; d < 10; d++) { digits.push(new Intl.NumberFormat(locale).format(d)); }
    }
  } catch (e) { digits = null; }

  function native(text) {
    if (!digits) { return text; }
    return text.replace(/[0-9]/g, function (c) { return digits[+c]; });
  }
  var expires = document.getElementById("expires");
  // The server's clock minus this device's, learnt from the Date header of our own status
  // answers: a phone whose clock is off must neither show a wrong countdown nor believe
  // the link expired while the server still accepts payment.
  var skew = 0;

  function now() { return Date.now() + skew; }

  // The expiry in the customer's own time zone; the element's title keeps the UTC time.
  function localExpiry() {
    var at = new Date(expires.getAttribute("datetime"));
    if (isNaN(at.getTime()) || !at.toLocaleTimeString) { return; }
    var time = at.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" });
    var isToday = at.toDateString() === new Date().toDateString();
    var day = isToday ? words.today
      : at.toLocaleDateString(locale, { weekday: "short", day: "numeric", month: "short" });
    var parts = [time, day];
    while (expires.firstChild) { expires.removeChild(expires.firstChild); }
    for (var i = 0; i < parts.length; i++) {
      var piece = document.createElement("span");
      piece.className = "nowrap";
      piece.textContent = parts[i];
      if (i > 0) { expires.appendChild(document.createTextNode(i === 1 && !isToday ? ", " : " ")); }
      expires.appendChild(piece);
    }
    expires.setAttribute("data-local", "true");
  }

  function fetchStatus() {
    return fetch(statusUrl, { headers: { "Accept": "application/json" }, cache: "no-store" })
      .then(function (r) {
        var serverTime = Date.parse(r.headers.get("Date") || "");
        if (!isNaN(serverTime)) { skew = serverTime - Date.now(); }
        return r.ok ? r.json() : null;
      });
  }

  // Reload only when the server says the status changed (never on the local clock alone).
  // Paid meanwhile (the provider confirmed, an operator approved): back to the merchant at
  // once, exactly as after a payment confirmed on the spot.
  function reloadOnChange(nextDelay, attemptsLeft) {
    if (!statusUrl || attemptsLeft <= 0) { return; }
    fetchStatus()
      .then(function (data) {
        if (data && data.status !== status) {
          if (data.status === "completed" && data.return_url) {
            window.location.replace(data.return_url);
          } else {
            window.location.reload();
          }
          return;
        }
        window.setTimeout(function () { reloadOnChange(nextDelay, attemptsLeft - 1); }, nextDelay);
      })
      .catch(function () {
        window.setTimeout(function () { reloadOnChange(nextDelay, attemptsLeft - 1); }, 5000);
      });
  }

  if (expires) { localExpiry(); }

  if (countdown && expires) {
    var deadline = Date.parse(expires.getAttribute("datetime"));
    var tick = function () {
      var left = Math.max(0, Math.floor((deadline - now()) / 1000));
      var m = Math.floor(left / 60), s = left % 60;
      countdown.textContent = left > 0
        ? words.left.replace("{time}", native(m + ":" + (s < 10 ? "0" : "") + s)) : words.expiring;
      countdown.className = "countdown" + (left < 120 ? " urgent" : "");
      if (left === 0) { reloadOnChange(2000, 450); return; }
      window.setTimeout(tick, 1000);
    };
    if (statusUrl) {
      // Learn the clock skew first; a failed request leaves the device's clock in charge.
      fetchStatus().then(tick, tick);
    } else {
      tick();
    }
  }

  // While the provider (or an operator) decides, poll and reload when the status changes.
  if (statusUrl && (status === "processing" || status === "awaiting_verification" || status === "pending")) {
    var delay = status === "pending" ? 10000 : 3000;
    window.setTimeout(function () { reloadOnChange(delay, 400); }, delay);
  }
})();
