"""What a customer reads for each Nagad outcome.  The precise status (Nagad's ``status``,
``statusCode`` or refusal ``reason``) always goes into the status history; these sentences
are what the checkout page shows.  They say what happened, never whether money was taken
(the page adds that part itself).  Pure data."""

from __future__ import annotations

from ownpay.i18n import N_

CANCELLED = N_("You cancelled the Nagad payment.")
DECLINED = N_("Nagad declined the payment. Please try again or choose another method.")
NOT_CONFIRMED = N_(
    "Nagad has not confirmed the payment. Please try again or choose another method.")
GENERIC = N_("Nagad could not complete the payment. Please try again or choose another method.")
MERCHANT_SIDE = (
    N_("Nagad is not available for this shop right now. "
    "Please choose another way to pay or contact the merchant.")
)
