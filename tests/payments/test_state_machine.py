"""The state machine: every legal and illegal transition, and compare-and-set under load."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from sqlalchemy import func, select

from ownpay.outbox.models import OutboxEvent
from ownpay.payments import service, states
from ownpay.payments.models import PaymentIntent, PaymentStatusHistory
from tests.support.factories import MerchantKeys, intent_body


async def new_intent(client, merchant: MerchantKeys, **overrides) -> str:
    r = await client.post("/api/v1/payment-intents", json=intent_body(**overrides),
                          headers=merchant.auth())
    assert r.status_code == 201, r.text
    return str(r.json()["transaction_id"])


async def force_status(ctx, txn: str, status: str) -> None:
    """Test set-up only: put a payment in a starting state without going through history."""
    from sqlalchemy import update

    async with ctx.sessions() as s, s.begin():
        await s.execute(update(PaymentIntent).where(PaymentIntent.id == txn).values(status=status))


async def counts(ctx, txn: str) -> tuple[int, int]:
    async with ctx.sessions() as s:
        h = await s.scalar(select(func.count()).select_from(PaymentStatusHistory)
                           .where(PaymentStatusHistory.payment_id == txn))
        e = await s.scalar(select(func.count()).select_from(OutboxEvent)
                           .where(OutboxEvent.payment_id == txn))
    return int(h or 0), int(e or 0)


ALL_PAIRS = list(itertools.product(states.STATUSES, states.STATUSES))


@pytest.mark.parametrize(("src", "dst"), [p for p in ALL_PAIRS if p in states.ALLOWED])
async def test_legal_transition_writes_history_and_event(client, ctx, merchant, src, dst) -> None:
    txn = await new_intent(client, merchant)
    await force_status(ctx, txn, src)
    async with ctx.sessions() as s, s.begin():
        moved = await service.transition(s, payment_id=txn, merchant_id=merchant.id, expected=src,
                                         to=dst, actor="test", reason="because")
    assert moved is not None and moved.status == dst
    async with ctx.sessions() as s:
        row = (await s.scalars(select(PaymentStatusHistory)
                               .where(PaymentStatusHistory.payment_id == txn))).one()
        event = (await s.scalars(select(OutboxEvent).where(OutboxEvent.payment_id == txn))).one()
    assert (row.from_status, row.to_status, row.actor, row.reason) == (src, dst, "test", "because")
    assert event.type == f"payment.{dst}" and event.payload["status"] == dst
    assert event.payload["transaction_id"] == txn and event.merchant_id == merchant.id
    if dst == "completed":
        assert moved.paid_at is not None and event.payload["paid_at"] is not None


@pytest.mark.parametrize(("src", "dst"), [p for p in ALL_PAIRS if p not in states.ALLOWED])
async def test_illegal_transition_refused_and_changes_nothing(client, ctx, merchant, src,
                                                              dst) -> None:
    txn = await new_intent(client, merchant)
    await force_status(ctx, txn, src)
    with pytest.raises(service.IllegalTransition):
        async with ctx.sessions() as s, s.begin():
            await service.transition(s, payment_id=txn, merchant_id=merchant.id, expected=src,
                                     to=dst, actor="test")
    async with ctx.sessions() as s:
        assert (await s.get(PaymentIntent, txn)).status == src
    assert await counts(ctx, txn) == (0, 0)


async def test_stale_expectation_is_a_noop(client, ctx, merchant) -> None:
    txn = await new_intent(client, merchant)
    async with ctx.sessions() as s, s.begin():
        assert await service.transition(s, payment_id=txn, merchant_id=merchant.id,
                                        expected="processing", to="completed",
                                        actor="test") is None
    assert await counts(ctx, txn) == (0, 0)


async def test_other_merchant_cannot_move_a_payment(client, ctx, merchant) -> None:
    from tests.support.factories import create_merchant

    other = await create_merchant(ctx)
    txn = await new_intent(client, merchant)
    async with ctx.sessions() as s, s.begin():
        assert await service.transition(s, payment_id=txn, merchant_id=other.id, expected="pending",
                                        to="completed", actor="test") is None


async def test_fifty_concurrent_completions_complete_once(client, ctx, merchant) -> None:
    txn = await new_intent(client, merchant)

    async def attempt(i: int) -> bool:
        async with ctx.sessions() as s, s.begin():
            moved = await service.transition(s, payment_id=txn, merchant_id=merchant.id,
                                             expected="pending", to="completed",
                                             actor=f"attempt-{i}")
            return moved is not None

    results = await asyncio.gather(*[attempt(i) for i in range(50)])
    assert sum(results) == 1
    assert await counts(ctx, txn) == (1, 1)


async def test_fifty_concurrent_results_through_apply_result(client, ctx, merchant) -> None:
    """Same through the gateway path: duplicate callbacks never complete twice."""
    from ownpay.gateways.base import Outcome, VerifiedResult

    txn = await new_intent(client, merchant, amount="10.00")
    ok = VerifiedResult(outcome=Outcome.SUCCEEDED, amount_minor=1000, currency="USD", reference=txn)

    async def callback() -> str:
        async with ctx.sessions() as s, s.begin():
            intent = await s.get(PaymentIntent, txn)
            return (await service.apply_result(s, intent, ok, actor="gateway:test")).status

    statuses = await asyncio.gather(*[callback() for _ in range(50)])
    assert set(statuses) == {"completed"}
    assert await counts(ctx, txn) == (1, 1)


@pytest.mark.parametrize(
    ("amount", "currency", "reference"),
    [(999, "USD", None), (1000, "EUR", None), (1000, "USD", "txn_0000000000000000")],
)
async def test_mismatched_verification_never_completes(client, ctx, merchant, amount, currency,
                                                       reference) -> None:
    from ownpay.gateways.base import Outcome, VerifiedResult

    txn = await new_intent(client, merchant, amount="10.00")
    result = VerifiedResult(outcome=Outcome.SUCCEEDED, amount_minor=amount, currency=currency,
                            reference=reference)
    async with ctx.sessions() as s, s.begin():
        intent = await s.get(PaymentIntent, txn)
        after = await service.apply_result(s, intent, result, actor="gateway:test")
    assert after.status == "pending"
    assert await counts(ctx, txn) == (0, 0)


async def test_expiry_sweep(client, ctx, merchant) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from ownpay.db import utcnow
    from ownpay.worker import expire_due

    due = await new_intent(client, merchant)
    fresh = await new_intent(client, merchant)
    paid = await new_intent(client, merchant)
    await force_status(ctx, paid, "processing")
    async with ctx.sessions() as s, s.begin():
        await s.execute(update(PaymentIntent).where(PaymentIntent.id.in_([due, paid]))
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
    await expire_due(ctx)
    await expire_due(ctx)  # a second sweep finds nothing more to do
    async with ctx.sessions() as s:
        assert (await s.get(PaymentIntent, due)).status == "expired"
        assert (await s.get(PaymentIntent, fresh)).status == "pending"
        assert (await s.get(PaymentIntent, paid)).status == "processing"  # money may be moving
    assert await counts(ctx, due) == (1, 1)


async def test_concurrent_expiry_workers_expire_once(client, ctx, merchant) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from ownpay.db import utcnow
    from ownpay.worker import expire_due

    txns = [await new_intent(client, merchant) for _ in range(5)]
    async with ctx.sessions() as s, s.begin():
        await s.execute(update(PaymentIntent).where(PaymentIntent.id.in_(txns))
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
    await asyncio.gather(expire_due(ctx), expire_due(ctx), expire_due(ctx))
    for txn in txns:
        assert await counts(ctx, txn) == (1, 1)
