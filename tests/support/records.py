"""What the database holds about payments, refunds and the books, and waiting for it to
change."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select

from ownpay.context import AppContext
from ownpay.ledger import verify as ledger_verify
from ownpay.ledger.models import LedgerJournal
from ownpay.outbox.models import OutboxEvent
from ownpay.payments.models import PaymentIntent, PaymentStatusHistory
from ownpay.refunds.models import Refund
from tests.support.factories import MerchantKeys


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


async def event_types(ctx: AppContext, txn: str) -> list[str]:
    """Like :func:`outbox_types`, ties between equal creation times broken by id."""
    async with ctx.sessions() as s:
        rows = await s.scalars(select(OutboxEvent).where(OutboxEvent.payment_id == txn)
                               .order_by(OutboxEvent.created_at, OutboxEvent.id))
        return [e.type for e in rows]


async def events(ctx: AppContext, txn: str, event_type: str) -> list[dict[str, Any]]:
    """The payloads of the payment's outbox events of one type, oldest first."""
    async with ctx.sessions() as s:
        rows = await s.scalars(select(OutboxEvent).where(OutboxEvent.payment_id == txn,
                                                         OutboxEvent.type == event_type)
                               .order_by(OutboxEvent.created_at, OutboxEvent.id))
        return [dict(e.payload) for e in rows]


async def ledger_journal_kinds(ctx: AppContext, txn: str) -> list[str]:
    """The kinds of the payment's ledger journals (``payment``, ``refund``, ...), oldest
    first: one ``payment`` journal per completion."""
    async with ctx.sessions() as s:
        rows = await s.scalars(select(LedgerJournal.kind)
                               .where(LedgerJournal.payment_id == txn)
                               .order_by(LedgerJournal.created_at, LedgerJournal.id))
        return list(rows)


async def payment_row(ctx: AppContext, txn: str) -> PaymentIntent:
    async with ctx.sessions() as s:
        row = await s.get(PaymentIntent, txn)
    assert row is not None
    return row


async def refund_rows(ctx: AppContext, txn: str) -> list[Refund]:
    async with ctx.sessions() as s:
        return list(await s.scalars(select(Refund).where(Refund.payment_id == txn)
                                    .order_by(Refund.created_at, Refund.id)))


async def count_refunds(ctx: AppContext, merchant_id: int) -> int:
    async with ctx.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(Refund)
                                  .where(Refund.merchant_id == merchant_id)) or 0)


async def assert_books_balance(ctx: AppContext, merchant: MerchantKeys) -> ledger_verify.Report:
    async with ctx.sessions() as s:
        report = await ledger_verify.operator_verify(s, merchant_id=merchant.id)
    assert report.ok, report.as_dict()["problems"]
    return report


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
