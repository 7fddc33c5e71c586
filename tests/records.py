"""What the database holds about a payment, and waiting for it to change (shared helpers)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select

from ownpay.context import AppContext
from ownpay.outbox.models import OutboxEvent
from ownpay.payments.models import PaymentStatusHistory


async def status_history(ctx: AppContext, txn: str) -> list[PaymentStatusHistory]:
    """The payment's status-history rows, oldest first."""
    async with ctx.sessions() as s:
        rows = await s.scalars(
            select(PaymentStatusHistory)
            .where(PaymentStatusHistory.payment_id == txn)
            .order_by(PaymentStatusHistory.id)
        )
        return list(rows)


async def outbox_types(ctx: AppContext, txn: str) -> list[str]:
    """The event types the payment put in the outbox, oldest first."""
    async with ctx.sessions() as s:
        rows = await s.scalars(
            select(OutboxEvent.type)
            .where(OutboxEvent.payment_id == txn)
            .order_by(OutboxEvent.created_at)
        )
        return list(rows)


async def until(predicate: Callable[[], Awaitable[Any]], within: float = 30.0) -> None:
    """Poll ``predicate`` every 0.1 s until it is truthy; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not reached within {within} s")


async def gateway_call(ctx: AppContext, intent: Any) -> tuple[Any, str]:
    """The adapter context for a payment and its merchant's slug, as the core builds them."""
    from ownpay.merchants.accounts import gateway_context

    gctx, account = await gateway_context(ctx, intent.scope, intent.gateway,
                                          transaction_id=intent.id)
    return gctx, account.merchant_slug
