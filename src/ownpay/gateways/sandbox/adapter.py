"""``sandbox``: a test-mode-only gateway that lets merchants drive every branch.

The customer (really: the merchant's developer) picks the outcome with a button.  A payment
left ``processing`` is settled as succeeded by the worker's reconciliation, so the
"provider confirms later" path can be exercised too.  What each choice means is
``mapping`` (pure); this module holds the refunds, recorded in the account's state store.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from ownpay.gateways.base import (
    CheckoutView,
    CredentialCheck,
    FormError,
    Gateway,
    GatewayContext,
    Outcome,
    PaymentView,
    RefundResult,
    VerifiedResult,
)
from ownpay.gateways.sandbox import mapping
from ownpay.i18n import N_


class SandboxGateway(Gateway):
    slug = "sandbox"
    display_name = N_("Sandbox (test payments)")  # translated where customers read it
    templates = Path(__file__).parent / "templates"
    modes: ClassVar[frozenset[str]] = frozenset({"test"})
    supports_refunds = True
    supports_refund_query = True
    idempotent_refunds = True
    supports_status_query = True

    async def check_credentials(self, ctx: GatewayContext) -> CredentialCheck:
        return CredentialCheck(supported=True, ok=True,
                               message="The sandbox needs no credentials: it is ready.")

    async def start_checkout(self, ctx: GatewayContext, payment: PaymentView) -> CheckoutView:
        return CheckoutView(template="checkout.html")

    async def submit(
        self, ctx: GatewayContext, payment: PaymentView, form: Mapping[str, str]
    ) -> VerifiedResult:
        result = mapping.choice_result(form.get("outcome", ""), payment)
        if result is None:
            raise FormError({"outcome": ["Choose an outcome for this test payment."]})
        return result

    async def query_status(self, ctx: GatewayContext, payment: PaymentView) -> VerifiedResult:
        return mapping.settlement(payment)

    async def refund(
        self,
        ctx: GatewayContext,
        payment: PaymentView,
        *,
        amount_minor: int,
        refund_id: str,
        reason: str | None,
    ) -> RefundResult:
        """Succeeds at once.  Like a real provider with idempotency keys, the sandbox keeps
        its own record of each refund (in the account's shared state store), so a repeated
        request for the same refund id moves no more money; ``requests`` counts them."""
        key = _refund_key(refund_id)
        record = await ctx.store.get(key)
        if record is None:
            record = {"amount_minor": amount_minor, "currency": payment.currency,
                      "transaction_id": payment.transaction_id, "requests": 0}
        record["requests"] = int(record.get("requests", 0)) + 1
        await ctx.store.put(key, record)
        return RefundResult(outcome=Outcome.SUCCEEDED, provider_refund_id=f"sbx_{refund_id}")

    async def query_refund(
        self,
        ctx: GatewayContext,
        payment: PaymentView,
        *,
        refund_id: str,
        provider_refund_id: str | None,
    ) -> RefundResult:
        if await ctx.store.get(_refund_key(refund_id)) is None:
            return RefundResult(outcome=Outcome.UNKNOWN, reason="sandbox: no such refund")
        return RefundResult(outcome=Outcome.SUCCEEDED, provider_refund_id=f"sbx_{refund_id}")


def _refund_key(refund_id: str) -> str:
    return f"refund:{refund_id}"


ADAPTER = SandboxGateway()
