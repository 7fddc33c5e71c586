"""Matching wallet SMS to payments: the one place a message completes a payment.

Two entry points, both in the caller's transaction:

* :func:`match_message` -- a credit SMS was just stored;
* :func:`match_submission` -- a customer just submitted a transaction id (the payment is
  now ``awaiting_verification``).

Rules, in order (every outcome is written on the message: ``status``, ``decision`` naming
the rule, ``considered_payment_id``; a completion is the payment's history row with actor
``sms:<message id>``):

1. **Transaction id.**  The payment of a gateway reading this provider's SMS whose
   customer typed this TrxID.  The amount must agree (exactly, or within the gateway's
   ``overpay_tolerance``, off by default), so must the sender when both the message and
   the customer name a full number, and so must the wallet when the receiving phone said
   which numbers it holds; any disagreement goes to review, never completion.
2. **Amount in a window.**  No payment claims the TrxID: the ``pending`` payments of such a
   gateway (unless its ``amount_matching`` is ``off``) for exactly this amount, created in
   the ``WINDOW`` before the message's time.
   Exactly one → it completes (taking the TrxID); several → review; none → the message
   waits, and a later submission of its TrxID (rule 1) finds it.

Exactly once, proven by constraints as well as by code: a message can hold one payment
(``uq_sms_messages_payment``), a TrxID one live payment (``uq_payment_intents_provider_txn``)
and one credit message (``uq_sms_messages_credit``); the completion is the payment's
compare-and-set.  On PostgreSQL both entry points first take a transaction-scoped advisory
lock on (merchant, mode, provider, TrxID), so a submission and its SMS arriving at the same
moment in two processes are decided one after the other, the second seeing the first.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

import structlog
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay.gateways import registry
from ownpay.merchants.models import GatewayAccount
from ownpay.payments import service as payments
from ownpay.payments import states
from ownpay.payments.models import PROVIDER_TXN_HELD, PaymentIntent
from ownpay.sms.models import CREDIT_HELD, SmsDevice, SmsMessage
from ownpay.sms.patterns import CREDITS

log = structlog.get_logger("ownpay.sms")

WINDOW = timedelta(minutes=30)
LEEWAY = timedelta(minutes=5)  # phone clocks and the text's minute resolution
# Message statuses.
MATCHED, WAITING, REVIEW, IGNORED = "matched", "waiting", "review", "ignored"
CREDIT_KINDS = tuple(k.value for k in CREDITS)


def gateways_reading(provider: str | None = None) -> list[str]:
    """The gateways whose payments this provider's SMS (any provider's, for None) can
    verify: a capability the adapter declares, ``sms_provider``."""
    return sorted(slug for slug, adapter in registry.all_gateways().items()
                  if adapter.sms_provider is not None
                  and provider in (None, adapter.sms_provider))


def phone(value: str | None) -> str | None:
    """A full Bangladeshi mobile number in 11-digit form, or None (masked, an account)."""
    digits = "".join(ch for ch in value or "" if ch.isascii() and ch.isdigit())
    if digits.startswith("88") and len(digits) == 13:
        digits = digits[2:]
    return digits if len(digits) == 11 and digits.startswith("01") else None


async def hold(session: AsyncSession, merchant_id: int, mode: str, provider: str,
               trx_id: str) -> None:
    """The transaction-scoped lock of one (merchant, mode, provider, TrxID).  A submission
    takes it *before* it writes the payment row -- the SMS side holds it while it writes that
    row, so taking it after would deadlock."""
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite: one writer at a time already
    key = hashlib.sha256(f"sms:{merchant_id}:{mode}:{provider}:{trx_id}".encode()).digest()
    await session.execute(select(func.pg_advisory_xact_lock(
        int.from_bytes(key[:8], "big", signed=True))))


async def _settings(session: AsyncSession, intent: PaymentIntent) -> dict[str, object]:
    settings = await session.scalar(select(GatewayAccount.settings).where(
        GatewayAccount.merchant_id == intent.merchant_id, GatewayAccount.mode == intent.mode,
        GatewayAccount.gateway == intent.gateway))
    return dict(settings or {})


def _to_wallet(settings: dict[str, object], wallets: tuple[str, ...]) -> bool:
    """Whether the gateway (its settings) shows one of these wallet numbers to customers."""
    shown = str(settings.get("wallet_number") or "").split(",")
    return bool(set(wallets) & {n.strip() for n in shown})


def _tolerance(settings: dict[str, object]) -> int:
    raw = str(settings.get("overpay_tolerance") or "0")
    try:
        return max(0, int(Decimal(raw) * 100))
    except (InvalidOperation, ValueError):
        return 0


async def _note(session: AsyncSession, message: Msg, status: str, decision: str, *,
                payment: PaymentIntent | None, now: datetime) -> None:
    await session.execute(
        update(SmsMessage).where(SmsMessage.id == message.id)
        .values(status=status, decision=decision[:300], decided_at=now,
                considered_payment_id=payment.id if payment is not None else None))
    log.info("sms_decision", sms_id=message.id, status=status, decision=decision,
             payment_id=payment.id if payment is not None else None)


async def _disagreement(session: AsyncSession, message: Msg,
                        intent: PaymentIntent) -> str | None:
    if intent.status != states.AWAITING_VERIFICATION:
        return f"the payment is {intent.status}"
    amount = message.amount_minor or 0
    settings = await _settings(session, intent)  # read once for every check below
    tolerance = _tolerance(settings)
    if not intent.amount_minor <= amount <= intent.amount_minor + tolerance:
        return (f"the SMS says {amount / 100:.2f} BDT, the payment is "
                f"{intent.amount_minor / 100:.2f} {intent.currency}")
    if message.wallets and not _to_wallet(settings, message.wallets):
        return (f"the SMS reached {', '.join(message.wallets)}, not a number this payment's "
                "gateway shows")
    typed = phone(str((intent.submission or {}).get("sender_number") or ""))
    sent_by = phone(message.party)
    if typed and sent_by and typed != sent_by:
        return f"the customer typed sender {typed}, the SMS names {sent_by}"
    return None


async def _complete(session: AsyncSession, message: Msg, intent: PaymentIntent, *,
                    expected: str, rule: str, now: datetime) -> bool:
    """Hold the payment on the message and complete it, both or neither."""
    reason = (f"verified by SMS {message.id} ({rule}): {message.provider} TrxID "
              f"{message.trx_id}, {(message.amount_minor or 0) / 100:.2f} BDT")
    values = {} if intent.provider_txn_id else {"provider_txn_id": message.trx_id}
    try:
        async with session.begin_nested():
            held = await session.execute(
                update(SmsMessage)
                .where(SmsMessage.id == message.id, SmsMessage.matched_payment_id.is_(None))
                .values(status=MATCHED, matched_payment_id=intent.id,
                        considered_payment_id=intent.id, decision=f"{rule}: completed "
                        f"payment {intent.id}", decided_at=now))
            if held.rowcount != 1:  # type: ignore[attr-defined]
                raise _Lost()
            moved = await payments.transition(
                session, payment_id=intent.id, merchant_id=intent.merchant_id,
                expected=expected, to=states.COMPLETED, actor=f"sms:{message.id}",
                reason=reason, values=values, now=now)
            if moved is None:
                raise _Lost()
    except (_Lost, IntegrityError):
        return False
    return True


@dataclass(frozen=True)
class Msg:
    """A stored message's fields, read once (a lost attempt's savepoint rollback expires
    the session's ORM objects)."""

    id: str
    merchant_id: int
    mode: str
    kind: str
    provider: str | None
    trx_id: str | None
    amount_minor: int | None
    party: str | None
    at: datetime
    status: str
    wallets: tuple[str, ...] = ()  # the receiving phone's wallets, when it said

    @classmethod
    def of(cls, row: SmsMessage, wallets: tuple[str, ...] = ()) -> Msg:
        return cls(id=row.id, merchant_id=row.merchant_id, mode=row.mode, kind=row.kind,
                   provider=row.provider, trx_id=row.trx_id, amount_minor=row.amount_minor,
                   party=row.party, at=row.sent_at or row.received_at, status=row.status,
                   wallets=wallets)


