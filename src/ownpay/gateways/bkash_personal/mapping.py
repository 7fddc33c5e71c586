"""``bkash_personal``: "Send Money" (personal number) or "Cash Out" (agent number) in the
bKash app or *247#, with the order as the reference; bKash TrxIDs are 10 upper-case
letters and digits.

Pure data: the formats and steps (rules in :mod:`ownpay.gateways.personal`)."""

from __future__ import annotations

import re

from ownpay.gateways.personal import MOBILE, MOBILE_HINT, WalletSpec, app_steps
from ownpay.i18n import N_

SPEC = WalletSpec(
    slug="bkash_personal", brand="bKash",
    display_name=N_("bKash (personal)"), wallet_number=MOBILE, wallet_hint=MOBILE_HINT,
    trx_id=re.compile(r"[A-Z0-9]{10}"),
    trx_hint=N_("10 letters and digits, e.g. BHQ4K8L2ZP"),
    reference_supported=True, sms_provider='bkash',
    app_steps=app_steps("bKash", "*247#", "TrxID", reference=True))
