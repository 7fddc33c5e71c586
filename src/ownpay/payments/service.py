"""Payment intents: creation, lookup, and the one function that changes a status.

``transition`` is the only writer of ``payment_intents.status``.  It is a compare-and-set
(``UPDATE … WHERE id = :id AND status IN (:expected)``) that, in the caller's transaction,
also writes the status-history row and the outbox event.  A repeated callback or a double
click therefore finds nothing to update and does nothing.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import orjson
import structlog
from prometheus_client import Counter
from sqlalchemy import Insert, Table, and_, bindparam, delete, exists, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from ownpay import ids, jsoncodec, metrics, money
from ownpay.context import AppContext
from ownpay.db import utcnow
from ownpay.errors import (
    ApiError,
    Conflict,
    GatewayNotFound,
    InvalidJson,
    InvalidState,
    NotFound,
    ValidationFailed,
)
from ownpay.gateways import registry
from ownpay.gateways.base import Gateway, GatewayError, Outcome, PaymentView, VerifiedResult
from ownpay.ledger import service as ledger
from ownpay.merchants.auth import Principal
from ownpay.merchants.service import ActiveGateway, find_active_gateway
from ownpay.payments import states
from ownpay.payments.models import (
    PAID_ORDER_CONDITION,
    IdempotencyRecord,
    PaymentIntent,
    PaymentStatusHistory,
)
from ownpay.payments.schemas import validate_create
from ownpay.timefmt import iso, iso_required
from ownpay.webhooks.events import record_payment_event

log = structlog.get_logger("ownpay.payments")

IDEMPOTENCY_TTL = timedelta(hours=48)

# A pending payment past ``expires_at`` whose provider cannot be asked (outage, gateway
# disabled, an answer that settles nothing) stays pending, because it may have been paid;
# this long after ``expires_at`` it is expired anyway, flagged for an operator.
EXPIRY_UNCONFIRMED_AFTER = timedelta(hours=24)
EXPIRED_REASON = "payment link expired"
ATTENTION = "ATTENTION: "

# Money a provider holds that OwnPay could not book or confirm (docs/operations.md).
PAYMENTS_NEEDING_ATTENTION = Counter(
    "ownpay_payments_attention_total",
    "Payments an operator must look at: paid after expiry, expired unconfirmed, mismatches",
    ["gateway", "kind"],
)


def flag_for_operator(session: AsyncSession | None, *, gateway: str, kind: str) -> None:
    """Count a payment that needs an operator (after the commit when a session is given)."""
    counter = PAYMENTS_NEEDING_ATTENTION.labels(gateway=gateway, kind=kind)
    if session is None:
        counter.inc()
    else:
        metrics.after_commit(session, counter.inc)


class IllegalTransition(InvalidState):
    pass


class DuplicateProviderTransaction(ApiError):
    status_code = 409
    code = "DUPLICATE_PROVIDER_TRANSACTION"
    message = "This transaction ID has already been used for another payment."


# ---- creation -----------------------------------------------------------------------------


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """Decode strictly (``jsoncodec.loads_strict``: exact decimals, bounded numbers, no NUL
    or lone surrogates); anything but an object is INVALID_JSON."""
    try:
        body = jsoncodec.loads_strict(raw)
    except jsoncodec.InvalidJsonBody as exc:
        raise InvalidJson(str(exc)) from None
    if not isinstance(body, dict):
        raise InvalidJson("The request body must be a JSON object.")
    return body


async def active_gateway(
    ctx: AppContext, *, merchant_id: int, mode: str, gateway: str
) -> ActiveGateway | None:
    key = (merchant_id, mode, gateway)
    cached = ctx.gateway_accounts.get(key)
    if cached is not None:
        return cached if isinstance(cached, ActiveGateway) else None
    async with ctx.sessions() as session:
        account = await find_active_gateway(
            session, merchant_id=merchant_id, mode=mode, gateway=gateway
        )
    ctx.gateway_accounts.put(key, account if account is not None else False)
    return account


def merchant_base_url(ctx: AppContext, principal_base_url: str | None) -> str:
    return (principal_base_url or ctx.settings.base_url).rstrip("/")


@dataclass(frozen=True)
class ApiResult:
    status_code: int
    body: bytes
    replayed: bool = False


async def create_intent(
    ctx: AppContext, principal: Principal, raw_body: bytes, *, idempotency_key: str | None
) -> ApiResult:
    body = parse_json_object(raw_body)
    new, errors = validate_create(body, max_minor=ctx.settings.max_amount_minor)
    gateway_slug = body.get("gateway") if isinstance(body.get("gateway"), str) else None
    adapter = registry.get(gateway_slug.strip()) if gateway_slug else None
    if adapter is not None and new is not None:
        errors = _gateway_refusals(adapter, new.amount_minor, new.currency)
        new = None if errors else new
    if new is None:
        raise ValidationFailed(errors=errors)

    account = await active_gateway(
        ctx, merchant_id=principal.merchant_id, mode=principal.mode, gateway=new.gateway
    )
    if account is None or adapter is None or principal.mode not in adapter.modes:
        raise GatewayNotFound(f"Gateway '{new.gateway}' is not configured or inactive.")

    request_hash = hashlib.sha256(raw_body).hexdigest() if idempotency_key else ""
    if idempotency_key:
        replay = await idempotent_replay(
            ctx, principal, idempotency_key, request_hash, endpoint=CREATE_INTENT
        )
        if replay is not None:
            return replay

    now = utcnow()
    lifetime = new.expires_in or principal.merchant_intent_lifetime or ctx.settings.intent_lifetime
    expires_at = (now + timedelta(seconds=lifetime)).replace(microsecond=0)
    txn = ids.transaction_id()
    response = {
        "success": True,
        "transaction_id": txn,
        "payment_url": f"{merchant_base_url(ctx, principal.merchant_base_url)}/checkout/{txn}",
        "status": "pending",
        "expires_at": iso_required(expires_at),
    }
    response_bytes = orjson.dumps(response)
    values: dict[str, Any] = {
        "id": txn,
        "merchant_id": principal.merchant_id,
        "mode": principal.mode,
        "gateway": new.gateway,
        "status": states.PENDING,
        "amount_minor": new.amount_minor,
        "currency": new.currency,
        "order_id": new.order_id,
        "customer_name": new.customer_name,
        "customer_email": new.customer_email,
        "customer_phone": new.customer_phone,
        "description": new.description,
        "return_url": new.return_url,
        "cancel_url": new.cancel_url,
        "metadata": new.metadata,
        "created_at": now,
        "updated_at": now,
        "expires_at": expires_at,
        "attempts": 0,
    }
    try:
        # Core on a plain connection, one statement: the ORM unit of work and building the
        # statement anew per request would cost more CPU than the database round trip.
        async with ctx.engine.begin() as conn:
            result = await conn.execute(_insert_unless_order_paid(), values)
            if result.rowcount != 1:
                raise Conflict(
                    f"Order '{new.order_id}' has already been paid.", code="ORDER_ALREADY_PAID"
                )
            if idempotency_key:
                await remember_response(
                    conn, principal, idempotency_key, request_hash, endpoint=CREATE_INTENT,
                    result=ApiResult(201, response_bytes), now=now,
                )
    except IntegrityError:
        if not idempotency_key:
            raise
        # A concurrent request with the same key won the race; its answer is ours.
        replay = await idempotent_replay(
            ctx, principal, idempotency_key, request_hash, endpoint=CREATE_INTENT
        )
        if replay is None:
            raise
        return replay
    return ApiResult(201, response_bytes)


def _gateway_refusals(adapter: Gateway, amount_minor: int, currency: str) -> dict[str, list[str]]:
    """What the chosen gateway cannot charge, asked through its declared checks."""
    if not adapter.currency_supported(currency):
        allowed = ", ".join(sorted(adapter.currencies or ()))
        return {"currency": [f"Gateway '{adapter.slug}' accepts only: {allowed}."]}
    reason = adapter.validate_amount(amount_minor, currency)
    return {"amount": [reason]} if reason else {}


_INSERT_COLUMNS = (
    "id", "merchant_id", "mode", "gateway", "status", "amount_minor", "currency", "order_id",
    "customer_name", "customer_email", "customer_phone", "description", "return_url",
    "cancel_url", "metadata", "created_at", "updated_at", "expires_at", "attempts",
)


@functools.cache
def _insert_unless_order_paid() -> Insert:
    """``INSERT … SELECT :values WHERE NOT EXISTS (a paid payment of the same order)``.

    Built once with bind parameters, so SQLAlchemy compiles it once per dialect; the
    order check and the insert are one statement (one round trip, no race between them).
    """
    table = cast(Table, PaymentIntent.__table__)
    already_paid = exists().where(
        table.c.merchant_id == bindparam("merchant_id"),
        table.c.mode == bindparam("mode"),
        table.c.order_id == bindparam("order_id"),
        text(PAID_ORDER_CONDITION),
    )
    values = select(*[bindparam(name, type_=table.c[name].type) for name in _INSERT_COLUMNS])
    return insert(table).from_select(list(_INSERT_COLUMNS), values.where(~already_paid))


# ---- idempotency (every creating endpoint) -------------------------------------------------
#
# ``Idempotency-Key``: the first request's response is stored in the same transaction as
# what it created; the same key with the same body within 48 h replays it (``replayed``);
# the same key with another body, or on another endpoint, is 409 IDEMPOTENCY_KEY_REUSED.
# Of two concurrent first requests, the loser's transaction fails on the key's primary key,
# rolls back everything it did, and replays the winner's answer.

CREATE_INTENT = "payment_intents.create"


async def idempotent_replay(
    ctx: AppContext, principal: Principal, key: str, request_hash: str, *, endpoint: str
) -> ApiResult | None:
    async with ctx.sessions() as session:
        record = await session.get(IdempotencyRecord, (principal.merchant_id, principal.mode, key))
    if record is None or record.created_at < utcnow() - IDEMPOTENCY_TTL:
        return None
    if record.request_hash != request_hash or record.endpoint != endpoint:
        raise Conflict(
            "This Idempotency-Key was already used with a different request body.",
            code="IDEMPOTENCY_KEY_REUSED",
        )
    return ApiResult(record.status_code, record.response_body, replayed=True)


async def remember_response(
    conn: AsyncSession | AsyncConnection,
    principal: Principal,
    key: str,
    request_hash: str,
    *,
    endpoint: str,
    result: ApiResult,
    now: datetime,
) -> None:
    """Store ``result`` for ``key`` in the caller's transaction (IntegrityError: key taken)."""
    await conn.execute(
        insert(IdempotencyRecord).values(
            merchant_id=principal.merchant_id,
            mode=principal.mode,
            key=key,
            endpoint=endpoint,
            request_hash=request_hash,
            status_code=result.status_code,
            response_body=result.body,
            created_at=now,
        )
    )


