"""The payment row's refund columns, changed only here (with ``service.transition`` for the
status): ``refunded_minor`` (completed refunds) and ``refund_reserved_minor`` (refunds in
flight) keep ``refunded + reserved <= amount`` by conditional UPDATEs.  The refunds domain
calls these inside its own transactions, always with the payment row locked first
(:func:`lock_for_refund`): one lock order, no deadlocks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay import money
from ownpay.errors import InvalidState, ValidationFailed
from ownpay.payments import states
from ownpay.payments.models import PaymentIntent
from ownpay.payments.service import transition


async def lock_for_refund(session: AsyncSession, payment_id: str) -> PaymentIntent:
    """The payment row, locked (PostgreSQL ``FOR UPDATE``; SQLite writers are serial)."""
    return (await session.scalars(
        select(PaymentIntent).where(PaymentIntent.id == payment_id).with_for_update()
        .execution_options(populate_existing=True)
    )).one()


def refundable_remainder(payment: PaymentIntent) -> int:
    return payment.amount_minor - payment.refunded_minor - payment.refund_reserved_minor


def check_refundable(payment: PaymentIntent) -> None:
    if payment.status == states.REFUNDED:
        raise InvalidState("This payment has already been fully refunded.")
    if payment.status not in states.REFUNDABLE:
        raise InvalidState(
            f"Only a paid payment can be refunded; this one is {payment.status}."
        )


def over_remainder(payment: PaymentIntent) -> ValidationFailed:
    remaining = refundable_remainder(payment)
    left = money.to_major(max(remaining, 0), payment.currency)
    if remaining <= 0:
        message = ("Nothing is left to refund: the paid amount is already refunded or held "
                   "by refunds in progress.")
    else:
        message = f"The amount must not exceed the refundable remainder, {left} {payment.currency}."
    return ValidationFailed(errors={"amount": [message]})


async def reserve_refund(
    session: AsyncSession, payment: PaymentIntent, amount_minor: int | None, *, now: datetime
) -> int:
    """Hold ``amount_minor`` (None: all that is left) on the payment, atomically; returns
    the amount held.  409 if the payment is not refundable, 400 over the remainder."""
    P = PaymentIntent  # noqa: N806
    current = (await session.scalars(
        select(P).where(P.id == payment.id, P.merchant_id == payment.merchant_id)
        .execution_options(populate_existing=True)
    )).one()
    check_refundable(current)
    remaining = refundable_remainder(current)
    amount = remaining if amount_minor is None else amount_minor
    if remaining <= 0 or amount > remaining:
        raise over_remainder(current)
    # The guard is in the UPDATE itself: on PostgreSQL a concurrent reservation that
    # committed after our read makes this match nothing instead of overdrawing.
    result = await session.execute(
        update(P)
        .where(
            P.id == payment.id,
            P.merchant_id == payment.merchant_id,
            P.status.in_(list(states.REFUNDABLE)),
            P.refunded_minor + P.refund_reserved_minor + amount <= P.amount_minor,
        )
        .values(refund_reserved_minor=P.refund_reserved_minor + amount, updated_at=now)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        fresh = (await session.scalars(
            select(P).where(P.id == payment.id).execution_options(populate_existing=True)
        )).one()
        check_refundable(fresh)
        raise over_remainder(fresh)
    return amount


async def release_refund(
    session: AsyncSession, payment: PaymentIntent, amount_minor: int, *, now: datetime
) -> None:
    """A refund in flight failed: its amount is refundable again."""
    P = PaymentIntent  # noqa: N806
    await session.execute(
        update(P).where(P.id == payment.id, P.merchant_id == payment.merchant_id)
        .values(refund_reserved_minor=P.refund_reserved_minor - amount_minor, updated_at=now)
    )


async def refund_completed(
    session: AsyncSession, payment: PaymentIntent, amount_minor: int, *, actor: str,
    reason: str, event_data: dict[str, Any], now: datetime,
) -> PaymentIntent:
    """A refund of ``amount_minor`` completed: the reservation becomes refunded and the
    payment moves to ``partially_refunded``/``refunded`` (history row and event).  The
    caller holds the payment's row lock (:func:`lock_for_refund`)."""
    total = payment.refunded_minor + amount_minor
    to = states.REFUNDED if total >= payment.amount_minor else states.PARTIALLY_REFUNDED
    P = PaymentIntent  # noqa: N806
    moved = await transition(
        session, payment_id=payment.id, merchant_id=payment.merchant_id,
        expected=payment.status, to=to, actor=actor, now=now, reason=reason,
        values={"refunded_minor": P.refunded_minor + amount_minor,
                "refund_reserved_minor": P.refund_reserved_minor - amount_minor},
        event_data=event_data,
    )
    if moved is None:  # impossible under the row lock; never record half a refund
        raise RuntimeError(f"payment {payment.id} changed while locked")
    return moved
