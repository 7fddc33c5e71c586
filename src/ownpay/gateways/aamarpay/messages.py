"""What a customer reads for each aamarPay outcome.  The precise status (``pay_status``,
``status_code``, aamarPay's own title) always goes into the status history; these sentences
are what the checkout page shows.  They say what happened, never whether money was taken
(the page adds that part itself).  Pure data."""

from __future__ import annotations

from ownpay.i18n import N_

MERCHANT_SIDE = (
    N_("aamarPay is not available for this shop right now. "
    "Please choose another way to pay or contact the merchant.")
)
GENERIC = N_("aamarPay could not complete the payment. Please try again or choose another method.")
NOT_COMPLETED = N_("The aamarPay payment did not go through.")
DECLINED = N_("The payment was declined at aamarPay. Please try again or use another method.")
CANCELLED = N_("You cancelled the aamarPay payment.")
NOT_CONFIRMED = (
    N_("aamarPay has not confirmed the payment. Please try again or choose another method.")
)
TEMPORARY = N_("aamarPay is temporarily unavailable. Please try again in a few minutes.")
CURRENCY = N_("aamarPay accepts payments in Bangladeshi taka (BDT) and US dollars (USD) only.")
NEEDS_PHONE = (
    N_("aamarPay needs the customer's phone number for this payment. "
    "Please contact the merchant.")
)