class _Lost(Exception):
    """Someone else moved the payment or the message first: undo this attempt."""


async def _by_trx(session: AsyncSession, message: Msg,
                  gateways: list[str]) -> PaymentIntent | None:
    P = PaymentIntent  # noqa: N806
    # The condition as literal SQL, so the planner proves it implies the partial unique
    # index's predicate and probes it (bound parameters could not be matched).
    return await session.scalar(
        select(P).where(P.merchant_id == message.merchant_id, P.mode == message.mode,
                        P.provider_txn_id == message.trx_id, text(PROVIDER_TXN_HELD),
                        P.gateway.in_(gateways))
        .execution_options(populate_existing=True))


async def _decide_on(session: AsyncSession, message: Msg, intent: PaymentIntent, *,
                     now: datetime) -> str:
    problem = await _disagreement(session, message, intent)
    if problem is None and await _complete(session, message, intent,
                                           expected=states.AWAITING_VERIFICATION,
                                           rule="trx_id", now=now):
        return MATCHED
    await session.refresh(intent)
    problem = problem or f"the payment is {intent.status}"
    await _note(session, message, REVIEW, f"trx_id: {problem}: an operator decides",
                payment=intent, now=now)
    return REVIEW


async def match_message(session: AsyncSession, row: SmsMessage, *, now: datetime,
                        wallets: tuple[str, ...] = ()) -> str:
    """Decide a stored message; returns its status.  ``wallets``: the numbers the receiving
    phone said it holds (then only payments to those numbers are considered)."""
    message = Msg.of(row, wallets)
    if message.kind not in CREDIT_KINDS or not message.trx_id or message.provider is None:
        return message.status
    await hold(session, message.merchant_id, message.mode, message.provider, message.trx_id)
    gateways = gateways_reading(message.provider)
    intent = await _by_trx(session, message, gateways)
    if intent is not None:
        return await _decide_on(session, message, intent, now=now)
    at = message.at
    P = PaymentIntent  # noqa: N806
    fits = list(await session.scalars(
        select(P).where(P.merchant_id == message.merchant_id, P.mode == message.mode,
                        P.gateway.in_(gateways), P.status == states.PENDING,
                        P.amount_minor == message.amount_minor, P.provider_txn_id.is_(None),
                        P.created_at >= at - WINDOW, P.created_at <= at + LEEWAY,
                        P.expires_at > now)
        .order_by(P.created_at).limit(20)))
    # A merchant may turn rule 2 off per gateway (``amount_matching=off``): an unrelated
    # transfer of the same amount would otherwise complete the one payment that fits.
    by_gateway: dict[str, dict[str, object]] = {}
    for p in fits:  # one read per gateway, not per payment
        if p.gateway not in by_gateway:
            by_gateway[p.gateway] = await _settings(session, p)
    fits = [p for p in fits
            if str(by_gateway[p.gateway].get("amount_matching") or "on") != "off"
            and (not wallets or _to_wallet(by_gateway[p.gateway], wallets))]
    if len(fits) == 1 and await _complete(session, message, fits[0], expected=states.PENDING,
                                          rule="amount_window", now=now):
        return MATCHED
    if len(fits) > 1:
        await _note(session, message, REVIEW, f"amount_window: {len(fits)} or more payments "
                    "of this amount are waiting: an operator decides", payment=None, now=now)
        return REVIEW
    return message.status


