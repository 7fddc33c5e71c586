"""Payment intents: creation, and the one function that changes a status.

``transition`` is the only writer of ``payment_intents.status``.  It is a compare-and-set
(``UPDATE … WHERE id = :id AND status = :expected``) that, in the caller's transaction,
also writes the status-history row and the outbox event.  A repeated callback or a double
click therefore finds nothing to update and does nothing.  ``apply_result`` turns a gateway's
verified statement into at most one transition; ``expiry.py`` settles overdue payments,
``repository.py`` reads them and ``presenters.py`` shows them.

Size: over 400 lines on purpose -- creation, the one status writer and every caller of it
(apply a gateway's result, cancel, review, retry, expire) are read together when checking
that no path completes a payment twice.
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import structlog
from sqlalchemy import (
    Insert,
    Table,
    and_,
    bindparam,
    exists,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from ownpay import audit, ids, metrics
from ownpay.context import AppContext
from ownpay.customers import matching as customers
from ownpay.db import utcnow
from ownpay.errors import (
    DuplicateProviderTransaction,
    GatewayNotFound,
    InvalidState,
    OrderAlreadyPaid,
    ValidationFailed,
)
from ownpay.gateways import registry
from ownpay.gateways.base import Gateway, Outcome, VerifiedResult
from ownpay.invoices import events as invoice_events
from ownpay.ledger import fees
from ownpay.ledger import service as ledger
from ownpay.links import events as link_events
from ownpay.merchants.accounts import active_gateway, checkout_url, public_base_url
from ownpay.merchants.auth import Principal
from ownpay.outbox.writer import record_payment_event
from ownpay.payments import repository, states
from ownpay.payments.attention import ATTENTION, flag_for_operator
from ownpay.payments.models import PAID_ORDER_CONDITION, PaymentIntent, PaymentStatusHistory
from ownpay.payments.schemas import NewIntent, validate_create

log = structlog.get_logger("ownpay.payments")

CREATE_INTENT = "payment_intents.create"  # the Idempotency-Key operation name
EXPIRED_REASON = "payment link expired"


class IllegalTransition(InvalidState):
    pass


# ---- creation -----------------------------------------------------------------------------


def prepare_intent(ctx: AppContext, body: dict[str, Any]) -> tuple[NewIntent, Gateway | None]:
    """Every field checked at once, then what the chosen gateway cannot charge."""
    new, errors = validate_create(body, max_minor=ctx.settings.max_amount_minor)
    gateway_slug = body.get("gateway") if isinstance(body.get("gateway"), str) else None
    adapter = registry.get(gateway_slug.strip()) if gateway_slug else None
    if adapter is not None and new is not None:
        errors = _gateway_refusals(adapter, new.amount_minor, new.currency)
        new = None if errors else new
    if new is None:
        raise ValidationFailed(errors=errors)
    return new, adapter


async def check_gateway(
    ctx: AppContext, principal: Principal, new: NewIntent, adapter: Gateway | None
) -> None:
    """404 GATEWAY_NOT_FOUND unless the key's merchant and mode have it active."""
    account = await active_gateway(ctx, principal.scope, new.gateway)
    if account is None or adapter is None or principal.mode not in adapter.modes:
        raise GatewayNotFound(f"Gateway '{new.gateway}' is not configured or inactive.")


def _gateway_refusals(adapter: Gateway, amount_minor: int, currency: str) -> dict[str, list[str]]:
    """What the chosen gateway cannot charge, asked through its declared checks."""
    if not adapter.currency_supported(currency):
        allowed = ", ".join(sorted(adapter.currencies or ()))
        return {"currency": [f"Gateway '{adapter.slug}' accepts only: {allowed}."]}
    reason = adapter.validate_amount(amount_minor, currency)
    return {"amount": [reason]} if reason else {}


@dataclass(frozen=True)
class CreatedIntent:
    transaction_id: str
    payment_url: str
    expires_at: datetime
    public_id: str = ""