async def purge_idempotency_keys(session: AsyncSession, *, now: datetime) -> int:
    result = await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - IDEMPOTENCY_TTL)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# ---- lookup and presentation --------------------------------------------------------------


async def get_intent(
    session: AsyncSession, *, merchant_id: int, mode: str, transaction_id: str
) -> PaymentIntent:
    """Scoped lookup: another merchant's or mode's id is a plain 404."""
    if not ids.is_transaction_id(transaction_id):
        raise NotFound("Payment intent not found.")
    intent = await session.scalar(
        select(PaymentIntent).where(
            PaymentIntent.id == transaction_id,
            PaymentIntent.merchant_id == merchant_id,
            PaymentIntent.mode == mode,
        )
    )
    if intent is None:
        raise NotFound("Payment intent not found.")
    return intent


async def history(session: AsyncSession, intent: PaymentIntent) -> list[PaymentStatusHistory]:
    stmt = (
        select(PaymentStatusHistory)
        .where(
            PaymentStatusHistory.payment_id == intent.id,
            PaymentStatusHistory.merchant_id == intent.merchant_id,
        )
        .order_by(PaymentStatusHistory.id)
    )
    return list(await session.scalars(stmt))


def serialize_intent(
    intent: PaymentIntent, rows: Iterable[PaymentStatusHistory], *, base_url: str
) -> dict[str, Any]:
    status_history = [
        {"from_status": None, "to_status": "pending", "actor": "api", "reason": "created",
         "at": iso(intent.created_at)}
    ] + [
        {"from_status": r.from_status, "to_status": r.to_status, "actor": r.actor,
         "reason": r.reason, "at": iso(r.created_at)}
        for r in rows
    ]
    return {
        "transaction_id": intent.id,
        "status": intent.status,
        "mode": intent.mode,
        "gateway": intent.gateway,
        "amount": money.json_number(intent.amount_minor, intent.currency),
        "currency": intent.currency,
        "order_id": intent.order_id,
        "customer": {
            "name": intent.customer_name,
            "email": intent.customer_email,
            "phone": intent.customer_phone,
        },
        "description": intent.description,
        "metadata": intent.metadata_,
        "payment_url": f"{base_url}/checkout/{intent.id}",
        "return_url": intent.return_url,
        "cancel_url": intent.cancel_url,
        "provider_reference": intent.provider_reference,
        "provider_transaction_id": intent.provider_txn_id,
        "failure_reason": intent.failure_reason,
        "created_at": iso(intent.created_at),
        "expires_at": iso(intent.expires_at),
        "paid_at": iso(intent.paid_at),
        # Known once paid: our fee and what the merchant nets (amount - fee).
        "fee": _amount_or_none(intent.fee_minor, intent.currency),
        "net_amount": _amount_or_none(intent.net_minor, intent.currency),
        "refunded_amount": money.json_number(intent.refunded_minor or 0, intent.currency),
        "status_history": status_history,
    }


