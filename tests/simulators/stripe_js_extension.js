// Test-only: appended to localstripe's Stripe.js mock by tests/simulators/stripe.py.
//
// localstripe's confirmCardPayment can only finish 3-D Secure for a PaymentIntent that
// already has a card.  Real Stripe.js confirms with the card Element's details, runs 3-D
// Secure when the bank asks for it, and resolves to {paymentIntent} or {error}.  This does
// the same against the stand-in (card -> /js.stripe.com/v3/_confirm/{id}; 3-D Secure ->
// localstripe's own modal and /_authenticate route).
(function () {
  var mockStripe = Stripe;

  async function post(url, body) {
    var response = await fetch(url, { method: "POST", body: body });
    var result = await response.json().catch(function () { return {}; });
    return { ok: response.ok && !result.error, result: result };
  }

  Stripe = function (apiKey) {
    var stripe = mockStripe(apiKey);
    stripe.confirmCardPayment = async function (clientSecret, data) {
      var pi = clientSecret.split("_secret_")[0];
      var method = (data && data.payment_method) || {};
      var card = method.card && method.card.value && method.card.value.card;
      if (!card || !card.number || card.number.length !== 16) {
        return { error: { type: "validation_error", code: "incomplete_number",
                          message: "Your card number is incomplete." } };
      }
      var form = new URLSearchParams();
      form.append("key", apiKey);
      form.append("client_secret", clientSecret);
      ["number", "exp_month", "exp_year", "cvc"].forEach(function (field) {
        form.append("card[" + field + "]", card[field]);
      });
      var billing = method.billing_details || {};
      Object.keys(billing).forEach(function (field) {
        form.append("billing_details[" + field + "]", billing[field]);
      });
      var step = await post(LOCALSTRIPE_BASE_API + "/js.stripe.com/v3/_confirm/" + pi, form);
      if (!step.ok) {
        return { error: step.result.error || { message: "Your card could not be charged." } };
      }
      if (step.result.status === "requires_action") {
        var success = await openModal("3D Secure\nDo you want to confirm or cancel?",
                                      "Complete authentication", "Fail authentication");
        step = await post(LOCALSTRIPE_BASE_API + "/v1/payment_intents/" + pi +
                          "/_authenticate?success=" + success,
                          JSON.stringify({ key: apiKey, client_secret: clientSecret }));
        if (!step.ok) {
          return { error: step.result.error || { message: "Authentication failed." } };
        }
        if (step.result.status === "requires_payment_method") {
          return { error: { type: "card_error", code: "payment_intent_authentication_failure",
                            message: "We are unable to authenticate your payment method. " +
                                     "Please choose a different payment method and try again.",
                            payment_intent: step.result } };
        }
      }
      return { paymentIntent: step.result };
    };
    return stripe;
  };
})();