async def create_intent(
    conn: AsyncConnection, ctx: AppContext, principal: Principal, new: NewIntent, *,
    api: str | None = None, public_id: str | None = None, return_method: str | None = None,
    link_id: str | None = None, invoice_id: str | None = None,
) -> CreatedIntent:
    """Insert the intent in the caller's transaction; 409 ORDER_ALREADY_PAID if a payment of
    the same order is already paid (checked by the INSERT itself: no race).  ``api`` names
    the API that created it (None: payment intents); ``new.gateway`` is "" when the customer
    chooses the method on the checkout page; ``return_method`` "POST" sends the customer back
    to ``return_url`` with a posted form (UddoktaPay's and PipraPay's ``return_type``);
    ``link_id`` names the payment link it was made on, ``invoice_id`` the invoice it pays.
    The payment's customer is matched by e-mail or phone digest, or made, in the same
    transaction (``customers/matching.py``)."""
    now = utcnow()
    lifetime = new.expires_in or principal.merchant_intent_lifetime or ctx.settings.intent_lifetime
    expires_at = (now + timedelta(seconds=lifetime)).replace(microsecond=0)
    txn = ids.transaction_id()
    public_id = public_id or str(uuid.uuid4())
    customer_id = await customers.match_or_create(
        conn, ctx.keyring, principal.scope, name=new.customer_name, email=new.customer_email,
        phone=new.customer_phone, now=now)
    values: dict[str, Any] = {
        "id": txn,
        "public_id": public_id,
        "api": api,
        "return_method": return_method,
        "link_id": link_id,
        "invoice_id": invoice_id,
        "customer_id": customer_id,
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
    # Core on a plain connection, one statement: the ORM unit of work and building the
    # statement anew per request would cost more CPU than the database round trip.
    result = await conn.execute(_insert_unless_order_paid(), values)
    if result.rowcount != 1:
        raise OrderAlreadyPaid(f"Order '{new.order_id}' has already been paid.")
    base = public_base_url(ctx, principal.merchant_base_url)
    return CreatedIntent(txn, checkout_url(base, txn), expires_at, public_id)


_INSERT_COLUMNS = (
    "id", "public_id", "api", "return_method", "link_id", "invoice_id", "customer_id",
    "merchant_id", "mode", "gateway", "status", "amount_minor", "currency", "order_id",
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
        others = await order_paid_elsewhere(session, intent, lock=True)
        if others:
            # The money has moved (a provider verified it, or an operator confirmed it):
            # it is booked, and flagged so that one of the two payments is refunded.
            note = (f"{ATTENTION}order {intent.order_id!r} was already paid by "
                    f"{', '.join(others)}: refund one of them")
            reason = f"{reason}; {note}" if reason else note
            event_data = {**(event_data or {}), "duplicate_of": others}
            flag_for_operator(session, gateway=intent.gateway, kind="duplicate_order_payment")
            log.error("order_paid_twice", payment_id=intent.id, order_id=intent.order_id,
                      others=others)
        intent = await _fix_fee(session, intent)
        await ledger.record_payment_completed(session, intent, now=now)
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
    if to == states.COMPLETED and intent.link_id:
        await link_events.record_link_paid(session, intent, now=now)
    if to == states.COMPLETED and intent.invoice_id:
        await invoice_events.record_invoice_payment(session, intent, now=now)
    await audit.record_worker_move(session, actor, "payment", merchant_id=merchant_id,
                                   mode=intent.mode, object_id=payment_id,
                                   moves={"status": (expected, to)}, reason=reason)
    await session.flush()
    metrics.count_transition(session, gateway=intent.gateway, to=to)
    log.info("payment_transition", payment_id=payment_id, to=to, actor=actor)
    return intent


async def order_paid_elsewhere(session: AsyncSession, intent: PaymentIntent, *,
                               lock: bool = False) -> list[str]:
    """Other payments of the same order (merchant, mode, order id) that are paid.

    One order is paid once (docs/integration.md): creation refuses a new intent for a paid
    order, but two intents opened before either was paid can both be paid.  Completions of
    one order are serialised (PostgreSQL: a transaction-scoped advisory lock on the order;
    SQLite: one writer), so of two concurrent ones exactly one sees the other (``lock``)."""
    if lock and session.get_bind().dialect.name == "postgresql":
        digest = hashlib.sha256(
            f"order:{intent.merchant_id}:{intent.mode}:{intent.order_id}".encode()).digest()
        await session.execute(select(func.pg_advisory_xact_lock(
            int.from_bytes(digest[:8], "big", signed=True))))
    P = PaymentIntent  # noqa: N806
    return list(await session.scalars(
        select(P.id).where(P.merchant_id == intent.merchant_id, P.mode == intent.mode,
                           P.order_id == intent.order_id, P.id != intent.id,
                           text(PAID_ORDER_CONDITION))
        .order_by(P.created_at)))


async def _fix_fee(session: AsyncSession, intent: PaymentIntent) -> PaymentIntent:
    """At completion: our fee (ledger/fees.py) and what the merchant nets, stored on the
    payment once -- a later change of the fee rule never changes a completed payment."""
    rule = await fees.find_rule(
        session, scope=intent.scope, gateway=intent.gateway,
        currency=intent.currency,
    )
    fee = fees.compute_fee(rule, intent.amount_minor)
    return (await session.scalars(
        update(PaymentIntent)
        .where(PaymentIntent.id == intent.id, PaymentIntent.merchant_id == intent.merchant_id)
        .values(fee_minor=fee, net_minor=intent.amount_minor - fee)
        .returning(PaymentIntent)
        .execution_options(synchronize_session=False, populate_existing=True)
    )).one()


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
            wrong = mismatch(intent, result)
            if wrong:
                log.error("verification_mismatch", payment_id=intent.id, detail=wrong)
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
                    if await repository.provider_txn_used_elsewhere(
                            session, intent, result.provider_txn_id):
                        raise DuplicateProviderTransaction()
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


def mismatch(intent: PaymentIntent, result: VerifiedResult) -> str | None:
    if result.amount_minor != intent.amount_minor:
        return f"amount {result.amount_minor} != {intent.amount_minor}"
    if (result.currency or "").upper() != intent.currency:
        return f"currency {result.currency} != {intent.currency}"
    if result.reference is not None and result.reference != intent.id:
        return f"reference {result.reference} != {intent.id}"
    return None


ORDER_ALREADY_PAID_REASON = "order already paid by another payment"
# An operator's decision on an offline payment: the actor starts with this, and the reason
# is this text when the operator gave none.
OPERATOR_ACTOR_PREFIX = "operator:"
APPROVED_BY_OPERATOR_REASON = "approved by operator"
REJECTED_BY_OPERATOR_REASON = "rejected by operator"


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
        reason=reason or (APPROVED_BY_OPERATOR_REASON if approve
                          else REJECTED_BY_OPERATOR_REASON),
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
        # A new attempt: the failed one's provider objects and transaction id are let go.
        values={"attempts": intent.attempts + 1, "provider_reference": None,
                "provider_txn_id": None},
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
