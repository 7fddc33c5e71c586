"""Inbound provider webhooks, for every gateway that declares ``supports_webhooks``.

``POST /gateways/{gateway}/webhooks/{merchant_slug}/{mode}`` (STYLE.md habit 7):

1. resolve the merchant's active account for that gateway and mode (unknown: plain 404);
2. the adapter verifies the provider's signature with that account's secret (else 400);
3. record the provider event once in ``provider_events`` (unique per account and event id);
   a replay of an event already processed stops here with 200;
4. find our payment in that merchant's and mode's scope (our transaction id as the provider
   echoes it, else the provider's reference), re-fetch the provider's object with
   ``query_status`` -- the webhook body is never trusted for the outcome -- and apply it
   with the payments service, marking the event processed in the same transaction.

If the provider cannot be asked, the event stays unprocessed and the answer is 503, so the
provider retries later; a retry of an unprocessed event is processed again (harmless: the
payments service's compare-and-set makes every repeat a no-op).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay.context import AppContext
from ownpay.db import utcnow
from ownpay.errors import GatewayUnavailable, InvalidSignature, NotFound, WebhookTooLarge
from ownpay.gateways import registry
from ownpay.gateways.base import (
    Gateway,
    GatewayError,
    Outcome,
    ProviderEvent,
    ProviderEventKind,
    WebhookRejected,
)
from ownpay.merchants import repository as merchants
from ownpay.merchants.accounts import ActiveGateway, active_gateway, context_for
from ownpay.payments import repository as payment_rows
from ownpay.payments import service as payments
from ownpay.payments import states
from ownpay.payments.attention import ATTENTION, flag_for_operator
from ownpay.payments.models import PaymentIntent
from ownpay.payments.presenters import payment_view
from ownpay.provider_events.models import ProviderEventRecord
from ownpay.refunds.provider_sync import sync_provider_refunds
from ownpay.tenancy import TenantScope

log = structlog.get_logger("ownpay.provider_events.service")

MAX_BODY_BYTES = WebhookTooLarge.limit
_MODES = ("test", "live")


async def receive(
    ctx: AppContext,
    *,
    gateway: str,
    merchant_slug: str,
    mode: str,
    headers: Mapping[str, str],
    body: bytes,
) -> dict[str, Any]:
    """Handle one provider webhook; returns the JSON answer (errors raise ApiError)."""
    adapter = registry.get(gateway)
    if adapter is None or not adapter.supports_webhooks or mode not in _MODES:
        raise NotFound()
    found = await _account(ctx, merchant_slug=merchant_slug, mode=mode, gateway=gateway)
    if found is None or mode not in adapter.modes:
        raise NotFound()
    account = found
    try:
        event = await adapter.parse_webhook(context_for(ctx, account), headers, body)
    except WebhookRejected as exc:
        log.warning("provider_webhook_rejected", gateway=gateway, merchant=merchant_slug,
                    mode=mode, reason=str(exc))
        raise InvalidSignature() from None
    record_id = await _record(ctx, account, event)
    if record_id is None:
        log.info("provider_webhook_duplicate", gateway=gateway, event_id=event.event_id)
        return {"received": True, "duplicate": True}
    try:
        await _act(ctx, adapter, account, event, record_id)
    except GatewayError as exc:
        log.warning("provider_webhook_deferred", gateway=gateway, event_id=event.event_id,
                    error=str(exc))
        raise GatewayUnavailable(status_code=503) from None
    return {"received": True}


# ---- lookups ------------------------------------------------------------------------------


async def _account(
    ctx: AppContext, *, merchant_slug: str, mode: str, gateway: str
) -> ActiveGateway | None:
    async with ctx.sessions() as session:
        merchant = await merchants.active_by_slug(session, merchant_slug)
    if merchant is None:
        return None
    return await active_gateway(ctx, TenantScope(merchant.id, mode), gateway)


async def _find_payment(
    session: AsyncSession, account: ActiveGateway, event: ProviderEvent
) -> PaymentIntent | None:
    """Our payment, only within the account's merchant, mode and gateway."""
    if event.reference:
        found = await payment_rows.by_id_for_gateway(
            session, account.scope, account.gateway, event.reference)
        if found is not None:
            return found
    if event.provider_reference:
        return await payment_rows.by_provider_reference(
            session, account.scope, account.gateway, event.provider_reference)
    return None


# ---- the provider_events row ---------------------------------------------------------------


async def _record(ctx: AppContext, account: ActiveGateway, event: ProviderEvent) -> int | None:
    """Insert the event once; returns its row id to process, None if already processed."""
    values = {
        "account_id": account.id,
        "merchant_id": account.merchant_id,
        "mode": account.mode,
        "gateway": account.gateway,
        "event_id": event.event_id[:255],
        "event_type": event.type[:100],
        "received_at": utcnow(),
    }
    record = ProviderEventRecord
    async with ctx.sessions() as session, session.begin():
        insert = postgresql.insert if ctx.engine.dialect.name == "postgresql" else sqlite.insert
        stmt = (
            insert(record)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["account_id", "event_id"])
            .returning(record.id)
        )
        new_id = (await session.execute(stmt)).scalar_one_or_none()
        if new_id is not None:
            return int(new_id)
        existing = (
            await session.execute(
                select(record.id, record.processed_at).where(
                    record.account_id == account.id, record.event_id == values["event_id"]
                )
            )
        ).one()
    # Seen before: done already, or an earlier attempt could not finish (then try again).
    return None if existing.processed_at is not None else int(existing.id)


