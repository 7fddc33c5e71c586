"""``nagad_personal``: "Send Money" (personal) or "Cash Out" (agent) in the Nagad app or
*167#, with the order as the reference; Nagad's TxnIDs are 8 to 10 letters and digits.

Pure data: the formats and steps (rules in :mod:`ownpay.gateways.personal`)."""

from __future__ import annotations

import re

from ownpay.gateways.personal import MOBILE, MOBILE_HINT, WalletSpec, app_steps
from ownpay.i18n import N_

SPEC = WalletSpec(
    slug="nagad_personal", brand="Nagad",
    display_name=N_("Nagad (personal)"), wallet_number=MOBILE, wallet_hint=MOBILE_HINT,
    trx_id=re.compile(r"[A-Z0-9]{8,10}"),
    trx_hint=N_("8 to 10 letters and digits, e.g. 71ABCD9E"),
    reference_supported=True, sms_provider='nagad',
    app_steps=app_steps("Nagad", "*167#", "TxnID", reference=True))
