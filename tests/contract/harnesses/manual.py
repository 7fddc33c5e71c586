"""``manual``: offline money.  No provider to call and no provider statuses; a submission
is a claim that waits for an operator, and a refund is made offline by the merchant."""

from __future__ import annotations

from ownpay.gateways.base import GatewayContext, PaymentView, VerifiedResult
from tests.contract.harnesses.base import Harness


class ManualHarness(Harness):
    slug = "manual"
    failure_reasons = ("rejected by operator", "no such transfer")
    completes_itself = False
    talks_http = False

    async def pay(self, ctx: GatewayContext, payment: PaymentView, *,
                  tamper: str | None = None) -> list[VerifiedResult]:
        assert tamper is None, "no provider reports manual payments"
        claim = {"sender_account": "01770618575", "provider_txn_id": "nj7x" + payment.order_id}
        return [await self.gateway.submit(ctx, payment, claim)]


HARNESS = ManualHarness
