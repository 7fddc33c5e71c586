"""``rocket_personal``: "Send Money" (personal) or "Cash Out" (agent) by *322# or the
Rocket app.  Rocket accounts are 12 digits (the mobile number and a check digit); its
TxnIds are digits only; a transfer carries no reference.

Pure data: the formats and steps (rules in :mod:`ownpay.gateways.personal`)."""

from __future__ import annotations

import re

from ownpay.gateways.personal import WalletSpec, app_steps
from ownpay.i18n import N_

SPEC = WalletSpec(
    slug="rocket_personal", brand="Rocket",
    display_name=N_("Rocket (personal)"), wallet_number=re.compile(r"01[3-9]\d{9}"),
    wallet_hint=N_("12 digits: the mobile number and its check digit"),
    trx_id=re.compile(r"\d{8,12}"),
    trx_hint=N_("8 to 12 digits, e.g. 1234567890"),
    reference_supported=False, sms_provider='rocket',
    app_steps=app_steps("Rocket", "*322#", "TxnId", reference=False, account="account"))
