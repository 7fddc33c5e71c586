// Razorpay Standard Checkout on our own checkout page.
//
// Loaded (with the page's CSP nonce) right after Razorpay's Checkout.js.  It opens
// Razorpay's form for the order the server created; on success it posts Checkout.js's
// handler fields (razorpay_payment_id, razorpay_order_id, razorpay_signature) to our
// provider-return route, where the server checks the signature and asks Razorpay.  Nothing
// this script says can mark a payment as paid.
(function () {
  "use strict";
  var form = document.getElementById("razorpay-form");
  if (!form) { return; }
  var button = document.getElementById("razorpay-pay");
  var statusLine = document.getElementById("razorpay-status");
  var errors = document.getElementById("razorpay-errors");

  function data(name) { return form.getAttribute("data-" + name) || ""; }

  if (typeof window.Razorpay !== "function") {
    errors.textContent = data("msg-unloaded") || "Razorpay's payment form could not be loaded. Please check your connection and reload the page.";
    return;
  }

  var sent = false;
  var options = {
    key: data("key"),
    order_id: data("order-id"),
    amount: parseInt(data("amount"), 10),
    currency: data("currency"),
    name: data("name"),
    description: data("description"),
    prefill: { name: data("prefill-name"), email: data("prefill-email"), contact: data("prefill-contact") },
    timeout: parseInt(data("timeout"), 10) || undefined,
    handler: function (response) {
      if (sent) { return; }
      sent = true;
      form.elements.razorpay_payment_id.value = response.razorpay_payment_id || "";
      form.elements.razorpay_order_id.value = response.razorpay_order_id || "";
      form.elements.razorpay_signature.value = response.razorpay_signature || "";
      button.disabled = true;
      errors.textContent = "";
      statusLine.textContent = data("msg-confirming") || "Confirming your payment with Razorpay\u2026";
      form.submit();
    },
    modal: {
      ondismiss: function () {
        if (sent) { return; }
        button.disabled = false;
        statusLine.textContent = data("msg-closed") || "You closed Razorpay's form before paying. You can open it again.";
      }
    }
  };
  if (data("color")) { options.theme = { color: data("color") }; }
  var checkout = new window.Razorpay(options);
  if (typeof checkout.on === "function") {
    checkout.on("payment.failed", function (response) {
      var error = response && response.error;
      errors.textContent = (error && error.description) ? error.description + " " + (data("msg-try-again") || "You can try again.") :
        (data("msg-failed") || "The payment did not go through. You can try again.");
    });
  }
  button.addEventListener("click", function () {
    if (sent) { return; }
    button.disabled = true;
    errors.textContent = "";
    statusLine.textContent = "";
    checkout.open();
  });
  button.disabled = false;
})();
