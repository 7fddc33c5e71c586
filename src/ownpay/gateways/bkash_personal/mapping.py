"""``bkash_personal``: "Send Money" (personal number) or "Cash Out" (agent number) in the
bKash app or *247#, with the order as the reference; bKash TrxIDs are 10 upper-case
letters and digits.

Pure data: the formats and steps (rules in :mod:`ownpay.gateways.personal`)."""

from __future__ import annotations

import re

from ownpay.gateways.personal import MOBILE, MOBILE_HINT, WalletSpec

SPEC = WalletSpec(
    slug="bkash_personal", brand="bKash", wallet_number=MOBILE, wallet_hint=MOBILE_HINT,
    trx_id=re.compile(r"[A-Z0-9]{10}"), trx_hint="10 letters and digits, e.g. BHQ4K8L2ZP",
    reference_supported=True,
    app_steps={
        "personal": ("Open the bKash app (or dial *247#) and choose Send Money.",
                     "Enter the number shown above and the exact amount.",
                     "Type the reference shown above, then confirm with your PIN.",
                     "bKash shows a TrxID: enter it here with the number you paid from."),
        "agent": ("Open the bKash app (or dial *247#) and choose Cash Out.",
                  "Enter the agent number shown above and the exact amount.",
                  "Confirm with your PIN.",
                  "bKash shows a TrxID: enter it here with the number you paid from."),
    })
