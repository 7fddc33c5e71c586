"""Provider-aware expiry: a payment is expired only when its provider cannot take the money
any more.

For a pending payment with a provider object (``provider_reference``) whose adapter can be
asked: query the provider (no transaction open); if it says succeeded or processing,
apply that instead; otherwise ask the adapter to cancel the provider's object, and expire
only once that is done -- unless the cancel found the money taken, which is applied.  An
undecided payment stays pending and is asked again ``reconcile_after`` seconds later (by
this process; see :class:`ExpiryBackoff`), for at most ``EXPIRY_UNCONFIRMED_AFTER``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog

from ownpay.context import AppContext
from ownpay.db import utcnow
from ownpay.errors import GatewayNotFound
from ownpay.gateways import registry
from ownpay.gateways.base import Gateway, GatewayError, Outcome, VerifiedResult
from ownpay.merchants.accounts import gateway_context
from ownpay.payments import states
from ownpay.payments.attention import ATTENTION, flag_for_operator
from ownpay.payments.models import PaymentIntent
from ownpay.payments.presenters import payment_view
from ownpay.payments.service import (
    EXPIRED_REASON,
    apply_result,
    expire_if_due,
    mismatch,
    transition,
)

log = structlog.get_logger("ownpay.payments.expiry")

# A pending payment past ``expires_at`` whose provider cannot be asked (outage, gateway
# disabled, an answer that settles nothing) stays pending, because it may have been paid;
# this long after ``expires_at`` it is expired anyway, flagged for an operator.
EXPIRY_UNCONFIRMED_AFTER = timedelta(hours=24)


class ExpiryBackoff:
    """When each payment whose provider left its expiry undecided may be asked again.

    Process-local on purpose: it only spares a provider (and the worker's loop) repeated
    questions during an outage; another process asking once more is harmless, because
    every step is a compare-and-set."""

    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._until: dict[str, datetime] = {}

    def waiting(self, now: datetime) -> list[str]:
        """Payments not to be asked yet (forgetting those whose wait is over)."""
        for payment_id, until in list(self._until.items()):
            if until <= now:
                del self._until[payment_id]
        return list(self._until)

    def is_waiting(self, payment_id: str, now: datetime) -> bool:
        until = self._until.get(payment_id)
        return until is not None and until > now

    def defer(self, payment_id: str, until: datetime) -> None:
        if len(self._until) >= self.MAX_ENTRIES and payment_id not in self._until:
            self._until.pop(min(self._until, key=self._until.__getitem__))
        self._until[payment_id] = until

    def forget(self, payment_id: str) -> None:
        self._until.pop(payment_id, None)


expiry_backoff = ExpiryBackoff()


def needs_provider_before_expiry(intent: PaymentIntent, adapter: Gateway | None) -> bool:
    return bool(
        adapter is not None and intent.provider_reference and adapter.supports_status_query
    )


async def expire_overdue(
    ctx: AppContext, intent: PaymentIntent, *, actor: str, now: datetime | None = None
) -> PaymentIntent:
    """Expire an overdue pending payment the provider has not taken; returns the payment as
    it now stands (expired, completed, processing, or still pending when undecided)."""
    now = now or utcnow()
    if intent.status != states.PENDING or intent.expires_at > now:
        return intent
    adapter = registry.get(intent.gateway)
    if adapter is None or not needs_provider_before_expiry(intent, adapter):
        return await _expire(ctx, intent, actor=actor, now=now, reason=EXPIRED_REASON)
    if expiry_backoff.is_waiting(intent.id, now):
        return await _unconfirmed(ctx, intent, actor=actor, now=now, detail=None)
    try:
        gctx, account = await gateway_context(ctx, intent.scope, intent.gateway,
                                              transaction_id=intent.id)
        view = payment_view(intent, account.merchant_slug)
        result = await adapter.query_status(gctx, view)
        if result.outcome not in (Outcome.SUCCEEDED, Outcome.PROCESSING):
            result = await adapter.cancel_provider_payment(gctx, view)
    except (GatewayError, GatewayNotFound) as exc:
        log.warning("expiry_provider_unavailable", payment_id=intent.id, error=str(exc))
        return await _unconfirmed(ctx, intent, actor=actor, now=now,
                                  detail=f"provider could not be asked: {exc}")
    match result.outcome:
        case Outcome.SUCCEEDED | Outcome.PROCESSING:
            after = await _paid_at_expiry(ctx, intent, result, actor=actor, now=now)
        case Outcome.CANCELLED:
            detail = f"{EXPIRED_REASON}; {result.reason}" if result.reason else EXPIRED_REASON
            after = await _expire(ctx, intent, actor=actor, now=now, reason=detail)
        case (Outcome.PENDING | Outcome.UNKNOWN | Outcome.FAILED | Outcome.AUTHORIZED
              | Outcome.AWAITING_VERIFICATION):
            return await _unconfirmed(ctx, intent, actor=actor, now=now,
                                      detail=result.reason or f"provider said {result.outcome}")
    expiry_backoff.forget(intent.id)
    return after


async def _expire(
    ctx: AppContext, intent: PaymentIntent, *, actor: str, now: datetime, reason: str
) -> PaymentIntent:
    async with ctx.sessions() as session, session.begin():
        moved = await expire_if_due(session, intent, actor=actor, now=now, reason=reason)
        if moved is not None:
            return moved
        fresh = await session.get(PaymentIntent, intent.id, populate_existing=True)
        assert fresh is not None  # noqa: S101 - payments are never deleted
        return fresh


async def _unconfirmed(
    ctx: AppContext, intent: PaymentIntent, *, actor: str, now: datetime, detail: str | None
) -> PaymentIntent:
    """The provider did not settle it (``detail``; None: not asked, it is waiting): keep
    it pending, or past the bound, expire it flagged for an operator."""
    if now >= intent.expires_at + EXPIRY_UNCONFIRMED_AFTER:
        hours = int(EXPIRY_UNCONFIRMED_AFTER.total_seconds() // 3600)
        reason = (f"{EXPIRED_REASON} without the provider's confirmation after {hours} h "
                  f"({detail or 'no answer'}); {ATTENTION}check the payment at the provider")
        after = await _expire(ctx, intent, actor=actor, now=now, reason=reason)
        if after.status == states.EXPIRED:
            expiry_backoff.forget(intent.id)
            log.error("payment_expired_unconfirmed", payment_id=intent.id,
                      gateway=intent.gateway, detail=detail)
            flag_for_operator(None, gateway=intent.gateway, kind="expired_unconfirmed")
        return after
    if detail is not None:
        expiry_backoff.defer(intent.id, now + timedelta(seconds=ctx.settings.reconcile_after))
        log.info("expiry_deferred", payment_id=intent.id, detail=detail)
    async with ctx.sessions() as session:
        fresh = await session.get(PaymentIntent, intent.id)
    assert fresh is not None  # noqa: S101
    return fresh


async def _paid_at_expiry(
    ctx: AppContext, intent: PaymentIntent, result: VerifiedResult, *, actor: str,
    now: datetime,
) -> PaymentIntent:
    """The provider took (or is taking) the money: record that instead of expiring."""
    async with ctx.sessions() as session, session.begin():
        fresh = await session.get(PaymentIntent, intent.id, populate_existing=True)
        assert fresh is not None  # noqa: S101
        if fresh.status != states.PENDING:
            return fresh
        if result.outcome is Outcome.SUCCEEDED:
            after = await apply_result(session, fresh, result, actor=actor, now=now)
            if after.status != states.PENDING:
                return after
            # Money taken that does not match the payment: it can never complete, and the
            # provider will not take more.  Stop the link, loudly.
            reason = (f"{EXPIRED_REASON}; {ATTENTION}the provider reports a payment that does "
                      f"not match ({mismatch(fresh, result)}): refund it at the provider")
            moved = await expire_if_due(session, fresh, actor=actor, now=now, reason=reason)
            if moved is not None:
                flag_for_operator(session, gateway=fresh.gateway, kind="mismatch_at_expiry")
                return moved
            await session.refresh(fresh)
            return fresh
        # Processing at the provider: money is moving, so the payment must not expire.  The
        # link's time is over, but reconciliation settles processing payments.
        values = {"provider_reference": result.provider_reference} \
            if result.provider_reference else None
        moved = await transition(
            session, payment_id=fresh.id, merchant_id=fresh.merchant_id,
            expected=states.PENDING, to=states.PROCESSING, actor=actor,
            reason=f"{result.reason or 'processing at the provider'} (found at expiry)",
            values=values, now=now,
        )
        if moved is not None:
            return moved
        await session.refresh(fresh)
        return fresh


