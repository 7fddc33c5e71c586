"""``sandbox``: its own provider.  The developer's button is the provider's answer, so the
stand-in is the adapter itself; it can never report a payment other than the one asked
about (no tamperings), and its refunds are the records it keeps in the state store."""

from __future__ import annotations

from dataclasses import replace

from ownpay.gateways.base import (
    GatewayContext,
    MemoryStateStore,
    Outcome,
    PaymentView,
    VerifiedResult,
)
from ownpay.gateways.sandbox.mapping import SandboxChoice, choice_outcome
from tests.contract.harnesses.base import Harness, Probe


class SandboxHarness(Harness):
    slug = "sandbox"
    failure_reasons = ("sandbox: customer chose failure (card_declined)",)
    probes = (Probe(SandboxChoice, choice_outcome, frozenset({SandboxChoice.SUCCEED})),)
    talks_http = False

    async def pay(self, ctx: GatewayContext, payment: PaymentView, *,
                  tamper: str | None = None) -> list[VerifiedResult]:
        assert tamper is None, "the sandbox cannot report another payment"
        chosen = await self.gateway.submit(ctx, payment, {"outcome": "succeed"})
        left = await self.gateway.submit(ctx, payment, {"outcome": "processing"})
        assert left.outcome is Outcome.PROCESSING
        processing = replace(payment, status="processing",
                             provider_reference=left.provider_reference)
        settled = await self.gateway.query_status(ctx, processing)
        return [chosen, settled]

    async def money_refunded(self, ctx: GatewayContext, payment: PaymentView) -> int | None:
        store = ctx.store
        assert isinstance(store, MemoryStateStore)
        return sum(int(r["amount_minor"]) for key, r in store.data.items()
                   if key.startswith("refund:") and r["transaction_id"] == payment.transaction_id)


HARNESS = SandboxHarness
