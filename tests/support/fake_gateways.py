"""Provider stand-ins for refund fault tests.

Each fake pays exactly like the sandbox (so payments go through the real checkout) and keeps
a provider-side record of every refund request it received, in ``BANK`` (test memory, which
outlives any request, like a real provider's books).  How a refund behaves is chosen by
words in its ``reason``:

- ``decline``      the provider refuses it (FAILED)
- ``processing``   accepted, settled later: set ``BANK[id]["settle"]`` to "succeeded"/"failed"
- ``lose-reply``   the money moves, but the answer is lost (GatewayError)
- ``lose-request`` the first request never arrives (GatewayError); later ones do
- ``hang``         the money moves and the call never returns (until cancelled)

A provider with ``idempotent_refunds`` moves money once per refund id however often it is
asked; one without it moves money again on every request it receives -- which is what the
core must never let happen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any, ClassVar

from ownpay.gateways import registry
from ownpay.gateways.base import GatewayContext, GatewayError, Outcome, PaymentView, RefundResult
from ownpay.gateways.sandbox.adapter import SandboxGateway

BANK: dict[str, dict[str, Any]] = {}
LOST: dict[str, int] = {}


class _Scripted(SandboxGateway):
    supports_refunds = True
    supports_refund_query: ClassVar[bool] = False
    idempotent_refunds: ClassVar[bool] = False

    async def refund(
        self, ctx: GatewayContext, payment: PaymentView, *, amount_minor: int, refund_id: str,
        reason: str | None,
    ) -> RefundResult:
        script = reason or ""
        if "lose-request" in script and LOST.get(refund_id, 0) == 0:
            LOST[refund_id] = 1
            raise GatewayError("connection reset before the request was sent")
        record = BANK.setdefault(refund_id, {"requests": 0, "executions": 0,
                                             "amount_minor": amount_minor, "state": None})
        record["requests"] += 1
        if record["state"] is not None and self.idempotent_refunds:
            return self._answer(refund_id, record)  # deduplicated by our refund id
        if "decline" in script:
            record["state"] = "failed"
            return RefundResult(outcome=Outcome.FAILED, reason="declined by the bank")
        record["executions"] += 1
        record["state"] = "processing" if "processing" in script else "succeeded"
        if "lose-reply" in script and record["requests"] == 1:
            raise GatewayError("read timeout")
        if "hang" in script:
            await asyncio.Event().wait()
        return self._answer(refund_id, record)

    @staticmethod
    def _answer(refund_id: str, record: dict[str, Any]) -> RefundResult:
        state = record.get("settle") or record["state"]
        provider_id = f"bank_{refund_id}"
        match state:
            case "succeeded":
                return RefundResult(outcome=Outcome.SUCCEEDED, provider_refund_id=provider_id)
            case "failed":
                return RefundResult(outcome=Outcome.FAILED, reason="declined by the bank")
            case _:
                return RefundResult(outcome=Outcome.PROCESSING, provider_refund_id=provider_id)

    async def query_refund(
        self, ctx: GatewayContext, payment: PaymentView, *, refund_id: str,
        provider_refund_id: str | None,
    ) -> RefundResult:
        if not self.supports_refund_query:
            return await super(SandboxGateway, self).query_refund(
                ctx, payment, refund_id=refund_id, provider_refund_id=provider_refund_id)
        record = BANK.get(refund_id)
        if record is None or record["state"] is None:
            return RefundResult(outcome=Outcome.UNKNOWN, reason="no such refund")
        return self._answer(refund_id, record)


class IdempotentQueryable(_Scripted):
    """Like Stripe: idempotency keys and a refund lookup."""

    slug = "fake-stripe-like"
    display_name = "Fake (idempotent, queryable)"
    supports_refund_query = True
    idempotent_refunds = True


class Blind(_Scripted):
    """Neither idempotent nor queryable: an unknown outcome needs a person."""

    slug = "fake-blind"
    display_name = "Fake (blind)"


class IdempotentBlind(_Scripted):
    """Idempotent, but cannot be asked: an unknown outcome is re-sent."""

    slug = "fake-idem-blind"
    display_name = "Fake (idempotent, not queryable)"
    idempotent_refunds = True


FAKES = (IdempotentQueryable(), Blind(), IdempotentBlind())


def registered() -> Iterator[None]:
    registry.all_gateways()  # load the built-ins first
    added = [g for g in FAKES if registry.get(g.slug) is None]
    for gateway in added:
        registry.register(gateway)
    try:
        yield
    finally:
        for gateway in added:
            registry._REGISTRY.pop(gateway.slug, None)  # noqa: SLF001 - test-only gateways
