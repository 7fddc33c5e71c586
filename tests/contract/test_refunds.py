"""Check 6: refunds behave as the gateway declares.  A refund of a paid payment comes back
SUCCEEDED, PROCESSING, FAILED or UNKNOWN, and the stand-in has moved exactly what a
SUCCEEDED refund says; with ``idempotent_refunds`` the same refund sent again moves money
once; with ``supports_refund_query`` the gateway can tell the outcome of a refund it made
(by the provider's id, and by ours alone, as after a lost answer); with
``supports_refund_listing`` the provider's list shows it, with our refund id and amount."""

from __future__ import annotations

import secrets

import httpx
import pytest

from ownpay.gateways.base import Outcome
from tests.contract.harnesses.base import Harness
from tests.contract.soundness import assert_refund_sound

pytestmark = pytest.mark.contract


def _part(amount_minor: int) -> int:
    """A partial refund every provider can represent (a tenth, in whole major units if
    possible)."""
    return max(amount_minor // 10 // 100 * 100, 100) if amount_minor >= 1000 else amount_minor


async def test_refunds_follow_the_declared_capabilities(harness: Harness,
                                                        http: httpx.AsyncClient) -> None:
    gateway = harness.gateway
    ctx = harness.context(http)
    if not gateway.supports_refunds:
        with pytest.raises(NotImplementedError):
            await gateway.refund(ctx, harness.payment(status="completed"), amount_minor=100,
                                 refund_id="rf_x", reason=None)
        return
    payment = await harness.paid_payment(ctx)
    part = _part(payment.amount_minor)
    refund_id = "rf_" + secrets.token_hex(8)
    first = await gateway.refund(ctx, payment, amount_minor=part, refund_id=refund_id,
                                 reason="battery")
    assert_refund_sound(first)
    moved = await harness.money_refunded(ctx, payment)
    if first.outcome is Outcome.SUCCEEDED:
        assert moved == part
    elif moved is not None:
        assert moved in (0, part)
    if moved is None:  # offline: the merchant pays it back; an operator confirms it
        assert first.outcome is Outcome.PROCESSING

    if gateway.idempotent_refunds:
        again = await gateway.refund(ctx, payment, amount_minor=part, refund_id=refund_id,
                                     reason="battery")
        assert_refund_sound(again)
        assert again.outcome is first.outcome
        assert again.provider_refund_id == first.provider_refund_id
        assert await harness.money_refunded(ctx, payment) == moved, "refunded twice"

    if gateway.supports_refund_query:
        by_provider_id = await gateway.query_refund(
            ctx, payment, refund_id=refund_id, provider_refund_id=first.provider_refund_id)
        assert_refund_sound(by_provider_id)
        assert by_provider_id.outcome is first.outcome
        by_ours = await gateway.query_refund(ctx, payment, refund_id=refund_id,
                                             provider_refund_id=None)
        assert by_ours.outcome is first.outcome
        if first.provider_refund_id:
            assert by_ours.provider_refund_id == first.provider_refund_id
        never = await gateway.query_refund(ctx, payment, refund_id="rf_never_sent",
                                           provider_refund_id=None)
        assert never.outcome in (Outcome.UNKNOWN, Outcome.FAILED), never
    else:
        unknown = await gateway.query_refund(ctx, payment, refund_id=refund_id,
                                             provider_refund_id=first.provider_refund_id)
        assert unknown.outcome is Outcome.UNKNOWN

    if gateway.supports_refund_listing:
        listed = {r.refund_id: r for r in await gateway.list_refunds(ctx, payment)}
        assert refund_id in listed, listed
        mine = listed[refund_id]
        assert (mine.amount_minor, mine.currency, mine.outcome) == (
            part, payment.currency, first.outcome)
        assert mine.provider_refund_id == first.provider_refund_id
