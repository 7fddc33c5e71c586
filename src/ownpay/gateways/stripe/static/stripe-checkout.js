// Card payments with Stripe.js Elements on our own checkout page.
//
// Loaded (with the page's CSP nonce) right after Stripe.js.  The browser only asks Stripe to
// confirm the PaymentIntent -- Stripe.js runs 3-D Secure itself when the bank wants it --
// and then goes to our return URL, where the server retrieves the PaymentIntent from Stripe
// and decides.  Nothing this script says can mark a payment as paid.
(function () {
  "use strict";
  var form = document.getElementById("stripe-card-form");
  if (!form) { return; }
  var errors = document.getElementById("card-errors");
  var button = document.getElementById("card-submit");
  var statusLine = document.getElementById("card-status");
  var mount = document.getElementById("card-element");
  // The page's words come in data- attributes, in the customer's language (checkout.html).
  function said(name, english) { return form.getAttribute("data-msg-" + name) || english; }
  var GENERIC = said("generic", "Your card could not be charged. Please try again or use another card.");

  function showError(message) {
    errors.textContent = message || GENERIC;
    mount.classList.add("invalid");
  }

  function clearError() {
    errors.textContent = "";
    mount.classList.remove("invalid");
  }

  if (typeof window.Stripe !== "function") {
    showError(said("unloaded", "The card form could not be loaded. Please check your connection and reload the page."));
    return;
  }

  var stripe = window.Stripe(form.getAttribute("data-publishable-key"));
  var card = stripe.elements().create("card", {
    style: { base: { fontSize: "16px", color: "#111827" }, invalid: { color: "#b91c1c" } }
  });
  card.mount(mount);
  card.on("change", function (event) {
    if (event && event.error) { showError(event.error.message); } else { clearError(); }
  });
  card.on("focus", function () { mount.classList.add("focused"); });
  card.on("blur", function () { mount.classList.remove("focused"); });
  button.disabled = false;

  var busy = false;

  function ready() {
    busy = false;
    button.disabled = false;
    statusLine.textContent = "";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (busy) { return; }
    busy = true;
    button.disabled = true;
    clearError();
    statusLine.textContent = said("processing", "Processing your payment\u2026");
    var billing = {};
    if (form.getAttribute("data-customer-name")) { billing.name = form.getAttribute("data-customer-name"); }
    if (form.getAttribute("data-customer-email")) { billing.email = form.getAttribute("data-customer-email"); }
    stripe.confirmCardPayment(form.getAttribute("data-client-secret"), {
      payment_method: { card: card, billing_details: billing }
    }).then(function (result) {
      if (result.error) {
        // A decline or a failed 3-D Secure check: the same payment takes another card.
        ready();
        showError(result.error.message);
        errors.focus();
        return;
      }
      statusLine.textContent = "Confirming your payment\u2026";
      var id = result.paymentIntent && result.paymentIntent.id;
      window.location.assign(form.getAttribute("data-return-url") +
        (id ? "?payment_intent=" + encodeURIComponent(id) : ""));
    }, function () {
      ready();
      showError(GENERIC);
    });
  });
})();
