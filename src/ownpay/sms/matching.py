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

**The installation's phones** (a device without a brand, opted in explicitly) hold wallets
several brands show.  Their messages are considered only for the brands whose gateway (of
this provider, in this mode, active) shows one of the wallet numbers the phone said it
receives -- a phone that has not said goes to review, never guessed -- and both rules then
run over all those brands at once: a TrxID two brands' payments claim, or an amount
payments of two brands fit, is review.  The brand a message is decided for becomes its
``merchant_id``; until then only installation operators see it.

Exactly once, proven by constraints as well as by code: a message can hold one payment
(``uq_sms_messages_payment``), a TrxID one live payment (``uq_payment_intents_provider_txn``)
and one credit message per receiving owner (``uq_sms_messages_credit``); the completion is
the payment's compare-and-set.  A credit the installation's phone and a brand's phone both
received (the same TrxID) completes at most one of that brand's payments: a copy already
verifying one sends the other to review (:func:`_counted_elsewhere`).  On PostgreSQL both
entry points first take a transaction-scoped advisory lock on (mode, provider, TrxID), so a
submission and its SMS arriving at the same moment in two processes -- or two phones'
copies -- are decided one after the other, the second seeing the first.
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
from ownpay.sms.models import CREDIT_HELD, INSTALLATION, SmsDevice, SmsMessage
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


async def hold(session: AsyncSession, mode: str, provider: str, trx_id: str) -> None:
    """The transaction-scoped lock of one (mode, provider, TrxID) -- not per brand: an
    installation phone's message does not know its brand yet.  A submission takes it
    *before* it writes the payment row -- the SMS side holds it while it writes that row, so
    taking it after would deadlock."""
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite: one writer at a time already
    key = hashlib.sha256(f"sms:{mode}:{provider}:{trx_id}".encode()).digest()
    await session.execute(select(func.pg_advisory_xact_lock(
        int.from_bytes(key[:8], "big", signed=True))))


Settings = dict[str, object]


async def serving(session: AsyncSession, mode: str, gateways: list[str],
                  wallets: tuple[str, ...]) -> dict[tuple[int, str], Settings]:
    """The (brand, gateway) accounts in ``mode`` -- active, of these gateways -- that show
    customers one of ``wallets``: whom an installation phone's messages can be for."""
    if not wallets or not gateways:
        return {}
    rows = await session.execute(select(
        GatewayAccount.merchant_id, GatewayAccount.gateway, GatewayAccount.settings).where(
        GatewayAccount.mode == mode, GatewayAccount.active.is_(True),
        GatewayAccount.gateway.in_(gateways)))
    return {(row.merchant_id, row.gateway): dict(row.settings or {}) for row in rows
            if _to_wallet(dict(row.settings or {}), wallets)}


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
    """Write the decision; a message decided over a payment belongs to that payment's brand
    from now on (an installation phone's message gets its brand here)."""
    values: dict[str, object] = {"status": status, "decision": decision[:300],
                                 "decided_at": now, "considered_payment_id": None}
    if payment is not None:
        values.update(considered_payment_id=payment.id, merchant_id=payment.merchant_id)
    await session.execute(update(SmsMessage).where(SmsMessage.id == message.id)
                          .values(**values))
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
    if message.merchant_id is None and not message.wallets:
        return ("the installation phone that received the SMS has not said which wallets "
                "it holds")
    if message.wallets and not _to_wallet(settings, message.wallets):
        return (f"the SMS reached {', '.join(message.wallets)}, not a number this payment's "
                "gateway shows")
    elsewhere = await _counted_elsewhere(session, message, intent.merchant_id)
    if elsewhere is not None:
        return elsewhere
    typed = phone(str((intent.submission or {}).get("sender_number") or ""))
    sent_by = phone(message.party)
    if typed and sent_by and typed != sent_by:
        return f"the customer typed sender {typed}, the SMS names {sent_by}"
    return None


async def _counted_elsewhere(session: AsyncSession, message: Msg,
                             merchant_id: int) -> str | None:
    """Another copy of this credit -- received by the installation's phones, or by this
    brand's when the message is the installation's -- that already verified a payment."""
    S = SmsMessage  # noqa: N806
    other = await session.scalar(
        select(S.matched_payment_id).where(
            S.mode == message.mode, S.provider == message.provider,
            S.trx_id == message.trx_id, S.owner_id.in_((INSTALLATION, merchant_id)),
            S.matched_payment_id.is_not(None), S.id != message.id).limit(1))
    if other is None:
        return None
    return f"another copy of this SMS already verified payment {other}"


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
                        merchant_id=intent.merchant_id,
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
    merchant_id: int | None  # None: an installation phone's, not given to a brand yet
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


