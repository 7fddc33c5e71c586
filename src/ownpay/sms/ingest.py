"""Storing forwarded SMS once, noticing what is missing, and handing credits to matching.

For each message of an upload, in the caller's transaction (one per upload):

1. **Read** it (:func:`ownpay.sms.parsing.parse`).  A message from a sender that is no
   wallet provider is kept without its text (a forwarder may send a customer's private
   messages too; the row only holds the sequence number and a digest).
2. **Store once.**  Its own savepoint; a second copy -- the same upload retried, the same
   SMS from another phone (same sender, received time and text), or another copy of a
   credit with the same transaction id -- hits a unique index and is ``duplicate``.
3. **Sequence.**  A phone numbers its messages 1, 2, 3, …; a jump records a ``gap`` alert
   ("messages 41–43 never arrived"), a late arrival inside a gap narrows or closes it.
4. **Balance chain.**  When this and the wallet's previous message (same device and
   provider, by the time in the text) both state a balance, ``previous + credit − fee``
   (or ``− debit − fee``) must be the new balance; a break is a ``balance`` alert.
5. **Match** credits (:mod:`ownpay.sms.matching`).

The device row is locked first (PostgreSQL), so two uploads of one phone are serialised and
its sequence bookkeeping cannot race.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay import metrics
from ownpay.sms import matching
from ownpay.sms.models import SmsAlert, SmsDevice, SmsMessage, owner_of
from ownpay.sms.parsing import NOT_A_PROVIDER, UNRECOGNISED, parse
from ownpay.sms.patterns import Kind

MAX_BATCH = 200
MAX_BODY = 4000
MAX_SENDER = 40
FUTURE_LEEWAY = timedelta(hours=1)  # a phone clock ahead by more is refused
ACCEPTED, DUPLICATE, REJECTED = "accepted", "duplicate", "rejected"


@dataclass(frozen=True)
class Incoming:
    sender: str
    body: str
    received_at: datetime
    sequence: int | None = None
    local_id: str | None = None


@dataclass
class _Phone:
    """The device's fields this upload uses, read once: a duplicate's savepoint rollback
    expires every ORM object of the session."""

    id: str
    name: str
    merchant_id: int | None  # None: one of the installation's phones
    mode: str
    last_sequence: int | None
    wallets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    status: str  # accepted | duplicate | rejected
    sms_id: str | None = None
    match: str | None = None  # the message's status after matching
    reason: str | None = None
    local_id: str | None = None

    def as_dict(self) -> dict[str, object]:
        shown: dict[str, object] = {"status": self.status}
        for name in ("local_id", "sms_id", "match", "reason"):
            if getattr(self, name) is not None:
                shown[name] = getattr(self, name)
        return shown


def refusal(message: Incoming, *, now: datetime) -> str | None:
    """Why a message cannot be stored (the device is told; nothing is kept)."""
    if not message.sender.strip() or len(message.sender) > MAX_SENDER:
        return f"sender must be 1 to {MAX_SENDER} characters"
    if len(message.body) > MAX_BODY:
        return f"the text is longer than {MAX_BODY} characters"
    if not message.body.strip():
        return "the text is empty"
    if message.received_at > now + FUTURE_LEEWAY:
        return "received_at is in the future"
    if message.sequence is not None and message.sequence < 1:
        return "sequence numbers start at 1"
    return None


def _digest(sender: str, body: str) -> str:
    return hashlib.sha256(f"{sender.lower()}\n{body}".encode()).hexdigest()


async def _alert(session: AsyncSession, device: _Phone, kind: str, message: str, *,
                 now: datetime, first: int | None = None, last: int | None = None,
                 details: dict[str, object] | None = None) -> None:
    session.add(SmsAlert(merchant_id=device.merchant_id, mode=device.mode,
                         device_id=device.id, kind=kind, first_sequence=first,
                         last_sequence=last, message=message[:300], details=details or {},
                         created_at=now))
    metrics.count_sms(session, metrics.SMS_ALERTS, kind=kind)


def _gap_text(device: _Phone, first: int, last: int) -> str:
    which = f"message {first}" if first == last else f"messages {first}–{last}"
    return f"device {device.name} ({device.id}): {which} never arrived"


async def _sequence(session: AsyncSession, device: _Phone, sequence: int, *,
                    now: datetime) -> None:
    last = device.last_sequence
    if last is None or sequence == last + 1:
        device.last_sequence = sequence
        return
    if sequence > last + 1:
        await _alert(session, device, "gap", _gap_text(device, last + 1, sequence - 1),
                     now=now, first=last + 1, last=sequence - 1)
        device.last_sequence = sequence
        return
    # A late arrival: it fills (part of) an open gap.
    gap = await session.scalar(select(SmsAlert).where(
        SmsAlert.device_id == device.id, SmsAlert.kind == "gap",
        SmsAlert.resolved_at.is_(None), SmsAlert.first_sequence <= sequence,
        SmsAlert.last_sequence >= sequence))
    if gap is None or gap.first_sequence is None or gap.last_sequence is None:
        return
    first, end = gap.first_sequence, gap.last_sequence
    if first == end:
        gap.resolved_at = now
        gap.message = f"{gap.message} (arrived late)"[:300]
        return
    if sequence == first:
        first += 1
    elif sequence == end:
        end -= 1
    else:
        await _alert(session, device, "gap", _gap_text(device, sequence + 1, end), now=now,
                     first=sequence + 1, last=end)
        end = sequence - 1
    gap.first_sequence, gap.last_sequence = first, end
    gap.message = _gap_text(device, first, end)


def _expected_balance(previous: int, row: SmsMessage) -> int | None:
    amount, fee = row.amount_minor, row.fee_minor or 0
    if amount is None:
        return None
    if row.kind in (Kind.RECEIVED.value, Kind.CASH_IN.value, Kind.CASHBACK.value):
        return previous + amount - fee
    if row.kind == Kind.DEBIT.value:
        return previous - amount - fee
    return None


async def _balance(session: AsyncSession, device: _Phone, row: SmsMessage, *,
                   now: datetime) -> None:
    if row.balance_minor is None or row.sent_at is None:
        return
    S = SmsMessage  # noqa: N806
    previous = await session.scalar(
        select(S).where(S.device_id == device.id, S.provider == row.provider,
                        S.balance_minor.is_not(None), S.sent_at <= row.sent_at, S.id != row.id)
        .order_by(S.sent_at.desc(), S.created_at.desc()).limit(1))
    if previous is None or previous.balance_minor is None:
        return
    expected = _expected_balance(previous.balance_minor, row)
    if expected is None or expected == row.balance_minor:
        return
    await _alert(
        session, device, "balance",
        f"{row.provider} wallet on {device.name}: balance {previous.balance_minor / 100:.2f} "
        f"then {row.balance_minor / 100:.2f} after {row.trx_id or row.id}; expected "
        f"{expected / 100:.2f} -- a message was missed or altered",
        now=now, details={"previous_sms": previous.id, "sms": row.id,
                          "expected_minor": expected, "stated_minor": row.balance_minor})


def _row(device: _Phone, message: Incoming, *, now: datetime) -> SmsMessage:
    parsed = parse(message.sender, message.body)
    private = parsed.kind == NOT_A_PROVIDER
    if parsed.is_credit:
        status = matching.WAITING
    elif parsed.kind == UNRECOGNISED:
        status = matching.REVIEW
    else:
        status = matching.IGNORED
    decision = (parsed.problem if parsed.kind in (NOT_A_PROVIDER, UNRECOGNISED)
                else None if parsed.is_credit else f"{parsed.kind}: never a payment")
    return SmsMessage(
        id="sms_" + secrets.token_hex(8), owner_id=owner_of(device.merchant_id),
        merchant_id=device.merchant_id, mode=device.mode,
        device_id=device.id, local_id=(message.local_id or None) and message.local_id[:100],
        sequence=message.sequence, sender=message.sender.strip(),
        body="" if private else message.body,
        body_digest=_digest(message.sender.strip(), message.body),
        received_at=message.received_at, created_at=now, kind=parsed.kind,
        provider=parsed.provider, pattern=parsed.pattern, amount_minor=parsed.amount_minor,
        fee_minor=parsed.fee_minor, balance_minor=parsed.balance_minor,
        party=(parsed.party or None) and parsed.party[:80],
        reference=(parsed.reference or None) and parsed.reference[:100],
        trx_id=parsed.trx_id if parsed.trx_id and len(parsed.trx_id) <= 24 else None,
        sent_at=parsed.at, status=status, decision=decision and decision[:300],
        decided_at=now if decision else None)


async def ingest(session: AsyncSession, device: SmsDevice, messages: list[Incoming], *,
                 now: datetime) -> tuple[list[Outcome], int | None]:
    """Store, check and match one upload; one outcome per message, in order, and the
    device's last sequence number after it."""
    row_of = select(SmsDevice.id, SmsDevice.name, SmsDevice.merchant_id, SmsDevice.mode,
                    SmsDevice.last_sequence, SmsDevice.wallets).where(SmsDevice.id == device.id)
    if session.get_bind().dialect.name == "postgresql":
        row_of = row_of.with_for_update()
    found = (await session.execute(row_of)).one()
    phone = _Phone(*found[:5], wallets=tuple(found.wallets or ()))
    outcomes: list[Outcome] = []
    for message in messages:
        why = refusal(message, now=now)
        if why is not None:
            outcomes.append(Outcome(REJECTED, reason=why, local_id=message.local_id))
            metrics.count_sms(session, metrics.SMS_MESSAGES, outcome=REJECTED)
            continue
        row = _row(phone, message, now=now)
        try:
            async with session.begin_nested():
                session.add(row)
                await session.flush()
        except IntegrityError:
            outcomes.append(Outcome(DUPLICATE, local_id=message.local_id))
            metrics.count_sms(session, metrics.SMS_MESSAGES, outcome=DUPLICATE)
            continue
        if message.sequence is not None:
            await _sequence(session, phone, message.sequence, now=now)
        await _balance(session, phone, row, now=now)
        sms_id = row.id
        status = await matching.match_message(session, row, now=now, wallets=phone.wallets)
        outcomes.append(Outcome(ACCEPTED, sms_id=sms_id, match=status,
                                local_id=message.local_id))
        metrics.count_sms(session, metrics.SMS_MESSAGES, outcome=ACCEPTED)
    await session.execute(update(SmsDevice).where(SmsDevice.id == phone.id).values(
        last_sequence=phone.last_sequence, last_seen_at=now, offline_since=None))
    await session.flush()
    return outcomes, phone.last_sequence
