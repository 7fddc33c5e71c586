"""Refund flows: reserve, send once, record, reconcile, and settle offline ones by hand.

Each flow opens its own short transactions and **never holds one across a provider call**;
the steps it calls (``steps.py``) take the session.  The life of a refund:

1. **Create** (one transaction): the amount is reserved on the payment
   (``refunded + reserved + amount <= amount``, status ``completed``/``partially_refunded``;
   ``payments.service.reserve_refund``), the refund row is added ``pending``/``queued`` and
   the idempotency record is stored.  Two concurrent refunds can therefore never together
   exceed what was paid.
2. **Claim** (``queued → sending``, committed *before* the call): only the claimant talks to
   the gateway, and after a crash ``sending`` says "may have been sent".
3. **Call** the original gateway's ``refund`` with no transaction open; our refund id is the
   idempotency key.
4. **Record** (one transaction, payment row locked first): ``completed`` → the payment moves
   to ``partially_refunded``/``refunded`` (history row + ``payment.*refunded`` event) and the
   refund journal is posted; ``failed`` → the reservation is released and ``refund.failed``
   is written to the outbox; anything inconclusive leaves it ``pending`` for the worker.

The worker (:func:`reconcile`) sends refunds whose request never claimed them, asks the
gateway about unknown ones (``query_refund``), and re-sends an unconfirmed one only to a
gateway whose refunds are idempotent.  Nothing is ever failed for lack of an answer.
Offline (manual) refunds, and unknown ones no gateway can settle, wait for an operator.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay import audit, money
from ownpay.context import AppContext
from ownpay.db import utcnow
from ownpay.errors import (
    GatewayNotFound,
    InvalidState,
    NotFound,
    RefundsNotSupported,
    ValidationFailed,
)
from ownpay.gateways import registry
from ownpay.gateways.base import Gateway, Outcome, RefundResult
from ownpay.merchants.accounts import active_gateway, gateway_context
from ownpay.payments import refunding
from ownpay.payments import repository as payment_rows
from ownpay.payments.models import PaymentIntent
from ownpay.payments.presenters import payment_view
from ownpay.refunds import repository, steps
from ownpay.refunds.models import Refund, new_refund_id
from ownpay.refunds.presenters import awaiting_operator, serialize_refund_detail
from ownpay.refunds.schemas import RefundRequest, validate_create
from ownpay.refunds.states import PENDING, QUEUED, SENDING
from ownpay.tenancy import TenantScope

log = structlog.get_logger("ownpay.refunds")

CREATE_REFUND = "refunds.create"  # the Idempotency-Key operation name
MAX_BACKOFF = 3600.0


def lease(ctx: AppContext) -> timedelta:
    """How long a sender owns a refund before the worker may look at it."""
    return timedelta(seconds=max(float(ctx.settings.reconcile_after),
                                 ctx.settings.gateway_timeout + 5.0))


def backoff(ctx: AppContext, checks: int) -> timedelta:
    seconds = float(ctx.settings.reconcile_after) * (2 ** min(checks, 12))
    return timedelta(seconds=min(seconds, MAX_BACKOFF))


async def _load(ctx: AppContext, refund_id: str) -> Refund:
    async with ctx.sessions() as session:
        return await repository.load(session, refund_id)


async def detail(ctx: AppContext, refund: Refund) -> dict[str, Any]:
    """The refund's answer with its history (retrieve, confirm, fail)."""
    async with ctx.sessions() as session:
        return serialize_refund_detail(refund, await repository.history(session, refund))


# ---- creating --------------------------------------------------------------------------------


@dataclass
class RefundPlan:
    """A refund request checked against the database before its transaction opens (reads
    that open their own sessions come first: SQLite has one connection per process)."""

    ctx: AppContext
    scope: TenantScope
    request: RefundRequest
    payment: PaymentIntent | None = None
    amount_minor: int | None = None

    async def load(self) -> None:
        async with self.ctx.sessions() as session:
            self.payment = await payment_rows.get_or_404(
                session, self.scope, self.request.transaction_id)
        if self.request.amount is not None:
            try:
                self.amount_minor = money.parse_minor(self.request.amount, self.payment.currency)
            except money.AmountError as exc:
                raise ValidationFailed(errors={"amount": [str(exc)]}) from None
        adapter = registry.get(self.payment.gateway)
        if adapter is None or not adapter.supports_refunds:
            raise RefundsNotSupported(
                f"Gateway '{self.payment.gateway}' does not support refunds.")
        if await active_gateway(self.ctx, self.scope, self.payment.gateway) is None:
            raise GatewayNotFound(
                f"Gateway '{self.payment.gateway}' is not configured or inactive.")


