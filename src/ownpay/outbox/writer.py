"""Writing outbox events: in the caller's transaction, waking the worker once it commits.

``record_payment_event`` and ``record_event`` are the only ways an event enters the outbox;
the payloads come from ``payloads.py``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay import ids
from ownpay.outbox.models import OutboxEvent
from ownpay.outbox.payloads import payment_event_payload
from ownpay.outbox.wakeup import note_outbox_write
from ownpay.payments.models import PaymentIntent
from ownpay.timefmt import iso_required


async def record_payment_event(
    session: AsyncSession,
    intent: PaymentIntent,
    *,
    now: datetime,
    reason: str | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    event_type = f"payment.{intent.status}"
    event_id = ids.event_id()
    payload = payment_event_payload(intent, event_type, event_id=event_id, now=now, reason=reason)
    payload.update(extra or {})
    await _insert(
        session, event_id=event_id, merchant_id=intent.merchant_id, mode=intent.mode,
        event_type=event_type, payment_id=intent.id, payload=payload, now=now,
    )
    return event_id


async def record_event(
    session: AsyncSession,
    *,
    merchant_id: int,
    mode: str,
    event_type: str,
    payment_id: str | None,
    payload: dict[str, Any],
    now: datetime,
) -> str:
    """Any other event (e.g. ``refund.failed``); ``payment_id`` keeps it in that payment's
    delivery order.  ``id``, ``event`` and ``created_at`` are filled in here."""
    event_id = ids.event_id()
    body = {"id": event_id, "event": event_type, **payload, "created_at": iso_required(now)}
    await _insert(
        session, event_id=event_id, merchant_id=merchant_id, mode=mode, event_type=event_type,
        payment_id=payment_id, payload=body, now=now,
    )
    return event_id


async def _insert(
    session: AsyncSession,
    *,
    event_id: str,
    merchant_id: int,
    mode: str,
    event_type: str,
    payment_id: str | None,
    payload: dict[str, Any],
    now: datetime,
) -> None:
    """The one way an event enters the outbox: in the caller's transaction, and the worker
    is woken once that transaction commits."""
    await session.execute(
        insert(OutboxEvent).values(
            id=event_id, merchant_id=merchant_id, mode=mode, type=event_type,
            payment_id=payment_id, payload=payload, created_at=now,
        )
    )
    await note_outbox_write(session)
