"""The background worker: expiry sweep, reconciliation of stuck payments and refunds,
paired phones gone quiet, brands' domains due a DNS check, invoices past their due date,
webhooks, housekeeping.

Embedded in ``ownpay serve`` by default; ``ownpay worker`` runs it alone.  Every step is a
compare-and-set through the payments service, so several workers on PostgreSQL can run
side by side: a payment another worker already moved is simply skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from datetime import timedelta

import structlog

from ownpay.context import AppContext
from ownpay.db import utcnow
from ownpay.domains import service as domains
from ownpay.gateways import registry
from ownpay.invoices import service as invoices
from ownpay.merchants.accounts import gateway_context
from ownpay.outbox import wakeup
from ownpay.payments import expiry, repository, service
from ownpay.payments.presenters import payment_view
from ownpay.process import freeze_startup_heap
from ownpay.refunds import flows as refunds
from ownpay.sms import devices as sms_devices
from ownpay.web import idempotency
from ownpay.webhooks.delivery import deliver_due, dispatch_events

log = structlog.get_logger("ownpay.worker")


async def expire_due(ctx: AppContext) -> int:
    """Settle pending intents past ``expires_at``; returns how many are no longer pending.

    Provider-aware (``expiry.expire_overdue``): a payment whose provider object may still
    take money is asked about and cancelled first, and one the provider took is completed
    (or moved to processing) instead of expired.  A provider that cannot be asked leaves
    the payment pending; it is asked again after ``reconcile_after`` seconds and expired,
    flagged for an operator, ``expiry.EXPIRY_UNCONFIRMED_AFTER`` past ``expires_at``.
    """
    now = utcnow()
    waiting = expiry.expiry_backoff.waiting(now)
    async with ctx.sessions() as session:
        due = await repository.due_for_expiry(session, now=now, exclude=waiting)
    moved = 0
    for intent in due:
        try:
            after = await expiry.expire_overdue(ctx, intent, actor="worker:expiry", now=now)
        except Exception as exc:  # noqa: BLE001 - one payment's trouble must not stop the sweep
            log.warning("expiry_failed", payment_id=intent.id, error=str(exc))
            continue
        moved += int(after.status != "pending")
    return moved


async def reconcile_processing(ctx: AppContext, *, min_age: float | None = None) -> int:
    """Ask providers about payments stuck in ``processing`` and settle what they confirm."""
    age = ctx.settings.reconcile_after if min_age is None else min_age
    older_than = utcnow() - timedelta(seconds=age)
    async with ctx.sessions() as session:
        stuck = await repository.stuck_processing(session, older_than=older_than)
    settled = 0
    for intent in stuck:
        adapter = registry.get(intent.gateway)
        if adapter is None or not adapter.supports_status_query:
            continue
        try:
            gctx, account = await gateway_context(ctx, intent.scope, intent.gateway,
                                                  transaction_id=intent.id)
            result = await adapter.query_status(gctx, payment_view(intent, account.merchant_slug))
        except Exception as exc:  # noqa: BLE001 - one provider's outage must not stop the loop
            log.warning("reconcile_failed", payment_id=intent.id, error=str(exc))
            continue
        async with ctx.sessions() as session, session.begin():
            fresh = await repository.reload(session, intent)
            after = await service.apply_result(session, fresh, result, actor="worker:reconcile")
            settled += int(after.status != "processing")
    return settled


async def housekeeping(ctx: AppContext) -> None:
    async with ctx.sessions() as session, session.begin():
        await idempotency.purge(session, now=utcnow())


async def reconcile_refunds(ctx: AppContext) -> int:
    """Send refunds their request never sent, and settle unknown outcomes with the gateway."""
    return await refunds.reconcile(ctx)


async def watch_devices(ctx: AppContext) -> int:
    """Paired phones gone quiet (``OWNPAY_DEVICE_OFFLINE_AFTER``): ``device.offline``."""
    async with ctx.sessions() as session, session.begin():
        return len(await sms_devices.mark_offline(
            session, now=utcnow(), after=timedelta(seconds=ctx.settings.device_offline_after)))


async def recheck_domains(ctx: AppContext) -> int:
    """Brands' domains due a DNS check (``OWNPAY_DOMAIN_RECHECK_INTERVAL``; new ones at once):
    verified, kept, or suspended after repeated failures (``domains/service.py``)."""
    return await domains.recheck_due(ctx)


async def overdue_invoices(ctx: AppContext) -> int:
    """Open invoices past their due date (UTC): ``invoice.overdue``, once each."""
    now = utcnow()
    async with ctx.sessions() as session, session.begin():
        return len(await invoices.mark_overdue(session, today=now.date(), now=now))


async def run_once(ctx: AppContext) -> None:
    """One pass.  Each step is guarded on its own: a failing step is logged and the others
    still run, so (for instance) a failing expiry sweep never stops webhook delivery."""
    steps: tuple[tuple[str, Callable[[AppContext], Awaitable[object]]], ...] = (
        ("expiry", expire_due),
        ("reconcile_payments", reconcile_processing),
        ("reconcile_refunds", reconcile_refunds),
        ("sms_devices", watch_devices),
        ("brand_domains", recheck_domains),
        ("overdue_invoices", overdue_invoices),
        ("webhook_fanout", dispatch_events),
        ("webhook_delivery", deliver_due),
    )
    for name, step in steps:
        try:
            await step(ctx)
        except Exception as exc:  # noqa: BLE001 - logged; the next step and pass go on
            log.error("worker_step_failed", step=name, error=str(exc), exc_info=exc)


async def run_worker(ctx: AppContext, *, stop: asyncio.Event) -> None:
    """Loop until ``stop`` is set; errors are logged and the loop goes on.

    A pass runs every ``worker_interval`` seconds, or at once when an outbox event commits
    (``ctx.outbox_wakeup``: set in-process, and through PostgreSQL LISTEN/NOTIFY by other
    processes), so a webhook leaves within milliseconds instead of up to one interval.
    """
    interval = max(ctx.settings.worker_interval, 0.05)
    wake = ctx.outbox_wakeup
    listener: asyncio.Task[None] | None = None
    if ctx.settings.listen_url is not None:
        listener = asyncio.create_task(
            wakeup.listen(wakeup.asyncpg_dsn(ctx.settings.listen_url), wake, stop))
    ticks = 0
    try:
        while not stop.is_set():
            wake.clear()  # an event committed from now on triggers another pass
            try:
                await run_once(ctx)
                if ticks % 3600 == 0:
                    await housekeeping(ctx)
            except Exception as exc:  # noqa: BLE001
                log.error("worker_iteration_failed", error=str(exc))
            ticks += 1
            await _sleep_until(stop, wake, seconds=interval)
    finally:
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await listener


async def _sleep_until(stop: asyncio.Event, wake: asyncio.Event, *, seconds: float) -> None:
    """Return after ``seconds``, or earlier when ``stop`` or ``wake`` is set."""
    waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())}
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)


async def run_forever(ctx: AppContext) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    freeze_startup_heap()
    log.info("worker_started")
    await run_worker(ctx, stop=stop)
