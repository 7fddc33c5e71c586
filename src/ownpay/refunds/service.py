"""Refunds: reserve, send once, record, reconcile, and settle offline ones by hand.

The life of a refund (see ``models.py`` for ``stage``):

1. **Create** (one transaction): a conditional UPDATE reserves the amount on the payment
   (``refunded + reserved + amount <= amount``, status ``completed``/``partially_refunded``),
   the refund row is inserted ``pending``/``queued``, and the idempotency record is stored.
   Two concurrent refunds can therefore never together exceed what was paid.
2. **Claim** (compare-and-set ``queued → sending``, committed *before* the call): only the
   claimant talks to the gateway, and after a crash ``sending`` says "may have been sent".
3. **Call** the original gateway's ``refund`` with no transaction open; our refund id is the
   idempotency key.
4. **Record** (one transaction, payment row locked first): ``completed`` → the payment moves
   to ``partially_refunded``/``refunded`` through ``payments.service.transition`` (history row
   + ``payment.*refunded`` event) and the refund journal is posted; ``failed`` → the
   reservation is released and ``refund.failed`` is written to the outbox; anything
   inconclusive leaves it ``pending`` for the worker.

The worker (:func:`reconcile`) sends refunds whose request never claimed them, asks the
gateway about unknown ones (``query_refund``), and re-sends an unconfirmed one only to a
gateway whose refunds are idempotent.  Nothing is ever failed for lack of an answer.
Offline (manual) refunds, and unknown ones no gateway can settle, wait for an operator.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import structlog
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay import money
from ownpay.checkout.gateway_calls import gateway_context_for
from ownpay.context import AppContext
from ownpay.db import utcnow
from ownpay.errors import ApiError, GatewayNotFound, InvalidState, NotFound, ValidationFailed
from ownpay.gateways import registry
from ownpay.gateways.base import Gateway, GatewayError, Outcome, ProviderRefund, RefundResult
from ownpay.ledger import service as ledger
from ownpay.merchants.auth import Principal
from ownpay.pagination import check_page_params, newest_first
from ownpay.payments import service as payments
from ownpay.payments import states
from ownpay.payments.models import PaymentIntent
from ownpay.refunds.models import (
    COMPLETED,
    FAILED,
    PENDING,
    PROCESSING,
    QUEUED,
    SENDING,
    SETTLED,
    STATUSES,
    Refund,
    is_refund_id,
    new_refund_id,
)
from ownpay.timefmt import iso
from ownpay.webhooks.events import record_event

log = structlog.get_logger("ownpay.refunds")

CREATE_REFUND = "refunds.create"
PROVIDER_ACTOR = "provider"  # refunds made at the provider, outside OwnPay
DEFAULT_PAGE = 20
MAX_PAGE = 100
MAX_BACKOFF = 3600.0


class RefundsNotSupported(ApiError):
    status_code = 409
    code = "REFUNDS_NOT_SUPPORTED"


# ---- validation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RefundRequest:
    transaction_id: str
    amount: Decimal | None  # None: everything still refundable
    reason: str | None


def validate_create(body: dict[str, Any]) -> RefundRequest:
    """Shape checks that need no database; every bad field is reported at once."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    txn = body.get("transaction_id")
    if txn is None or (isinstance(txn, str) and not txn.strip()):
        add("transaction_id", "The transaction id field is required.")
    elif not isinstance(txn, str):
        add("transaction_id", "The transaction id must be a string.")
    amount: Decimal | None = None
    raw = body.get("amount")
    if raw is not None and not (isinstance(raw, str) and not raw.strip()):
        try:
            amount = money.to_decimal(raw)
            if amount <= 0:
                add("amount", "The amount must be greater than 0.")
        except money.AmountError as exc:
            add("amount", str(exc))
    reason = body.get("reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 500):
        add("reason", "The reason must be a string of at most 500 characters.")
    if errors:
        raise ValidationFailed(errors=errors)
    assert isinstance(txn, str)
    return RefundRequest(
        transaction_id=txn.strip(), amount=amount,
        reason=(reason.strip() or None) if isinstance(reason, str) else None,
    )


def _minor(request: RefundRequest, payment: PaymentIntent) -> int | None:
    if request.amount is None:
        return None
    try:
        return money.parse_minor(request.amount, payment.currency)
    except money.AmountError as exc:
        raise ValidationFailed(errors={"amount": [str(exc)]}) from None


def _check_refundable(payment: PaymentIntent) -> None:
    if payment.status == states.REFUNDED:
        raise InvalidState("This payment has already been fully refunded.")
    if payment.status not in states.REFUNDABLE:
        raise InvalidState(
            f"Only a paid payment can be refunded; this one is {payment.status}."
        )


def _over_remainder(payment: PaymentIntent) -> ValidationFailed:
    remaining = payment.amount_minor - payment.refunded_minor - payment.refund_reserved_minor
    left = money.to_major(max(remaining, 0), payment.currency)
    if remaining <= 0:
        message = ("Nothing is left to refund: the paid amount is already refunded or held "
                   "by refunds in progress.")
    else:
        message = f"The amount must not exceed the refundable remainder, {left} {payment.currency}."
    return ValidationFailed(errors={"amount": [message]})


# ---- presentation --------------------------------------------------------------------------


def awaiting_operator(refund: Refund, adapter: Gateway | None) -> bool:
    """Pending on a decision only a person can make (offline refund, or an outcome that the
    gateway can neither report nor safely repeat)."""
    if refund.status != PENDING or refund.stage == QUEUED:
        return False
    if adapter is None:
        return True
    if refund.stage == PROCESSING:
        return not adapter.supports_refund_query
    return (
        refund.stage == SENDING
        and refund.next_check_at is None
        and not adapter.supports_refund_query
        and not adapter.idempotent_refunds
    )


def pending_reason(refund: Refund) -> str | None:
    if refund.status != PENDING:
        return None
    if refund.stage == QUEUED:
        return "queued"
    if awaiting_operator(refund, registry.get(refund.gateway)):
        return "awaiting_operator"
    return "awaiting_gateway"


def serialize_refund(refund: Refund) -> dict[str, Any]:
    return {
        "id": refund.id,
        "transaction_id": refund.payment_id,
        "status": refund.status,
        "pending_reason": pending_reason(refund),
        "amount": money.json_number(refund.amount_minor, refund.currency),
        "currency": refund.currency,
        "reason": refund.reason,
        "gateway": refund.gateway,
        "mode": refund.mode,
        "provider_refund_id": refund.provider_refund_id,
        "failure_reason": refund.failure_reason,
        "created_at": iso(refund.created_at),
        "updated_at": iso(refund.updated_at),
        "completed_at": iso(refund.completed_at),
        "failed_at": iso(refund.failed_at),
    }


def _event_brief(refund: Refund) -> dict[str, Any]:
    return {
        "id": refund.id,
        "amount": money.json_number(refund.amount_minor, refund.currency),
        "currency": refund.currency,
        "reason": refund.reason,
        "status": refund.status,
    }


# ---- lookup --------------------------------------------------------------------------------


async def get_refund(
    session: AsyncSession, *, merchant_id: int, mode: str, refund_id: str
) -> Refund:
    """Scoped lookup: another merchant's or mode's refund is a plain 404."""
    if not is_refund_id(refund_id):
        raise NotFound("Refund not found.")
    refund = await session.scalar(
        select(Refund).where(
            Refund.id == refund_id, Refund.merchant_id == merchant_id, Refund.mode == mode
        )
    )
    if refund is None:
        raise NotFound("Refund not found.")
    return refund


async def _load(ctx: AppContext, refund_id: str) -> Refund:
    async with ctx.sessions() as session:
        refund = await session.get(Refund, refund_id)
    assert refund is not None  # noqa: S101 - ids come from our own rows
    return refund


@dataclass(frozen=True)
class RefundFilters:
    transaction_id: str | None = None
    status: str | None = None
    created_from: datetime | None = None  # inclusive
    created_to: datetime | None = None  # exclusive


async def list_refunds(
    session: AsyncSession,
    *,
    merchant_id: int | None,
    mode: str | None,
    filters: RefundFilters,
    limit: int = DEFAULT_PAGE,
    starting_after: str | None = None,
) -> tuple[list[Refund], bool]:
    """Newest first, keyset-paginated on (created_at, id): rows inserted while a client
    pages land before its cursor, so pages never repeat or skip a refund.

    ``merchant_id=None`` (every merchant) is for the operator's CLI only.
    """
    check_page_params(limit=limit, maximum=MAX_PAGE, status=filters.status, statuses=STATUSES)
    R = Refund  # noqa: N806 - reads like the table
    scope = []
    if merchant_id is not None:
        scope.append(R.merchant_id == merchant_id)
    if mode is not None:
        scope.append(R.mode == mode)
    stmt = select(R).where(*scope)
    if filters.transaction_id is not None:
        stmt = stmt.where(R.payment_id == filters.transaction_id)
    if filters.status is not None:
        stmt = stmt.where(R.status == filters.status)
    if filters.created_from is not None:
        stmt = stmt.where(R.created_at >= filters.created_from)
    if filters.created_to is not None:
        stmt = stmt.where(R.created_at < filters.created_to)
    return await newest_first(session, stmt, R, scope=scope, limit=limit,
                              starting_after=starting_after, noun="refund")


# ---- creating --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Idempotency:
    principal: Principal
    key: str
    request_hash: str


async def create_refund(
    ctx: AppContext, principal: Principal, raw_body: bytes, *, idempotency_key: str | None
) -> payments.ApiResult:
    """``POST /api/v1/refunds``: create, send and answer with the refund as it now stands."""
    request = validate_create(payments.parse_json_object(raw_body))
    idem: _Idempotency | None = None
    if idempotency_key:
        idem = _Idempotency(principal, idempotency_key, hashlib.sha256(raw_body).hexdigest())
        replay = await _replay(ctx, idem)
        if replay is not None:
            return replay
    refund = await reserve_and_queue(
        ctx, merchant_id=principal.merchant_id, mode=principal.mode, request=request,
        actor=f"merchant:key:{principal.api_key_id}", idem=idem,
    )
    if isinstance(refund, payments.ApiResult):  # lost an idempotency race: the winner's answer
        return refund
    refund = await send(ctx, refund.id, actor=refund.created_by)
    return payments.ApiResult(201, orjson.dumps(serialize_refund(refund)))


async def create_for_operator(
    ctx: AppContext, *, transaction_id: str, amount: str | None, reason: str | None
) -> Refund:
    """``ownpay refunds create``: the operator names the payment; its merchant and mode
    become the scope."""
    body: dict[str, Any] = {"transaction_id": transaction_id, "amount": amount, "reason": reason}
    request = validate_create(body)
    async with ctx.sessions() as session:
        row = (await session.execute(
            select(PaymentIntent.merchant_id, PaymentIntent.mode)
            .where(PaymentIntent.id == request.transaction_id)
        )).first()
    if row is None:
        raise NotFound(f"Payment {request.transaction_id} not found.")
    refund = await reserve_and_queue(ctx, merchant_id=row[0], mode=row[1], request=request,
                           actor="operator:cli", idem=None)
    assert isinstance(refund, Refund)
    return await send(ctx, refund.id, actor="operator:cli")


async def _replay(ctx: AppContext, idem: _Idempotency) -> payments.ApiResult | None:
    """A replay answers with the same refund, as it stands now."""
    stored = await payments.idempotent_replay(
        ctx, idem.principal, idem.key, idem.request_hash, endpoint=CREATE_REFUND
    )
    if stored is None:
        return None
    refund_id = str(orjson.loads(stored.body).get("id", ""))
    async with ctx.sessions() as session:
        try:
            refund = await get_refund(session, merchant_id=idem.principal.merchant_id,
                                      mode=idem.principal.mode, refund_id=refund_id)
        except NotFound:
            return stored
    return payments.ApiResult(stored.status_code, orjson.dumps(serialize_refund(refund)),
                              replayed=True)


async def reserve_and_queue(
    ctx: AppContext,
    *,
    merchant_id: int,
    mode: str,
    request: RefundRequest,
    actor: str,
    idem: _Idempotency | None = None,
) -> Refund | payments.ApiResult:
    """Step 1: reserve the amount and commit the refund ``queued`` (not sent yet; see
    :func:`send`).  Returns the winner's answer if a concurrent request with the same
    idempotency key got there first."""
    # Reads that open their own sessions come first: SQLite has one connection per process.
    async with ctx.sessions() as session:
        payment = await payments.get_intent(
            session, merchant_id=merchant_id, mode=mode, transaction_id=request.transaction_id
        )
    amount_minor = _minor(request, payment)
    adapter = registry.get(payment.gateway)
    if adapter is None or not adapter.supports_refunds:
        raise RefundsNotSupported(f"Gateway '{payment.gateway}' does not support refunds.")
    account = await payments.active_gateway(
        ctx, merchant_id=merchant_id, mode=mode, gateway=payment.gateway
    )
    if account is None:
        raise GatewayNotFound(f"Gateway '{payment.gateway}' is not configured or inactive.")
    now = utcnow()
    try:
        async with ctx.sessions() as session, session.begin():
            amount = await _reserve(session, payment, amount_minor, now=now)
            refund = Refund(
                id=new_refund_id(), merchant_id=merchant_id, mode=mode, payment_id=payment.id,
                gateway=payment.gateway, amount_minor=amount, currency=payment.currency,
                reason=request.reason, status=PENDING, stage=QUEUED, created_by=actor[:64],
                send_count=0, check_count=0, created_at=now, updated_at=now,
                # The worker sends it if the request that created it never gets to.
                next_check_at=now + _lease(ctx),
            )
            session.add(refund)
            await session.flush()
            if idem is not None:
                body = orjson.dumps(serialize_refund(refund))
                await payments.remember_response(
                    session, idem.principal, idem.key, idem.request_hash, endpoint=CREATE_REFUND,
                    result=payments.ApiResult(201, body), now=now,
                )
    except IntegrityError:
        if idem is None:
            raise
        replay = await _replay(ctx, idem)  # a concurrent request with this key won
        if replay is None:
            raise
        return replay
    log.info("refund_created", refund_id=refund.id, payment_id=payment.id, amount_minor=amount)
    return refund


async def _reserve(
    session: AsyncSession, payment: PaymentIntent, amount_minor: int | None, *, now: datetime
) -> int:
    """Hold ``amount_minor`` (None: all that is left) on the payment, atomically."""
    P = PaymentIntent  # noqa: N806
    current = (await session.scalars(
        select(P).where(P.id == payment.id, P.merchant_id == payment.merchant_id)
        .execution_options(populate_existing=True)
    )).one()
    _check_refundable(current)
    remaining = current.amount_minor - current.refunded_minor - current.refund_reserved_minor
    amount = remaining if amount_minor is None else amount_minor
    if remaining <= 0 or amount > remaining:
        raise _over_remainder(current)
    # The guard is in the UPDATE itself: on PostgreSQL a concurrent reservation that
    # committed after our read makes this match nothing instead of overdrawing.
    result = await session.execute(
        update(P)
        .where(
            P.id == payment.id,
            P.merchant_id == payment.merchant_id,
            P.status.in_(list(states.REFUNDABLE)),
            P.refunded_minor + P.refund_reserved_minor + amount <= P.amount_minor,
        )
        .values(refund_reserved_minor=P.refund_reserved_minor + amount, updated_at=now)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        fresh = (await session.scalars(
            select(P).where(P.id == payment.id).execution_options(populate_existing=True)
        )).one()
        _check_refundable(fresh)
        raise _over_remainder(fresh)
    return amount


# ---- talking to the gateway ------------------------------------------------------------------


def _lease(ctx: AppContext) -> timedelta:
    """How long a sender owns a refund before the worker may look at it."""
    return timedelta(seconds=max(float(ctx.settings.reconcile_after),
                                 ctx.settings.gateway_timeout + 5.0))


def _backoff(ctx: AppContext, checks: int) -> timedelta:
    seconds = float(ctx.settings.reconcile_after) * (2 ** min(checks, 12))
    return timedelta(seconds=min(seconds, MAX_BACKOFF))


async def send(ctx: AppContext, refund_id: str, *, actor: str) -> Refund:
    """Claim a queued refund and send it; whoever loses the claim does nothing."""
    now = utcnow()
    async with ctx.sessions() as session, session.begin():
        claimed = (await session.scalars(
            update(Refund)
            .where(Refund.id == refund_id, Refund.status == PENDING, Refund.stage == QUEUED)
            .values(stage=SENDING, sent_at=now,
                    send_count=Refund.send_count + 1, next_check_at=now + _lease(ctx),
                    updated_at=now)
            .returning(Refund)
            .execution_options(synchronize_session=False, populate_existing=True)
        )).one_or_none()
    if claimed is None:
        return await _load(ctx, refund_id)
    return await _call_gateway(ctx, claimed, actor=actor)


async def _call_gateway(ctx: AppContext, refund: Refund, *, actor: str) -> Refund:
    """Call ``refund`` (no transaction open) and record what it said."""
    adapter = registry.get(refund.gateway)
    async with ctx.sessions() as session:
        payment = await session.get(PaymentIntent, refund.payment_id)
    assert payment is not None  # noqa: S101 - foreign key
    try:
        if adapter is None:
            raise GatewayNotFound(f"Gateway '{refund.gateway}' is not installed.")
        gctx, slug = await gateway_context_for(ctx, payment)
    except Exception as exc:  # noqa: BLE001 - nothing was sent: put it back in the queue
        log.warning("refund_not_sent", refund_id=refund.id, error=str(exc))
        return await _requeue(ctx, refund, error=f"not sent: {exc}")
    log.info("refund_sending", refund_id=refund.id, payment_id=refund.payment_id,
             attempt=refund.send_count, gateway=refund.gateway)
    try:
        result = await adapter.refund(
            gctx, payments.payment_view(payment, slug), amount_minor=refund.amount_minor,
            refund_id=refund.id, reason=refund.reason,
        )
    except Exception as exc:  # noqa: BLE001 - timeout, provider error, bug: outcome unknown
        log.warning("refund_outcome_unknown", refund_id=refund.id, error=str(exc))
        result = RefundResult(outcome=Outcome.UNKNOWN,
                              reason=f"refund call failed: {type(exc).__name__}: {exc}")
    return await record_outcome(ctx, refund.id, result, actor=actor)


async def _requeue(ctx: AppContext, refund: Refund, *, error: str) -> Refund:
    now = utcnow()
    async with ctx.sessions() as session, session.begin():
        await session.execute(
            update(Refund)
            .where(Refund.id == refund.id, Refund.status == PENDING, Refund.stage == SENDING,
                   Refund.send_count == refund.send_count)
            .values(stage=QUEUED, last_error=error[:500], updated_at=now,
                    next_check_at=now + _backoff(ctx, refund.check_count))
        )
    return await _load(ctx, refund.id)


async def record_outcome(
    ctx: AppContext, refund_id: str, result: RefundResult, *, actor: str
) -> Refund:
    """Act on what the gateway said.  Only SUCCEEDED and FAILED settle a refund."""
    now = utcnow()
    async with ctx.sessions() as session, session.begin():
        current = await session.get(Refund, refund_id)
        assert current is not None  # noqa: S101
        adapter = registry.get(current.gateway)
        match result.outcome:
            case Outcome.SUCCEEDED:
                await complete(session, refund_id, provider_refund_id=result.provider_refund_id,
                               actor=actor, now=now)
            case Outcome.FAILED:
                await fail(session, refund_id, reason=result.reason or "refused by the gateway",
                           actor=actor, now=now)
            case Outcome.PROCESSING:
                # Accepted: never sent again.  Without a way to ask, an operator settles it.
                can_ask = adapter is not None and adapter.supports_refund_query
                await session.execute(
                    update(Refund).where(Refund.id == refund_id, Refund.status == PENDING)
                    .values(stage=PROCESSING, updated_at=now,
                            provider_refund_id=func.coalesce(result.provider_refund_id,
                                                             Refund.provider_refund_id),
                            next_check_at=now + _backoff(ctx, current.check_count)
                            if can_ask else None)
                )
            case (Outcome.UNKNOWN | Outcome.PENDING | Outcome.AUTHORIZED
                  | Outcome.AWAITING_VERIFICATION | Outcome.CANCELLED):
                # Inconclusive: stays pending, never failed for lack of an answer.
                retry = adapter is not None and (
                    adapter.supports_refund_query or adapter.idempotent_refunds
                )
                await session.execute(
                    update(Refund).where(Refund.id == refund_id, Refund.status == PENDING)
                    .values(last_error=(result.reason or "outcome unknown")[:500], updated_at=now,
                            next_check_at=now + _backoff(ctx, current.check_count)
                            if retry else None)
                )
    refund = await _load(ctx, refund_id)
    log.info("refund_outcome", refund_id=refund_id, outcome=str(result.outcome),
             status=refund.status, stage=refund.stage)
    return refund


# ---- settling (the caller owns the transaction) ----------------------------------------------


async def _lock_payment(session: AsyncSession, payment_id: str) -> PaymentIntent:
    """Always the payment row first, then the refund: one lock order, no deadlocks."""
    return (await session.scalars(
        select(PaymentIntent).where(PaymentIntent.id == payment_id).with_for_update()
        .execution_options(populate_existing=True)
    )).one()


async def complete(
    session: AsyncSession,
    refund_id: str,
    *,
    provider_refund_id: str | None,
    actor: str,
    now: datetime,
) -> Refund | None:
    """pending → completed; the payment's refunded amount, status, event and the ledger
    move with it.  None if the refund was no longer pending (settled by someone else)."""
    payment_id = await session.scalar(select(Refund.payment_id).where(Refund.id == refund_id))
    if payment_id is None:
        return None
    payment = await _lock_payment(session, payment_id)
    done = (await session.scalars(
        update(Refund)
        .where(Refund.id == refund_id, Refund.status == PENDING)
        .values(status=COMPLETED, stage=SETTLED, completed_at=now, updated_at=now,
                next_check_at=None,
                provider_refund_id=func.coalesce(provider_refund_id, Refund.provider_refund_id))
        .returning(Refund)
        .execution_options(synchronize_session=False, populate_existing=True)
    )).one_or_none()
    if done is None:
        return None
    amount = done.amount_minor
    total = payment.refunded_minor + amount
    to = states.REFUNDED if total >= payment.amount_minor else states.PARTIALLY_REFUNDED
    P = PaymentIntent  # noqa: N806
    moved = await payments.transition(
        session, payment_id=payment.id, merchant_id=payment.merchant_id, expected=payment.status,
        to=to, actor=actor, now=now,
        reason=f"refund {done.id} of {money.to_major(amount, done.currency)} {done.currency}",
        values={"refunded_minor": P.refunded_minor + amount,
                "refund_reserved_minor": P.refund_reserved_minor - amount},
        event_data={"refund": _event_brief(done)},
    )
    if moved is None:  # impossible under the row lock; never record half a refund
        raise RuntimeError(f"payment {payment.id} changed while locked")
    await ledger.record_refund_completed(session, done, now=now)
    log.info("refund_completed", refund_id=done.id, payment_id=payment.id, status=to)
    return done


async def fail(
    session: AsyncSession, refund_id: str, *, reason: str, actor: str, now: datetime
) -> Refund | None:
    """pending → failed; the reservation is released and ``refund.failed`` is emitted."""
    payment_id = await session.scalar(select(Refund.payment_id).where(Refund.id == refund_id))
    if payment_id is None:
        return None
    payment = await _lock_payment(session, payment_id)
    done = (await session.scalars(
        update(Refund)
        .where(Refund.id == refund_id, Refund.status == PENDING)
        .values(status=FAILED, stage=SETTLED, failed_at=now, updated_at=now, next_check_at=None,
                failure_reason=reason[:500])
        .returning(Refund)
        .execution_options(synchronize_session=False, populate_existing=True)
    )).one_or_none()
    if done is None:
        return None
    P = PaymentIntent  # noqa: N806
    await session.execute(
        update(P).where(P.id == payment.id, P.merchant_id == payment.merchant_id)
        .values(refund_reserved_minor=P.refund_reserved_minor - done.amount_minor, updated_at=now)
    )
    await record_event(
        session, merchant_id=done.merchant_id, mode=done.mode, event_type="refund.failed",
        payment_id=payment.id, now=now,
        payload={
            "refund_id": done.id,
            "transaction_id": payment.id,
            "order_id": payment.order_id,
            "amount": money.json_number(done.amount_minor, done.currency),
            "currency": done.currency,
            "status": FAILED,
            "reason": done.failure_reason,
            "gateway": done.gateway,
            "mode": done.mode,
            "refunded_amount": money.json_number(payment.refunded_minor, payment.currency),
            "metadata": payment.metadata_ or {},
        },
    )
    log.info("refund_failed", refund_id=done.id, payment_id=payment.id, actor=actor)
    return done


async def settle_by_operator(
    ctx: AppContext,
    *,
    merchant_id: int,
    mode: str,
    refund_id: str,
    confirm: bool,
    reason: str | None,
    actor: str,
) -> Refund:
    """``…/confirm`` and ``…/fail``: an operator settles an offline (or otherwise
    unresolvable) refund.  Refunds the gateway is still settling are 409."""
    now = utcnow()
    async with ctx.sessions() as session, session.begin():
        refund = await get_refund(session, merchant_id=merchant_id, mode=mode,
                                  refund_id=refund_id)
        if refund.status != PENDING:
            raise InvalidState(f"This refund is already {refund.status}.")
        if not awaiting_operator(refund, registry.get(refund.gateway)):
            raise InvalidState(
                "This refund is being settled with the gateway; it cannot be decided by hand."
            )
        if confirm:
            done = await complete(session, refund.id, provider_refund_id=None, actor=actor,
                                  now=now)
        else:
            done = await fail(session, refund.id, reason=reason or "failed by operator",
                              actor=actor, now=now)
        if done is None:
            raise InvalidState("This refund was settled in the meantime.")
    return await _load(ctx, refund_id)


async def refund_scope(session: AsyncSession, refund_id: str) -> tuple[int, str]:
    """Operator (CLI) use only: the merchant and mode a refund belongs to."""
    row = (await session.execute(
        select(Refund.merchant_id, Refund.mode).where(Refund.id == refund_id)
    )).first()
    if row is None:
        raise NotFound(f"Refund '{refund_id}' does not exist.")
    return int(row[0]), str(row[1])


# ---- the worker ------------------------------------------------------------------------------


async def reconcile(ctx: AppContext, *, now: datetime | None = None, limit: int = 100) -> int:
    """Move along every pending refund that is due; returns how many got settled."""
    now = now or utcnow()
    async with ctx.sessions() as session:
        due = list(await session.scalars(
            select(Refund)
            .where(Refund.status == PENDING, Refund.next_check_at.is_not(None),
                   Refund.next_check_at <= now)
            .order_by(Refund.next_check_at)
            .limit(limit)
        ))
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
        claimed = (await session.scalars(
            update(Refund)
            .where(Refund.id == refund.id, Refund.status == PENDING,
                   Refund.stage == refund.stage, Refund.check_count == refund.check_count)
            .values(check_count=Refund.check_count + 1, updated_at=now,
                    next_check_at=now + _lease(ctx) if can_ask or may_resend else None)
            .returning(Refund)
            .execution_options(synchronize_session=False, populate_existing=True)
        )).one_or_none()
    if claimed is None or adapter is None or not (can_ask or may_resend):
        return await _load(ctx, refund.id)  # taken by another worker, or an operator's now
    async with ctx.sessions() as session:
        payment = await session.get(PaymentIntent, refund.payment_id)
    assert payment is not None  # noqa: S101
    gctx, slug = await gateway_context_for(ctx, payment)
    view = payments.payment_view(payment, slug)
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
            await session.execute(
                update(Refund).where(Refund.id == refund.id, Refund.status == PENDING)
                .values(send_count=Refund.send_count + 1, updated_at=utcnow())
            )
        log.info("refund_resending", refund_id=refund.id, attempt=claimed.send_count + 1)
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
        due = list(await session.scalars(
            select(Refund).where(Refund.payment_id == payment_id, Refund.status == PENDING,
                                 Refund.stage == PROCESSING, Refund.next_check_at.is_not(None))
        ))
    settled = 0
    for refund in due:
        after = await _reconcile_one(ctx, refund, now=now)
        settled += int(after.status != PENDING)
    return settled


# ---- refunds the provider reports (its webhooks) --------------------------------------------
#
# The provider's list of a payment's refunds is the truth: one of ours it reports settled is
# settled here; one nobody sent through OwnPay (made in the provider's dashboard) becomes a
# refund record of ours, created by ``provider``, with the payment's status, event and
# ledger journal -- under the payment's row lock, once per provider refund id, however
# often and however concurrently the provider reports it.


class ProviderRefundsDeferred(GatewayError):
    """The provider's refunds cannot be booked yet; the provider's event stays unprocessed
    (the webhook is answered 503) so the provider sends it again later."""


async def sync_provider_refunds(ctx: AppContext, payment_id: str, *, actor: str) -> str:
    """Re-list the payment's refunds at its provider and bring our books in line.

    Returns a summary for the provider event's row.  Raises GatewayError (or
    :class:`ProviderRefundsDeferred`) when it must be tried again later."""
    async with ctx.sessions() as session:
        payment = await session.get(PaymentIntent, payment_id)
    assert payment is not None  # noqa: S101 - found by the caller
    adapter = registry.get(payment.gateway)
    if adapter is None or not adapter.supports_refund_listing:
        return "recorded only (this gateway cannot list its refunds)"
    gctx, slug = await gateway_context_for(ctx, payment)
    listed = await adapter.list_refunds(gctx, payments.payment_view(payment, slug))
    async with ctx.sessions() as session:
        ours = list(await session.scalars(select(Refund).where(Refund.payment_id == payment_id)))
    by_id = {r.id: r for r in ours}
    by_provider_id = {r.provider_refund_id: r for r in ours if r.provider_refund_id}
    notes: list[str] = []
    outside: list[ProviderRefund] = []
    for item in listed:
        mine = by_id.get(item.refund_id or "") or by_provider_id.get(item.provider_refund_id)
        if mine is None:
            if item.outcome in (Outcome.SUCCEEDED, Outcome.PROCESSING):
                outside.append(item)
            continue
        if mine.status != PENDING:
            continue
        final = item.outcome in (Outcome.SUCCEEDED, Outcome.FAILED)
        if final or (item.outcome is Outcome.PROCESSING and mine.stage != PROCESSING):
            after = await record_outcome(ctx, mine.id, RefundResult(
                outcome=item.outcome, provider_refund_id=item.provider_refund_id,
                reason=item.reason,
            ), actor=actor)
            notes.append(f"refund {mine.id} {after.status}")
    for item in reversed(outside):  # the provider lists newest first; book oldest first
        notes.append(await _book_provider_refund(ctx, payment_id, item))
    return "; ".join(notes) or "nothing to book"


async def _book_provider_refund(ctx: AppContext, payment_id: str, item: ProviderRefund) -> str:
    """Record a refund made at the provider (once per provider refund id)."""
    pid = item.provider_refund_id
    now = utcnow()
    async with ctx.sessions() as session, session.begin():
        payment = await _lock_payment(session, payment_id)
        booked = await session.scalar(
            select(Refund.id).where(Refund.payment_id == payment_id,
                                    Refund.provider_refund_id == pid)
        )
        if booked is not None:
            return f"provider refund {pid} already booked as {booked}"
        amount = item.amount_minor
        if amount is None or amount <= 0 or item.currency.upper() != payment.currency:
            log.error("provider_refund_unbookable", payment_id=payment_id,
                      provider_refund_id=pid, currency=item.currency, amount_minor=amount)
            payments.flag_for_operator(None, gateway=payment.gateway, kind="refund_not_booked")
            return (f"ATTENTION: provider refund {pid} ({amount} {item.currency}) cannot be "
                    f"booked against a {payment.currency} payment")
        shown = f"{money.to_major(amount, payment.currency)} {payment.currency}"
        if payment.status in (states.PENDING, states.PROCESSING):
            # Paid at the provider, but its payment event has not been applied here yet.
            raise ProviderRefundsDeferred(
                f"provider refund {pid}: payment {payment_id} is still {payment.status} here")
        if payment.status not in states.REFUNDABLE:
            if payment.status != states.REFUNDED:
                log.warning("provider_refund_of_unbooked_payment", payment_id=payment_id,
                            provider_refund_id=pid, status=payment.status)
                return (f"provider refund {pid} of {shown}: the payment is {payment.status} "
                        "here (never booked as paid), nothing to book")
        remaining = payment.amount_minor - payment.refunded_minor - payment.refund_reserved_minor
        if payment.status == states.REFUNDED or amount > remaining:
            if payment.refund_reserved_minor > 0:
                # A refund of ours in flight holds part of the amount; the provider refused
                # it or will: book this once that one is settled.
                raise ProviderRefundsDeferred(
                    f"provider refund {pid} of {shown} does not fit next to refunds in flight")
            log.error("provider_refund_exceeds_books", payment_id=payment_id,
                      provider_refund_id=pid, amount_minor=amount, remaining_minor=remaining)
            payments.flag_for_operator(None, gateway=payment.gateway, kind="refund_not_booked")
            return (f"ATTENTION: provider refund {pid} of {shown} exceeds what is left to "
                    f"refund here ({money.to_major(max(remaining, 0), payment.currency)} "
                    f"{payment.currency}); nothing booked")
        refund = Refund(
            id=new_refund_id(), merchant_id=payment.merchant_id, mode=payment.mode,
            payment_id=payment.id, gateway=payment.gateway, amount_minor=amount,
            currency=payment.currency, reason=f"refunded at the provider ({pid})"[:500],
            status=PENDING, stage=PROCESSING, provider_refund_id=pid,
            created_by=PROVIDER_ACTOR, send_count=0, check_count=0, created_at=now,
            updated_at=now,
            # Still settling at the provider: the worker asks about it like one of ours.
            next_check_at=None if item.outcome is Outcome.SUCCEEDED else now + _lease(ctx),
        )
        session.add(refund)
        await session.flush()
        P = PaymentIntent  # noqa: N806
        await session.execute(
            update(P).where(P.id == payment.id, P.merchant_id == payment.merchant_id)
            .values(refund_reserved_minor=P.refund_reserved_minor + amount, updated_at=now)
        )
        if item.outcome is Outcome.SUCCEEDED:
            done = await complete(session, refund.id, provider_refund_id=pid,
                                  actor=PROVIDER_ACTOR, now=now)
            assert done is not None  # noqa: S101 - inserted pending just now, under the lock
    log.info("provider_refund_booked", refund_id=refund.id, payment_id=payment_id,
             provider_refund_id=pid, amount_minor=amount, outcome=str(item.outcome))
    state = "completed" if item.outcome is Outcome.SUCCEEDED else "pending at the provider"
    return f"provider refund {pid} of {shown} booked as {refund.id} ({state})"