async def reserve(session: AsyncSession, plan: RefundPlan, *, actor: str,
                  audited: audit.Actor | None = None) -> Refund:
    """Step 1 in the caller's transaction: reserve the amount and add the refund ``queued``
    (not sent yet; see :func:`send`), with its audit row when ``audited`` names who."""
    payment = plan.payment
    assert payment is not None  # noqa: S101 - plan.load() ran
    now = utcnow()
    amount = await refunding.reserve_refund(session, payment, plan.amount_minor, now=now)
    refund = Refund(
        id=new_refund_id(), merchant_id=payment.merchant_id, mode=payment.mode,
        payment_id=payment.id, gateway=payment.gateway, amount_minor=amount,
        currency=payment.currency, reason=plan.request.reason, status=PENDING, stage=QUEUED,
        created_by=actor[:64], send_count=0, check_count=0, created_at=now, updated_at=now,
        # The worker sends it if the request that created it never gets to.
        next_check_at=now + lease(plan.ctx),
    )
    await steps.add(session, refund, actor=actor, reason=plan.request.reason, now=now)
    if audited is not None:
        await audit.record(session, audited, "refund.created", merchant_id=refund.merchant_id,
                           mode=refund.mode, object_type="refund", object_id=refund.id,
                           details={"transaction_id": payment.id, "currency": refund.currency,
                                    "amount": money.format_plain(amount, refund.currency),
                                    "reason": plan.request.reason})
    log.info("refund_created", refund_id=refund.id, payment_id=payment.id, amount_minor=amount)
    return refund


async def create(ctx: AppContext, scope: TenantScope, request: RefundRequest, *,
                 actor: str, audited: audit.Actor | None = None) -> Refund:
    """Reserve and send, without an idempotency key (the operator's CLI)."""
    plan = RefundPlan(ctx, scope, request)
    await plan.load()
    async with ctx.sessions() as session, session.begin():
        refund = await reserve(session, plan, actor=actor, audited=audited)
    return await send(ctx, refund.id, actor=actor)


async def create_for_operator(
    ctx: AppContext, *, transaction_id: str, amount: str | None, reason: str | None,
    audited: audit.Actor | None = None,
) -> Refund:
    """``ownpay refunds create``: the operator names the payment; its merchant and mode
    become the scope."""
    request = validate_create({"transaction_id": transaction_id, "amount": amount,
                               "reason": reason})
    async with ctx.sessions() as session:
        payment = await payment_rows.operator_get(session, request.transaction_id)
    if payment is None:
        raise NotFound(f"Payment {request.transaction_id} not found.")
    return await create(ctx, payment.scope, request, actor="operator:cli", audited=audited)


# ---- talking to the gateway ------------------------------------------------------------------


async def send(ctx: AppContext, refund_id: str, *, actor: str) -> Refund:
    """Claim a queued refund and send it; whoever loses the claim does nothing."""
    now = utcnow()
    async with ctx.sessions() as session, session.begin():
        claimed = await steps.claim_for_sending(session, refund_id, now=now,
                                                lease_until=now + lease(ctx), actor=actor)
    if claimed is None:
        return await _load(ctx, refund_id)
    return await _call_gateway(ctx, claimed, actor=actor)


