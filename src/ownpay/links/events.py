"""``link.paid``: a payment made on a payment link completed (besides its
``payment.completed``), recorded by the payment's status writer in the same transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay.links.models import PaymentLink
from ownpay.outbox.payloads import decimal_string
from ownpay.outbox.writer import record_event
from ownpay.payments.models import PaymentIntent


async def record_link_paid(session: AsyncSession, intent: PaymentIntent, *,
                           now: datetime) -> None:
    row = (await session.execute(select(PaymentLink.id, PaymentLink.slug, PaymentLink.title)
                                 .where(PaymentLink.id == intent.link_id))).first()
    if row is None:
        return
    await record_event(session, merchant_id=intent.merchant_id, mode=intent.mode,
                       event_type="link.paid", payment_id=intent.id, now=now, payload={
                           "link": {"id": row.id, "slug": row.slug, "title": row.title},
                           "transaction_id": intent.id, "order_id": intent.order_id,
                           "amount": decimal_string(intent.amount_minor, intent.currency),
                           "currency": intent.currency, "gateway": intent.gateway,
                           "customer_email": intent.customer_email,
                           "metadata": dict(intent.metadata_ or {}), "mode": intent.mode})
