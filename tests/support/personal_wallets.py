"""The personal-wallet gateways' shared test pieces: the conformance harness (one module per
gateway in tests/contract/harnesses/ names it) and each provider's valid sample values."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from ownpay.gateways.base import GatewayContext, PaymentView, VerifiedResult
from tests.contract.harnesses.base import Harness

# slug -> (a wallet number, a sender number, a transaction id), each valid for the provider
SAMPLES: dict[str, tuple[str, str, str]] = {
    "bkash_personal": ("01712345678", "01812345678", "BHQ4K8L2ZP"),
    "nagad_personal": ("01912345678", "01612345678", "71ABCD9E"),
    "rocket_personal": ("017123456789", "018123456789", "1234567890"),
    "upay_personal": ("01512345678", "01312345678", "01HK3M2N4P"),
}


class PersonalHarness(Harness):
    """A submission is the customer's claim; an operator (or an SMS) decides."""

    slug: ClassVar[str]
    completes_itself = False
    talks_http = False
    failure_reasons = ("rejected by operator", "no such bKash transaction in the app")

    def settings(self) -> dict[str, Any]:
        return {"wallet_number": SAMPLES[self.slug][0]}

    def payment(self, **changes: Any) -> PaymentView:
        return replace(super().payment(currency="BDT", amount_minor=50000), **changes)

    async def pay(self, ctx: GatewayContext, payment: PaymentView, *,
                  tamper: str | None = None) -> list[VerifiedResult]:
        assert tamper is None, "no provider reports personal-wallet payments"
        _, sender, trx = SAMPLES[self.slug]
        return [await self.gateway.submit(ctx, payment, {"sender_number": sender,
                                                         "trx_id": trx.lower()})]