async def _mark(
    session: AsyncSession, record_id: int, *, payment_id: str | None, outcome: str
) -> None:
    await session.execute(
        update(ProviderEventRecord)
        .where(ProviderEventRecord.id == record_id)
        .values(processed_at=utcnow(), payment_id=payment_id, outcome=outcome[:500])
    )


# ---- acting on the event -------------------------------------------------------------------


async def _act(
    ctx: AppContext, adapter: Gateway, account: ActiveGateway, event: ProviderEvent,
    record_id: int,
) -> None:
    if event.kind is ProviderEventKind.IGNORED:
        note = event.details.get("note")
        async with ctx.sessions() as session, session.begin():
            await _mark(session, record_id, payment_id=None,
                        outcome=f"ignored {event.type}" + (f" ({note})" if note else ""))
        return
    async with ctx.sessions() as session:
        intent = await _find_payment(session, account, event)
    if intent is None:
        async with ctx.sessions() as session, session.begin():
            await _mark(session, record_id, payment_id=None,
                        outcome=f"{event.type}: no matching payment")
        return
    if event.kind is ProviderEventKind.REFUND:
        outcome = await on_provider_refund(ctx, account=account, payment_id=intent.id, event=event)
        async with ctx.sessions() as session, session.begin():
            await _mark(session, record_id, payment_id=intent.id, outcome=outcome)
        return
    await _settle_payment(ctx, adapter, account, event, record_id, intent)


async def _settle_payment(
    ctx: AppContext, adapter: Gateway, account: ActiveGateway, event: ProviderEvent,
    record_id: int, intent: PaymentIntent,
) -> None:
    """Re-fetch the provider's object and apply it; the webhook body decides nothing."""
    gctx = context_for(ctx, account, transaction_id=intent.id)
    view = payment_view(intent, account.merchant_slug)
    superseded = bool(
        event.provider_reference and view.provider_reference
        and event.provider_reference != view.provider_reference
    )
    if event.provider_reference:
        view = replace(view, provider_reference=event.provider_reference)
    result = await adapter.query_status(gctx, view)
    actor = f"gateway:{account.gateway} webhook"
    async with ctx.sessions() as session, session.begin():
        fresh = await session.get(PaymentIntent, intent.id)
        assert fresh is not None  # noqa: S101 - payments are never deleted
        before = fresh.status
        if superseded and result.outcome not in (Outcome.SUCCEEDED, Outcome.PROCESSING):
            # About an earlier provider object of this payment: only money moving matters.
            outcome = f"{event.type}: earlier provider object, nothing to do ({before})"
        else:
            after = await payments.apply_result(session, fresh, result, actor=actor)
            change = f"{before} -> {after.status}" if after.status != before else \
                f"no change ({after.status})"
            outcome = f"{event.type}: {change}" + (f"; {result.reason}" if result.reason else "")
            if result.outcome is Outcome.SUCCEEDED and after.status not in states.PAID:
                # Money moved at the provider but the payment cannot complete (e.g. it
                # expired meanwhile, or the amounts differ): an operator must look.
                outcome = f"{ATTENTION}paid at the provider, not completed here; " + outcome
                log.error("provider_paid_payment_not_completed", gateway=account.gateway,
                          payment_id=intent.id, status=after.status, event_id=event.event_id)
                flag_for_operator(
                    session, gateway=account.gateway,
                    kind="paid_after_expiry" if after.status == states.EXPIRED
                    else "paid_not_completed",
                )
        await _mark(session, record_id, payment_id=intent.id, outcome=outcome)
    log.info("provider_webhook_processed", gateway=account.gateway, event_id=event.event_id,
             payment_id=intent.id, outcome=outcome)


async def on_provider_refund(
    ctx: AppContext, *, account: ActiveGateway, payment_id: str, event: ProviderEvent
) -> str:
    """A provider reports a refund of one of our payments (Stripe ``charge.refunded``, …).

    The event body decides nothing: the refunds service re-lists the payment's refunds at
    the provider, settles those OwnPay sent and books those made outside OwnPay (e.g. in
    the provider's dashboard), each exactly once.  Returns the outcome text stored on the
    event row; a GatewayError (provider unreachable, or booking deferred) leaves the event
    unprocessed for the provider's retry.
    """
    log.info("provider_refund_event", gateway=account.gateway, merchant_id=account.merchant_id,
             mode=account.mode, payment_id=payment_id, event_id=event.event_id,
             details=dict(event.details))
    summary = await sync_provider_refunds(
        ctx, payment_id, actor=f"gateway:{account.gateway} webhook"
    )
    return f"{event.type}: {summary}"