async def _call_gateway(ctx: AppContext, refund: Refund, *, actor: str) -> Refund:
    """Call ``refund`` (no transaction open) and record what it said."""
    adapter = registry.get(refund.gateway)
    async with ctx.sessions() as session:
        payment = await payment_rows.reload_by_id(session, refund.payment_id)
    try:
        if adapter is None:
            raise GatewayNotFound(f"Gateway '{refund.gateway}' is not installed.")
        gctx, account = await gateway_context(ctx, payment.scope, payment.gateway,
                                              transaction_id=payment.id)
    except Exception as exc:  # noqa: BLE001 - nothing was sent: put it back in the queue
        log.warning("refund_not_sent", refund_id=refund.id, error=str(exc))
        now = utcnow()
        async with ctx.sessions() as session, session.begin():
            await steps.requeue(session, refund, error=f"not sent: {exc}", now=now,
                                next_check_at=now + backoff(ctx, refund.check_count),
                                actor=actor)
        return await _load(ctx, refund.id)
    log.info("refund_sending", refund_id=refund.id, payment_id=refund.payment_id,
             attempt=refund.send_count, gateway=refund.gateway)
    try:
        result = await adapter.refund(
            gctx, payment_view(payment, account.merchant_slug),
            amount_minor=refund.amount_minor, refund_id=refund.id, reason=refund.reason,
        )
    except Exception as exc:  # noqa: BLE001 - timeout, provider error, bug: outcome unknown
        log.warning("refund_outcome_unknown", refund_id=refund.id, error=str(exc))
        result = RefundResult(outcome=Outcome.UNKNOWN,
                              reason=f"refund call failed: {type(exc).__name__}: {exc}")
    return await record_outcome(ctx, refund.id, result, actor=actor)


async def record_outcome(
    ctx: AppContext, refund_id: str, result: RefundResult, *, actor: str
) -> Refund:
    """Act on what the gateway said.  Only SUCCEEDED and FAILED settle a refund."""
    now = utcnow()
    async with ctx.sessions() as session, session.begin():
        current = await repository.load(session, refund_id)
        adapter = registry.get(current.gateway)
        match result.outcome:
            case Outcome.SUCCEEDED:
                await steps.complete(session, refund_id, actor=actor, now=now,
                                     provider_refund_id=result.provider_refund_id)
            case Outcome.FAILED:
                await steps.fail(session, refund_id, actor=actor, now=now,
                                 reason=result.reason or "refused by the gateway")
            case Outcome.PROCESSING:
                # Accepted: never sent again.  Without a way to ask, an operator settles it.
                can_ask = adapter is not None and adapter.supports_refund_query
                if current.status == PENDING:
                    await steps.accepted(
                        session, current, provider_refund_id=result.provider_refund_id,
                        next_check_at=now + backoff(ctx, current.check_count)
                        if can_ask else None, actor=actor, now=now)
            case (Outcome.UNKNOWN | Outcome.PENDING | Outcome.AUTHORIZED
                  | Outcome.AWAITING_VERIFICATION | Outcome.CANCELLED):
                # Inconclusive: stays pending, never failed for lack of an answer.
                retry = adapter is not None and (
                    adapter.supports_refund_query or adapter.idempotent_refunds
                )
                await steps.touch(session, refund_id, now=now, values={
                    "last_error": (result.reason or "outcome unknown")[:500],
                    "next_check_at": now + backoff(ctx, current.check_count) if retry else None,
                })
    refund = await _load(ctx, refund_id)
    log.info("refund_outcome", refund_id=refund_id, outcome=str(result.outcome),
             status=refund.status, stage=refund.stage)
    return refund


# ---- the operator --------------------------------------------------------------------------


async def settle_by_operator(
    ctx: AppContext, scope: TenantScope, refund_id: str, *, confirm: bool,
    reason: str | None, actor: str, audited: audit.Actor | None = None,
) -> Refund:
    """``…/confirm`` and ``…/fail``: an operator settles an offline (or otherwise
    unresolvable) refund.  Refunds the gateway is still settling are 409.  ``audited``: who
    to name in the audit log (a row in the same transaction)."""
    now = utcnow()
    async with ctx.sessions() as session, session.begin():
        refund = await repository.get_or_404(session, scope, refund_id)
        if refund.status != PENDING:
            raise InvalidState(f"This refund is already {refund.status}.")
        if not awaiting_operator(refund, registry.get(refund.gateway)):
            raise InvalidState(
                "This refund is being settled with the gateway; it cannot be decided by hand."
            )
        if confirm:
            done = await steps.complete(session, refund.id, provider_refund_id=None,
                                        actor=actor, now=now, reason=reason)
        else:
            done = await steps.fail(session, refund.id, reason=reason or "failed by operator",
                                    actor=actor, now=now)
        if done is None:
            raise InvalidState("This refund was settled in the meantime.")
        if audited is not None:
            await audit.record(session, audited, "refund.confirmed" if confirm
                               else "refund.failed", merchant_id=scope.merchant_id,
                               mode=scope.mode, object_type="refund", object_id=refund_id,
                               details={"status": {"before": PENDING, "after": done.status},
                                        "reason": reason})
    return await _load(ctx, refund_id)


