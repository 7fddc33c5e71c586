"""Refund steps: each takes the caller's session and only flushes (the flow that calls it
owns the transaction).  :func:`transition` is the only writer of a refund's ``status`` and
``stage``, as ``payments.service.transition`` is of a payment's: a compare-and-set on the
current (status, stage) that writes a ``refund_status_history`` row when it wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay import audit, money
from ownpay.errors import InvalidState
from ownpay.ledger import service as ledger
from ownpay.outbox.payloads import refund_brief, refund_failed_payload
from ownpay.outbox.writer import record_event
from ownpay.payments import refunding
from ownpay.refunds.models import Refund, RefundStatusHistory
from ownpay.refunds.states import (
    COMPLETED,
    FAILED,
    INITIAL,
    PENDING,
    PROCESSING,
    QUEUED,
    SENDING,
    SETTLED,
    State,
    is_allowed,
)

log = structlog.get_logger("ownpay.refunds")

# Columns only :func:`transition` may set.
_STATE_COLUMNS = frozenset({"status", "stage"})


class IllegalRefundTransition(InvalidState):
    pass


def _history(refund: Refund, *, before: State | None, actor: str, reason: str | None,
             now: datetime) -> RefundStatusHistory:
    return RefundStatusHistory(
        refund_id=refund.id, merchant_id=refund.merchant_id,
        from_status=before[0] if before else None, from_stage=before[1] if before else None,
        to_status=refund.status, to_stage=refund.stage, actor=actor[:64],
        reason=(reason or None) and reason[:500], created_at=now,
    )


async def add(session: AsyncSession, refund: Refund, *, actor: str, reason: str | None,
              now: datetime) -> Refund:
    """A new refund in one of its initial states, with its first history row."""
    if (refund.status, refund.stage) not in INITIAL:
        raise IllegalRefundTransition(f"A refund cannot start {refund.status}/{refund.stage}.")
    session.add(refund)
    await session.flush()
    session.add(_history(refund, before=None, actor=actor, reason=reason, now=now))
    await session.flush()
    return refund


async def transition(
    session: AsyncSession,
    refund_id: str,
    *,
    expected: State,
    to: State,
    actor: str,
    now: datetime,
    reason: str | None = None,
    values: Mapping[str, Any] | None = None,
    also: tuple[ColumnElement[bool], ...] = (),
) -> Refund | None:
    """Move a refund from ``expected`` to ``to``; None if it was not there any more (someone
    else moved it first).  ``also`` adds conditions (e.g. a lease's ``check_count``)."""
    if not is_allowed(expected, to):
        log.warning("illegal_refund_transition", refund_id=refund_id, from_=expected, to=to)
        raise IllegalRefundTransition(
            f"A refund cannot move from {'/'.join(expected)} to {'/'.join(to)}.")
    moved = (await session.scalars(
        update(Refund)
        .where(Refund.id == refund_id, Refund.status == expected[0],
               Refund.stage == expected[1], *also)
        .values(status=to[0], stage=to[1], updated_at=now, **(values or {}))
        .returning(Refund)
        .execution_options(synchronize_session=False, populate_existing=True)
    )).one_or_none()
    if moved is None:
        return None
    session.add(_history(moved, before=expected, actor=actor, reason=reason, now=now))
    await audit.record_worker_move(session, actor, "refund", merchant_id=moved.merchant_id,
                                   mode=moved.mode, object_id=moved.id, reason=reason,
                                   moves={"status": (expected[0], to[0]),
                                          "stage": (expected[1], to[1])})
    await session.flush()
    return moved


async def touch(
    session: AsyncSession, refund_id: str, *, now: datetime, values: Mapping[str, Any],
    also: tuple[ColumnElement[bool], ...] = (),
) -> Refund | None:
    """Bookkeeping of a pending refund that changes neither status nor stage (when to look
    next, the last inconclusive answer, lease and call counters)."""
    if _STATE_COLUMNS & set(values):
        raise ValueError("status and stage change only through transition()")
    return (await session.scalars(
        update(Refund)
        .where(Refund.id == refund_id, Refund.status == PENDING, *also)
        .values(updated_at=now, **values)
        .returning(Refund)
        .execution_options(synchronize_session=False, populate_existing=True)
    )).one_or_none()


async def complete(
    session: AsyncSession, refund_id: str, *, provider_refund_id: str | None, actor: str,
    now: datetime, reason: str | None = None,
) -> Refund | None:
    """pending → completed; the payment's refunded amount, status, event and the ledger
    move with it.  None if the refund was no longer pending (settled by someone else)."""
    current = await _locked_pending(session, refund_id)
    if current is None:
        return None
    refund, payment = current
    values: dict[str, Any] = {"completed_at": now, "next_check_at": None}
    if provider_refund_id:
        values["provider_refund_id"] = provider_refund_id
    done = await transition(session, refund.id, expected=(PENDING, refund.stage),
                            to=(COMPLETED, SETTLED), actor=actor, now=now, reason=reason,
                            values=values)
    if done is None:
        return None
    shown = f"{money.to_major(done.amount_minor, done.currency)} {done.currency}"
    await refunding.refund_completed(
        session, payment, done.amount_minor, actor=actor, now=now,
        reason=f"refund {done.id} of {shown}" + (f": {reason}" if reason else ""),
        event_data={"refund": refund_brief(done)},
    )
    await ledger.record_refund_completed(session, done, now=now)
    log.info("refund_completed", refund_id=done.id, payment_id=payment.id)
    return done


async def fail(
    session: AsyncSession, refund_id: str, *, reason: str, actor: str, now: datetime
) -> Refund | None:
    """pending → failed; the reservation is released and ``refund.failed`` is emitted."""
    current = await _locked_pending(session, refund_id)
    if current is None:
        return None
    refund, payment = current
    done = await transition(session, refund.id, expected=(PENDING, refund.stage),
                            to=(FAILED, SETTLED), actor=actor, now=now, reason=reason,
                            values={"failed_at": now, "next_check_at": None,
                                    "failure_reason": reason[:500]})
    if done is None:
        return None
    await refunding.release_refund(session, payment, done.amount_minor, now=now)
    await record_event(session, merchant_id=done.merchant_id, mode=done.mode,
                       event_type="refund.failed", payment_id=payment.id, now=now,
                       payload=refund_failed_payload(done, payment))
    log.info("refund_failed", refund_id=done.id, payment_id=payment.id, actor=actor)
    return done


async def _locked_pending(
    session: AsyncSession, refund_id: str
) -> tuple[Refund, Any] | None:
    """The payment row locked first, then the refund: one lock order, no deadlocks."""
    payment_id = await session.scalar(select(Refund.payment_id).where(Refund.id == refund_id))
    if payment_id is None:
        return None
    payment = await refunding.lock_for_refund(session, payment_id)
    refund = await session.get(Refund, refund_id, populate_existing=True)
    if refund is None or refund.status != PENDING:
        return None
    return refund, payment


async def claim_for_sending(session: AsyncSession, refund_id: str, *, now: datetime,
                            lease_until: datetime, actor: str) -> Refund | None:
    """queued → sending, committed before the gateway call: only the claimant sends."""
    return await transition(
        session, refund_id, expected=(PENDING, QUEUED), to=(PENDING, SENDING), actor=actor,
        now=now, reason="sending to the gateway",
        values={"sent_at": now, "send_count": Refund.send_count + 1,
                "next_check_at": lease_until},
    )


async def requeue(session: AsyncSession, refund: Refund, *, error: str, now: datetime,
                  next_check_at: datetime, actor: str) -> Refund | None:
    """sending → queued: nothing reached the gateway (it could not even be asked)."""
    return await transition(
        session, refund.id, expected=(PENDING, SENDING), to=(PENDING, QUEUED), actor=actor,
        now=now, reason=error[:500],
        values={"last_error": error[:500], "next_check_at": next_check_at},
        also=(Refund.send_count == refund.send_count,),
    )


async def accepted(session: AsyncSession, refund: Refund, *, provider_refund_id: str | None,
                   next_check_at: datetime | None, actor: str, now: datetime) -> Refund | None:
    """The gateway accepted it and settles it later: never sent again."""
    values: dict[str, Any] = {"next_check_at": next_check_at}
    if provider_refund_id:
        values["provider_refund_id"] = provider_refund_id
    if refund.stage == PROCESSING:  # asked again: still settling
        return await touch(session, refund.id, now=now, values=values)
    return await transition(
        session, refund.id, expected=(PENDING, SENDING), to=(PENDING, PROCESSING), actor=actor,
        now=now, reason="accepted by the gateway", values=values)