async def match_submission(session: AsyncSession, intent: PaymentIntent, *,
                           now: datetime) -> str | None:
    """The customer submitted ``intent.provider_txn_id``: an SMS already here settles it.
    Returns the message's new status, or None when no message is waiting for it."""
    adapter = registry.get(intent.gateway)
    provider = adapter.sms_provider if adapter is not None else None
    if (provider is None or not intent.provider_txn_id
            or intent.status != states.AWAITING_VERIFICATION):
        return None
    await hold(session, intent.merchant_id, intent.mode, provider, intent.provider_txn_id)
    row = await session.scalar(
        select(SmsMessage).where(
            SmsMessage.merchant_id == intent.merchant_id, SmsMessage.mode == intent.mode,
            SmsMessage.provider == provider, SmsMessage.trx_id == intent.provider_txn_id,
            text(CREDIT_HELD), SmsMessage.matched_payment_id.is_(None))
        .execution_options(populate_existing=True))
    if row is None or row.status not in (WAITING, REVIEW):
        return None
    wallets = await session.scalar(select(SmsDevice.wallets).where(
        SmsDevice.id == row.device_id))
    await session.refresh(intent)
    return await _decide_on(session, Msg.of(row, tuple(wallets or ())), intent, now=now)


async def decisions_for(session: AsyncSession, payment_id: str) -> list[SmsMessage]:
    """The messages considered for a payment (its page shows them)."""
    return list(await session.scalars(
        select(SmsMessage).where(SmsMessage.considered_payment_id == payment_id)
        .order_by(SmsMessage.created_at)))