# ---- the worker ------------------------------------------------------------------------------


async def reconcile(ctx: AppContext, *, now: datetime | None = None, limit: int = 100) -> int:
    """Move along every pending refund that is due; returns how many got settled."""
    now = now or utcnow()
    async with ctx.sessions() as session:
        due = await repository.due_for_reconcile(session, now=now, limit=limit)
    settled = 0
    for refund in due:
        try:
            after = await _reconcile_one(ctx, refund, now=now)
        except Exception as exc:  # noqa: BLE001 - one refund's trouble must not stop the loop
            log.warning("refund_reconcile_failed", refund_id=refund.id, error=str(exc))
            continue
        settled += int(after.status != PENDING)
    return settled


async def _reconcile_one(ctx: AppContext, refund: Refund, *, now: datetime) -> Refund:
    if refund.stage == QUEUED:  # its request never sent it (crash, or the gateway was down)
        return await send(ctx, refund.id, actor="worker:refunds")
    adapter = registry.get(refund.gateway)
    can_ask = adapter is not None and adapter.supports_refund_query
    may_resend = adapter is not None and adapter.idempotent_refunds and refund.stage == SENDING
    # Take it for one lease (compare-and-set on check_count, so one worker at a time).
    async with ctx.sessions() as session, session.begin():
        claimed = await steps.touch(
            session, refund.id, now=now,
            values={"check_count": Refund.check_count + 1,
                    "next_check_at": now + lease(ctx) if can_ask or may_resend else None},
            also=(Refund.stage == refund.stage, Refund.check_count == refund.check_count),
        )
    if claimed is None or adapter is None or not (can_ask or may_resend):
        return await _load(ctx, refund.id)  # taken by another worker, or an operator's now
    return await _ask_or_resend(ctx, adapter, claimed, can_ask=can_ask, may_resend=may_resend)


async def _ask_or_resend(ctx: AppContext, adapter: Gateway, refund: Refund, *, can_ask: bool,
                         may_resend: bool) -> Refund:
    async with ctx.sessions() as session:
        payment = await payment_rows.reload_by_id(session, refund.payment_id)
    gctx, account = await gateway_context(ctx, payment.scope, payment.gateway,
                                          transaction_id=payment.id)
    view = payment_view(payment, account.merchant_slug)
    result = RefundResult(outcome=Outcome.UNKNOWN, reason="refund outcome unknown")
    if can_ask:
        try:
            result = await adapter.query_refund(
                gctx, view, refund_id=refund.id, provider_refund_id=refund.provider_refund_id
            )
        except Exception as exc:  # noqa: BLE001
            result = RefundResult(outcome=Outcome.UNKNOWN, reason=f"refund query failed: {exc}")
        if result.outcome in (Outcome.SUCCEEDED, Outcome.FAILED, Outcome.PROCESSING):
            return await record_outcome(ctx, refund.id, result, actor="worker:refunds")
    if may_resend:
        # Never confirmed as received; the gateway deduplicates by our refund id.
        async with ctx.sessions() as session, session.begin():
            await steps.touch(session, refund.id, now=utcnow(),
                              values={"send_count": Refund.send_count + 1})
        log.info("refund_resending", refund_id=refund.id, attempt=refund.send_count + 1)
        try:
            result = await adapter.refund(
                gctx, view, amount_minor=refund.amount_minor, refund_id=refund.id,
                reason=refund.reason,
            )
        except Exception as exc:  # noqa: BLE001
            result = RefundResult(outcome=Outcome.UNKNOWN,
                                  reason=f"refund call failed: {type(exc).__name__}: {exc}")
    return await record_outcome(ctx, refund.id, result, actor="worker:refunds")


async def reconcile_payment(ctx: AppContext, payment_id: str) -> int:
    """Settle a payment's pending refunds now (e.g. when its provider reports a refund
    webhook): each is asked about at once instead of at its next scheduled check.

    Only refunds the gateway acknowledged (``processing``) are hurried: one being sent right
    now keeps its sender's lease.  Refunds that wait for an operator are left alone."""
    now = utcnow()
    async with ctx.sessions() as session:
        due = await repository.processing_of_payment(session, payment_id)
    settled = 0
    for refund in due:
        after = await _reconcile_one(ctx, refund, now=now)
        settled += int(after.status != PENDING)
    return settled