def _amount_or_none(minor: int | None, currency: str) -> int | float | None:
    return None if minor is None else money.json_number(minor, currency)


def payment_view(intent: PaymentIntent, merchant_slug: str) -> PaymentView:
    return PaymentView(
        transaction_id=intent.id,
        merchant_slug=merchant_slug,
        mode=intent.mode,
        status=intent.status,
        amount_minor=intent.amount_minor,
        currency=intent.currency,
        order_id=intent.order_id,
        description=intent.description,
        customer_name=intent.customer_name,
        customer_email=intent.customer_email,
        customer_phone=intent.customer_phone,
        expires_at=intent.expires_at,
        provider_reference=intent.provider_reference,
        provider_txn_id=intent.provider_txn_id,
        submission=intent.submission,
        attempts=intent.attempts,
    )


# ---- the state machine --------------------------------------------------------------------


async def transition(
    session: AsyncSession,
    *,
    payment_id: str,
    merchant_id: int,
    expected: str,
    to: str,
    actor: str,
    reason: str | None = None,
    values: Mapping[str, Any] | None = None,
    only_if_unexpired_at: datetime | None = None,
    only_if_expired_at: datetime | None = None,
    now: datetime | None = None,
    event_data: dict[str, Any] | None = None,
) -> PaymentIntent | None:
    """Move a payment from ``expected`` to ``to``; None if someone else moved it first.

    Raises :class:`IllegalTransition` (and logs) for a move the state machine forbids.
    A move to ``completed`` also stores the fee and posts the ledger journals, in the same
    transaction and only when the compare-and-set succeeded: exactly one posting.
    ``event_data`` adds fields to the outbox event's payload.
    """
    if not states.is_allowed(expected, to):
        log.warning("illegal_transition", payment_id=payment_id, from_=expected, to=to, actor=actor)
        raise IllegalTransition(f"A payment cannot move from {expected} to {to}.")
    now = now or utcnow()
    changes: dict[str, Any] = {"status": to, "updated_at": now, **(values or {})}
    if to == states.COMPLETED:
        changes.setdefault("paid_at", now)
    if to == states.FAILED:
        changes.setdefault("failure_reason", (reason or "")[:500] or None)
    conditions = [
        PaymentIntent.id == payment_id,
        PaymentIntent.merchant_id == merchant_id,
        PaymentIntent.status == expected,
    ]
    if only_if_unexpired_at is not None:
        conditions.append(PaymentIntent.expires_at > only_if_unexpired_at)
    if only_if_expired_at is not None:
        conditions.append(PaymentIntent.expires_at <= only_if_expired_at)
    stmt = (
        update(PaymentIntent)
        .where(and_(*conditions))
        .values(**changes)
        .returning(PaymentIntent)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    intent = (await session.scalars(stmt)).one_or_none()
    if intent is None:
        return None
    if to == states.COMPLETED:
        intent = await ledger.record_payment_completed(session, intent, now=now)
    session.add(
        PaymentStatusHistory(
            payment_id=payment_id,
            merchant_id=merchant_id,
            from_status=expected,
            to_status=to,
            actor=actor[:64],
            reason=(reason or None) and reason[:500],
            created_at=now,
        )
    )
    await record_payment_event(session, intent, now=now, reason=reason, extra=event_data)
    await session.flush()
    metrics.count_transition(session, gateway=intent.gateway, to=to)
    log.info("payment_transition", payment_id=payment_id, to=to, actor=actor)
    return intent


async def apply_result(
    session: AsyncSession,
    intent: PaymentIntent,
    result: VerifiedResult,
    *,
    actor: str,
    now: datetime | None = None,
) -> PaymentIntent:
    """Act on a gateway's verified statement.  Returns the payment as it now stands."""
    now = now or utcnow()
    current = intent.status
    moved: PaymentIntent | None = None
    extra: dict[str, Any] = {}
    if result.provider_reference:
        extra["provider_reference"] = result.provider_reference
    match result.outcome:
        case Outcome.SUCCEEDED:
            mismatch = _mismatch(intent, result)
            if mismatch:
                log.error("verification_mismatch", payment_id=intent.id, detail=mismatch)
                return intent
            if result.provider_txn_id:
                extra["provider_txn_id"] = result.provider_txn_id
            if current in (states.PENDING, states.PROCESSING):
                moved = await transition(
                    session, payment_id=intent.id, merchant_id=intent.merchant_id,
                    expected=current, to=states.COMPLETED, actor=actor, reason=result.reason,
                    values=extra, now=now,
                )
        case Outcome.PROCESSING:
            if current == states.PENDING:
                moved = await transition(
                    session, payment_id=intent.id, merchant_id=intent.merchant_id,
                    expected=current, to=states.PROCESSING, actor=actor, reason=result.reason,
                    values=extra, only_if_unexpired_at=now, now=now,
                )
        case Outcome.AWAITING_VERIFICATION:
            if current == states.PENDING:
                if result.provider_txn_id:
                    await _ensure_provider_txn_unused(session, intent, result.provider_txn_id)
                    extra["provider_txn_id"] = result.provider_txn_id
                extra["submission"] = dict(result.submission or {})
                try:
                    async with session.begin_nested():
                        moved = await transition(
                            session, payment_id=intent.id, merchant_id=intent.merchant_id,
                            expected=current, to=states.AWAITING_VERIFICATION, actor=actor,
                            reason=result.reason, values=extra, only_if_unexpired_at=now, now=now,
                        )
                except IntegrityError:
                    raise DuplicateProviderTransaction() from None
        case Outcome.FAILED:
            if current in (states.PENDING, states.PROCESSING):
                moved = await transition(
                    session, payment_id=intent.id, merchant_id=intent.merchant_id,
                    expected=current, to=states.FAILED, actor=actor, reason=result.reason,
                    values=extra, now=now,
                )
        case Outcome.CANCELLED:
            if current == states.PENDING:
                moved = await transition(
                    session, payment_id=intent.id, merchant_id=intent.merchant_id,
                    expected=current, to=states.CANCELLED, actor=actor, reason=result.reason,
                    values=extra, now=now,
                )
        case Outcome.PENDING | Outcome.UNKNOWN | Outcome.AUTHORIZED:
            if extra and current == states.PENDING:
                await session.execute(
                    update(PaymentIntent)
                    .where(PaymentIntent.id == intent.id, PaymentIntent.status == current)
                    .values(**extra, updated_at=now)
                )
    if moved is not None:
        return moved
    await session.refresh(intent)
    return intent


def _mismatch(intent: PaymentIntent, result: VerifiedResult) -> str | None:
    if result.amount_minor != intent.amount_minor:
        return f"amount {result.amount_minor} != {intent.amount_minor}"
    if (result.currency or "").upper() != intent.currency:
        return f"currency {result.currency} != {intent.currency}"
    if result.reference is not None and result.reference != intent.id:
        return f"reference {result.reference} != {intent.id}"
    return None


async def _ensure_provider_txn_unused(
    session: AsyncSession, intent: PaymentIntent, provider_txn_id: str
) -> None:
    used = await session.scalar(
        select(PaymentIntent.id).where(
            PaymentIntent.merchant_id == intent.merchant_id,
            PaymentIntent.provider_txn_id == provider_txn_id,
            PaymentIntent.id != intent.id,
        )
    )
    if used is not None:
        raise DuplicateProviderTransaction()


async def cancel(
    session: AsyncSession, intent: PaymentIntent, *, actor: str, reason: str | None = None
) -> PaymentIntent:
    if intent.status != states.PENDING:
        raise InvalidState(f"Only a pending payment can be cancelled; this one is {intent.status}.")
    moved = await transition(
        session, payment_id=intent.id, merchant_id=intent.merchant_id, expected=states.PENDING,
        to=states.CANCELLED, actor=actor, reason=reason or "cancelled",
    )
    if moved is None:
        await session.refresh(intent)
        raise InvalidState(f"Only a pending payment can be cancelled; this one is {intent.status}.")
    return moved


async def review_manual(
    session: AsyncSession, intent: PaymentIntent, *, approve: bool, actor: str, reason: str | None
) -> PaymentIntent:
    """Operator decision on an offline payment awaiting verification."""
    if intent.status != states.AWAITING_VERIFICATION:
        raise InvalidState(
            f"Only a payment awaiting verification can be reviewed; this one is {intent.status}."
        )
    to = states.COMPLETED if approve else states.FAILED
    moved = await transition(
        session, payment_id=intent.id, merchant_id=intent.merchant_id,
        expected=states.AWAITING_VERIFICATION, to=to, actor=actor,
        reason=reason or ("approved by operator" if approve else "rejected by operator"),
    )
    if moved is None:
        await session.refresh(intent)
        raise InvalidState(f"The payment is now {intent.status}.")
    return moved


async def retry(
    session: AsyncSession, intent: PaymentIntent, *, now: datetime
) -> PaymentIntent | None:
    """A failed attempt may be retried by the customer while the link has not expired."""
    return await transition(
        session, payment_id=intent.id, merchant_id=intent.merchant_id, expected=states.FAILED,
        to=states.PENDING, actor="customer", reason="customer retried after a failed attempt",
        values={"attempts": intent.attempts + 1, "provider_reference": None},
        only_if_unexpired_at=now, now=now,
    )


async def expire_if_due(
    session: AsyncSession, intent: PaymentIntent, *, actor: str, now: datetime,
    reason: str = EXPIRED_REASON,
) -> PaymentIntent | None:
    """The compare-and-set ``pending -> expired`` alone.  Callers that may face a provider
    object use :func:`expire_overdue`, which asks the provider first."""
    if intent.status != states.PENDING or intent.expires_at > now:
        return None
    return await transition(
        session, payment_id=intent.id, merchant_id=intent.merchant_id, expected=states.PENDING,
        to=states.EXPIRED, actor=actor, reason=reason, only_if_expired_at=now, now=now,
    )


# ---- provider-aware expiry ----------------------------------------------------------------
#
# A payment is expired only when its provider cannot take the money any more.  For a
# pending payment with a provider object (``provider_reference``) whose adapter can be
# asked: query the provider (no transaction open); if it says succeeded or processing,
# apply that instead; otherwise ask the adapter to cancel the provider's object, and expire
# only once that is done -- unless the cancel found the money taken, which is applied.  An
# undecided payment stays pending and is asked again ``reconcile_after`` seconds later (by
# this process; see :class:`ExpiryBackoff`), for at most ``EXPIRY_UNCONFIRMED_AFTER``.


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
    from ownpay.checkout.gateway_calls import gateway_context_for  # imports this module

    now = now or utcnow()
    if intent.status != states.PENDING or intent.expires_at > now:
        return intent
    adapter = registry.get(intent.gateway)
    if adapter is None or not needs_provider_before_expiry(intent, adapter):
        return await _expire(ctx, intent, actor=actor, now=now, reason=EXPIRED_REASON)
    if expiry_backoff.is_waiting(intent.id, now):
        return await _unconfirmed(ctx, intent, actor=actor, now=now, detail=None)
    try:
        gctx, slug = await gateway_context_for(ctx, intent)
        view = payment_view(intent, slug)
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
                      f"not match ({_mismatch(fresh, result)}): refund it at the provider")
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


async def due_for_expiry(
    session: AsyncSession, *, now: datetime, exclude: Sequence[str] = (), limit: int = 200
) -> list[PaymentIntent]:
    """Pending payments past ``expires_at``, leaving out ``exclude`` (payments whose
    provider is not to be asked again yet, so they never starve the others)."""
    P = PaymentIntent  # noqa: N806
    stmt = (
        select(P)
        .where(P.status == states.PENDING, P.expires_at <= now)
        .order_by(P.expires_at)
        .limit(limit)
    )
    if exclude:
        stmt = stmt.where(P.id.not_in(list(exclude)))
    return list(await session.scalars(stmt))


async def stuck_processing(
    session: AsyncSession, *, older_than: datetime, limit: int = 100
) -> list[PaymentIntent]:
    stmt = (
        select(PaymentIntent)
        .where(PaymentIntent.status == states.PROCESSING, PaymentIntent.updated_at <= older_than)
        .order_by(PaymentIntent.updated_at)
        .limit(limit)
    )
    return list(await session.scalars(stmt))
