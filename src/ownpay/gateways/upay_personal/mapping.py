"""``upay_personal``: "Send Money" (personal) or "Cash Out" (agent) in the Upay app or
*268#, with the order as the reference; Upay TrxIDs are 8 to 12 letters and digits.

Pure data: the formats and steps (rules in :mod:`ownpay.gateways.personal`)."""

from __future__ import annotations

import re

from ownpay.gateways.personal import MOBILE, MOBILE_HINT, WalletSpec

SPEC = WalletSpec(
    slug="upay_personal", brand="Upay", wallet_number=MOBILE, wallet_hint=MOBILE_HINT,
    trx_id=re.compile(r"[A-Z0-9]{8,12}"), trx_hint="8 to 12 letters and digits, e.g. 01HK3M2N4P",
    reference_supported=True,
    app_steps={
        "personal": ("Open the Upay app (or dial *268#) and choose Send Money.",
                     "Enter the number shown above and the exact amount.",
                     "Type the reference shown above, then confirm with your PIN.",
                     "Upay shows a TrxID: enter it here with the number you paid from."),
        "agent": ("Open the Upay app (or dial *268#) and choose Cash Out.",
                  "Enter the agent number shown above and the exact amount.",
                  "Confirm with your PIN.",
                  "Upay shows a TrxID: enter it here with the number you paid from."),
    })
