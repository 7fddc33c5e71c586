"""The backlog gauges (``ownpay_backlog``), read from the database when ``/metrics`` is
scraped: undispatched outbox events, deliveries waiting or dead-lettered, payments stuck in
``processing``."""

from __future__ import annotations

from sqlalchemy import func, select

from ownpay.context import AppContext
from ownpay.metrics import BACKLOG
from ownpay.outbox.models import OutboxEvent
from ownpay.payments.models import PaymentIntent
from ownpay.webhooks.models import WebhookDelivery


async def refresh_backlog(ctx: AppContext) -> None:
    """Read the queue sizes an operator alerts on (one cheap query each)."""
    async with ctx.sessions() as session:
        undispatched = await session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None))
        )
        deliveries = dict(
            (
                await session.execute(
                    select(WebhookDelivery.status, func.count())
                    .where(WebhookDelivery.status.in_(("pending", "retrying", "dead")))
                    .group_by(WebhookDelivery.status)
                )
            ).all()
        )
        processing = await session.scalar(
            select(func.count()).select_from(PaymentIntent)
            .where(PaymentIntent.status == "processing")
        )
    BACKLOG.labels(queue="outbox_undispatched").set(undispatched or 0)
    for status in ("pending", "retrying", "dead"):
        BACKLOG.labels(queue=f"webhook_deliveries_{status}").set(deliveries.get(status, 0))
    BACKLOG.labels(queue="payments_processing").set(processing or 0)
