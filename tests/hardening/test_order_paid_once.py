"""Finding 3 of issue 16: one order is paid once.

Creation already refuses an intent for a paid order.  Two intents opened before either was
paid are handled so: the checkout refuses to start paying an order another payment already
paid (the link is cancelled, the customer told); and if both are paid anyway (two
providers' money arriving at once), the second completion is booked -- the money moved --
and flagged ATTENTION for a refund, with ``duplicate_of`` in its event.  Completions of one
order are serialised, so of two concurrent ones exactly one is flagged."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from ownpay.gateways.base import Outcome, VerifiedResult
from ownpay.outbox.models import OutboxEvent
from ownpay.payments import service as payments
from ownpay.payments.models import PaymentIntent, PaymentStatusHistory
from tests.support.checkout import checkout, new_intent
from tests.support.factories import MerchantKeys


def _flagged() -> float:
    return REGISTRY.get_sample_value("ownpay_payments_attention_total", {
        "gateway": "sandbox", "kind": "duplicate_order_payment"}) or 0.0


async def _succeed(ctx, txn: str) -> PaymentIntent:
    async with ctx.sessions() as s, s.begin():
        intent = await s.get(PaymentIntent, txn)
        assert intent is not None
        return await payments.apply_result(s, intent, VerifiedResult(
            outcome=Outcome.SUCCEEDED, amount_minor=intent.amount_minor,
            currency=intent.currency, reference=intent.id), actor="gateway:test")


async def _completion_reasons(ctx, txns: list[str]) -> dict[str, str | None]:
    async with ctx.sessions() as s:
        rows = (await s.execute(select(PaymentStatusHistory.payment_id,
                                       PaymentStatusHistory.reason)
                                .where(PaymentStatusHistory.payment_id.in_(txns),
                                       PaymentStatusHistory.to_status == "completed"))).all()
    return dict(rows)


async def test_the_checkout_closes_a_link_whose_order_another_payment_paid(
    client, merchant: MerchantKeys
) -> None:
    first = await new_intent(client, merchant, order_id="ORD-ONCE-1")
    second = await new_intent(client, merchant, order_id="ORD-ONCE-1")
    assert (await checkout(client, first, outcome="succeed")).status_code == 303
    page = await client.get(f"/checkout/{second}")
    assert page.status_code == 200 and "Order already paid" in page.text
    got = await client.get(f"/api/v1/payment-intents/{second}", headers=merchant.auth())
    assert got.json()["status"] == "cancelled"
    assert got.json()["status_history"][-1]["reason"] == (
        f"order already paid by another payment ({first})")


async def test_a_second_paid_payment_of_an_order_is_booked_and_flagged(
    client, ctx, merchant: MerchantKeys
) -> None:
    a = await new_intent(client, merchant, order_id="ORD-TWICE-1")
    b = await new_intent(client, merchant, order_id="ORD-TWICE-1")
    before = _flagged()
    assert (await _succeed(ctx, a)).status == "completed"
    assert (await _succeed(ctx, b)).status == "completed"
    reasons = await _completion_reasons(ctx, [a, b])
    assert reasons[a] is None
    assert reasons[b] == ("ATTENTION: order 'ORD-TWICE-1' was already paid by "
                          f"{a}: refund one of them")
    async with ctx.sessions() as s:
        payload = (await s.scalars(select(OutboxEvent.payload).where(
            OutboxEvent.payment_id == b, OutboxEvent.type == "payment.completed"))).one()
    assert payload["duplicate_of"] == [a]
    assert _flagged() == before + 1


@pytest.mark.parametrize("pairs", [6])
async def test_concurrent_completions_of_one_order_flag_exactly_one(
    backend: str, client, ctx, merchant: MerchantKeys, pairs: int
) -> None:
    if backend != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises them anyway)")
    for n in range(pairs):
        order = f"ORD-RACE-{n}"
        txns = [await new_intent(client, merchant, order_id=order) for _ in range(2)]
        await asyncio.gather(*(_succeed(ctx, t) for t in txns))
        reasons = await _completion_reasons(ctx, txns)
        assert len(reasons) == 2  # both completed, each once
        flagged = [t for t, r in reasons.items() if r and r.startswith("ATTENTION")]
        assert len(flagged) == 1, reasons
