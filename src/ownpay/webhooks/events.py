"""Outbox events: written in the same transaction as the change they describe.

The payload keeps every field of the spec's ``payment.completed`` example (``event``,
``transaction_id``, ``order_id``, ``amount``, ``currency``, ``status``, ``paid_at``,
``gateway``) and adds ``id``, ``created_at``, ``mode`` and ``metadata``; other payment events
have the same shape plus their own ``<status>_at`` timestamp.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay import ids, money
from ownpay.payments.models import OutboxEvent, PaymentIntent
from ownpay.timefmt import iso, iso_required
from ownpay.webhooks.wakeup import note_outbox_write


def payment_event_payload(
    intent: PaymentIntent, event_type: str, *, event_id: str, now: datetime, reason: str | None
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": event_id,
        "event": event_type,
        "transaction_id": intent.id,
        "order_id": intent.order_id,
        "amount": money.json_number(intent.amount_minor, intent.currency),
        "currency": intent.currency,
        "status": intent.status,
        "paid_at": iso(intent.paid_at),
        "gateway": intent.gateway,
        "mode": intent.mode,
        "created_at": iso_required(now),
        "metadata": intent.metadata_ or {},
    }
    if intent.status != "completed":
        payload[f"{intent.status}_at"] = iso_required(now)
    if reason and intent.status in {"failed", "cancelled"}:
        payload["reason"] = reason
    if intent.provider_txn_id:
        payload["provider_transaction_id"] = intent.provider_txn_id
    if intent.status in {"refunded", "partially_refunded"}:
        payload["refunded_amount"] = money.json_number(intent.refunded_minor, intent.currency)
    return payload


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