async def _by_trx(session: AsyncSession, message: Msg, merchants: list[int],
                  gateways: list[str]) -> list[PaymentIntent]:
    """The live payments of these brands holding the message's TrxID (one per brand)."""
    P = PaymentIntent  # noqa: N806
    # The condition as literal SQL, so the planner proves it implies the partial unique
    # index's predicate and probes it (bound parameters could not be matched).
    return list(await session.scalars(
        select(P).where(P.merchant_id.in_(merchants), P.mode == message.mode,
                        P.provider_txn_id == message.trx_id, text(PROVIDER_TXN_HELD),
                        P.gateway.in_(gateways))
        .order_by(P.merchant_id).execution_options(populate_existing=True)))


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
    await hold(session, message.mode, message.provider, message.trx_id)
    gateways = gateways_reading(message.provider)
    # Each (brand, gateway)'s settings, read once; an installation phone's message is for
    # the brands whose gateway shows one of its wallets, and only for those accounts.
    known: dict[tuple[int, str], Settings] = {}
    if message.merchant_id is None:
        if not wallets:
            await _note(session, message, REVIEW, "installation phone: it has not said which "
                        "wallets it holds, so no brand can be chosen: an operator decides",
                        payment=None, now=now)
            return REVIEW
        known = await serving(session, message.mode, gateways, wallets)
        merchants = sorted({merchant for merchant, _ in known})
        if not merchants:
            return message.status  # no brand shows these wallets (yet): it waits
    else:
        merchants = [message.merchant_id]
    claims = [p for p in await _by_trx(session, message, merchants, gateways)
              if message.merchant_id is not None or (p.merchant_id, p.gateway) in known]
    if len(claims) > 1:
        await _note(session, message, REVIEW, f"trx_id: payments of {len(claims)} brands "
                    "claim this TrxID: an operator decides", payment=None, now=now)
        return REVIEW
    if claims:
        return await _decide_on(session, message, claims[0], now=now)
    at = message.at
    P = PaymentIntent  # noqa: N806
    fits = list(await session.scalars(
        select(P).where(P.merchant_id.in_(merchants), P.mode == message.mode,
                        P.gateway.in_(gateways), P.status == states.PENDING,
                        P.amount_minor == message.amount_minor, P.provider_txn_id.is_(None),
                        P.created_at >= at - WINDOW, P.created_at <= at + LEEWAY,
                        P.expires_at > now)
        .order_by(P.created_at).limit(20)))
    # A merchant may turn rule 2 off per gateway (``amount_matching=off``): an unrelated
    # transfer of the same amount would otherwise complete the one payment that fits.
    for p in fits:  # one read per gateway, not per payment
        if message.merchant_id is not None and (p.merchant_id, p.gateway) not in known:
            known[(p.merchant_id, p.gateway)] = await _settings(session, p)
    fits = [p for p in fits if (p.merchant_id, p.gateway) in known
            and str(known[(p.merchant_id, p.gateway)].get("amount_matching") or "on") != "off"
            and (not wallets or _to_wallet(known[(p.merchant_id, p.gateway)], wallets))]
    if len(fits) == 1:
        elsewhere = await _counted_elsewhere(session, message, fits[0].merchant_id)
        if elsewhere is not None:
            await _note(session, message, REVIEW, f"amount_window: {elsewhere}: an operator "
                        "decides", payment=fits[0], now=now)
            return REVIEW
        if await _complete(session, message, fits[0], expected=states.PENDING,
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
    await hold(session, intent.mode, provider, intent.provider_txn_id)
    # The brand's own phones' copy first, else the installation's phones' (not yet given
    # to another brand).
    S = SmsMessage  # noqa: N806
    row = await session.scalar(
        select(S).where(
            S.owner_id.in_((intent.merchant_id, INSTALLATION)), S.mode == intent.mode,
            S.provider == provider, S.trx_id == intent.provider_txn_id, text(CREDIT_HELD),
            S.matched_payment_id.is_(None),
            (S.merchant_id == intent.merchant_id) | S.merchant_id.is_(None))
        .order_by(S.owner_id.desc()).limit(1).execution_options(populate_existing=True))
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
