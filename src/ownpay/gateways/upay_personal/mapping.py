"""``upay_personal``: "Send Money" (personal) or "Cash Out" (agent) in the Upay app or
*268#, with the order as the reference; Upay TrxIDs are 8 to 12 letters and digits.

Pure data: the formats and steps (rules in :mod:`ownpay.gateways.personal`)."""

from __future__ import annotations

import re

from ownpay.gateways.personal import MOBILE, MOBILE_HINT, WalletSpec, app_steps
from ownpay.i18n import N_

SPEC = WalletSpec(
    slug="upay_personal", brand="Upay",
    display_name=N_("Upay (personal)"), wallet_number=MOBILE, wallet_hint=MOBILE_HINT,
    trx_id=re.compile(r"[A-Z0-9]{8,12}"),
    trx_hint=N_("8 to 12 letters and digits, e.g. 01HK3M2N4P"),
    reference_supported=True, sms_provider='upay',
    app_steps=app_steps("Upay", "*268#", "TrxID", reference=True))
