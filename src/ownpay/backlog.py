"""The backlog gauges (``ownpay_backlog``), read from the database when ``/metrics`` is
scraped: undispatched outbox events, deliveries waiting or dead-lettered, payments stuck in
``processing``."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Select, func, select

from ownpay.context import AppContext
from ownpay.metrics import BACKLOG
from ownpay.outbox.models import OutboxEvent
from ownpay.payments.models import PaymentIntent
from ownpay.webhooks.models import WebhookDelivery

# A scrape reads the database at most this often per process, and counts at most CAP rows
# per queue (reported as CAP: "at least this many"), so a scrape stays cheap however large
# a backlog grows or however often it is scraped.
REFRESH_EVERY = 10.0
CAP = 100_000
_last_refresh: dict[int, float] = {}


async def refresh_backlog(ctx: AppContext) -> None:
    """Read the queue sizes an operator alerts on (bounded counts, at most every 10 s)."""
    now = time.monotonic()
    if now - _last_refresh.get(id(ctx), -REFRESH_EVERY) < REFRESH_EVERY:
        return
    _last_refresh[id(ctx)] = now
    await _read(ctx)


def _capped(stmt: Select[Any]) -> Select[Any]:
    """``count(*)`` of at most CAP rows of ``stmt``."""
    return select(func.count()).select_from(stmt.limit(CAP).subquery())


async def _read(ctx: AppContext) -> None:
    queues = {
        "outbox_undispatched": select(OutboxEvent.id).where(OutboxEvent.dispatched_at.is_(None)),
        **{f"webhook_deliveries_{status}": select(WebhookDelivery.id)
           .where(WebhookDelivery.status == status) for status in ("pending", "retrying", "dead")},
        "payments_processing": select(PaymentIntent.id)
        .where(PaymentIntent.status == "processing"),
    }
    async with ctx.sessions() as session:
        for queue, stmt in queues.items():
            BACKLOG.labels(queue=queue).set(await session.scalar(_capped(stmt)) or 0)
