"""Paired phones, their one-time pairing codes, the SMS they forward and what the server
noticed about them (issue 13; migration 0015).

A device belongs to one brand (``merchant_id``) or, opted in explicitly, to the whole
installation (``merchant_id`` NULL; migration 0016).  A message's ``owner_id`` is whose
phone received it -- the brand's id, or :data:`INSTALLATION` (0) -- and never changes; its
``merchant_id`` is the brand it belongs to: the owner's for a brand phone, and for an
installation phone NULL until matching (or an operator) gives it to the brand whose payment
it was considered for.

The rules that make a message count once are constraints here, not only code:

* ``uq_sms_messages_copy`` -- one row per (owner, mode, sender, received time, text
  digest): the same SMS uploaded again, by the same phone or another, is a duplicate;
* ``uq_sms_messages_credit`` -- one money-received message per (owner, mode, provider,
  transaction id): a second copy of a credit (another phone, another forwarder, a slightly
  different received time) can never be a second credit;
* ``uq_sms_messages_payment`` -- a message verifies at most one payment and a payment is
  verified by at most one message.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ownpay.db import Base, UTCDateTime, utcnow
from ownpay.merchants.models import BigId

# A stored message that is a credit with a transaction id (``uq_sms_messages_credit``).
CREDIT_HELD = "trx_id IS NOT NULL AND kind IN ('received', 'cash_in')"
MATCHED = "matched_payment_id IS NOT NULL"
INSTALLATION = 0  # owner_id of messages received by the installation's own phones


def owned_by(column: Any, merchant_id: int | None) -> Any:
    """``column`` (a ``merchant_id``) names this brand, or (None) the installation."""
    return column.is_(None) if merchant_id is None else column == merchant_id


def owner_of(merchant_id: int | None) -> int:
    """The ``owner_id`` of messages a device of this brand (None: the installation) gets."""
    return INSTALLATION if merchant_id is None else merchant_id


class SmsDevice(Base):
    """A phone (or an SMS-forwarder app) paired to one brand and mode, or to the whole
    installation and a mode (``merchant_id`` NULL)."""

    __tablename__ = "sms_devices"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)  # dev_…
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"), index=True)
    mode: Mapped[str] = mapped_column(String(4))
    kind: Mapped[str] = mapped_column(String(16))  # app | forwarder
    name: Mapped[str] = mapped_column(String(100))
    client_device_id: Mapped[str | None] = mapped_column(String(100))  # the app's own id
    platform: Mapped[str | None] = mapped_column(String(20))
    app_version: Mapped[str | None] = mapped_column(String(40))
    # Digests only: the tokens themselves are shown to the device once.
    access_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    access_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refresh_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Refresh tokens already used: presenting one again means it was copied -> revoke.
    spent_refresh: Mapped[list[str]] = mapped_column(JSON, default=list)
    forward_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    aes_key_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    last_sequence: Mapped[int | None] = mapped_column(BigId)
    # The wallet numbers whose SMS this phone receives (its SIMs), when it says: matching
    # then only considers payments to those numbers.  Empty: not known.
    wallets: Mapped[list[str]] = mapped_column(JSON, default=list)
    battery: Mapped[int | None] = mapped_column(Integer)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    offline_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(200))


class PairingCode(Base):
    """A one-time 6-digit code an operator made; its digest, never the code."""

    __tablename__ = "sms_pairing_codes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"), index=True)
    mode: Mapped[str] = mapped_column(String(4))
    code_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    device_id: Mapped[str | None] = mapped_column(String(24))


class SmsMessage(Base):
    __tablename__ = "sms_messages"
    __table_args__ = (
        Index("uq_sms_messages_copy", "owner_id", "mode", "sender", "received_at",
              "body_digest", unique=True),
        Index("uq_sms_messages_credit", "owner_id", "mode", "provider", "trx_id",
              unique=True, sqlite_where=text(CREDIT_HELD), postgresql_where=text(CREDIT_HELD)),
        Index("uq_sms_messages_payment", "matched_payment_id", unique=True,
              sqlite_where=text(MATCHED), postgresql_where=text(MATCHED)),
        Index("ix_sms_messages_merchant_mode_created", "merchant_id", "mode", "created_at"),
        Index("ix_sms_messages_device_provider_at", "device_id", "provider", "sent_at"),
        Index("ix_sms_messages_owner_mode_status", "owner_id", "mode", "status"),
    )

    id: Mapped[str] = mapped_column(String(24), primary_key=True)  # sms_…
    owner_id: Mapped[int] = mapped_column(BigId)  # see the module docstring; no foreign key
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"))
    mode: Mapped[str] = mapped_column(String(4))
    device_id: Mapped[str] = mapped_column(ForeignKey("sms_devices.id"))
    local_id: Mapped[str | None] = mapped_column(String(100))
    sequence: Mapped[int | None] = mapped_column(BigId)
    sender: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    body_digest: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when the phone got it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when we stored it
    # What the parsers read (sms/parsing.py): kind is a Kind value, not_a_provider or
    # unrecognised.
    kind: Mapped[str] = mapped_column(String(20))
    provider: Mapped[str | None] = mapped_column(String(16))
    pattern: Mapped[str | None] = mapped_column(String(40))
    amount_minor: Mapped[int | None] = mapped_column(BigId)
    fee_minor: Mapped[int | None] = mapped_column(BigId)
    balance_minor: Mapped[int | None] = mapped_column(BigId)
    party: Mapped[str | None] = mapped_column(String(80))
    reference: Mapped[str | None] = mapped_column(String(100))
    trx_id: Mapped[str | None] = mapped_column(String(24))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the time in the text
    # matched | waiting (a credit no payment claims yet) | review | ignored
    status: Mapped[str] = mapped_column(String(12))
    matched_payment_id: Mapped[str | None] = mapped_column(String(24))
    # The payment a decision was about (matched, or sent to review over it).
    considered_payment_id: Mapped[str | None] = mapped_column(String(24), index=True)
    decision: Mapped[str | None] = mapped_column(String(300))  # which rule, and why
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SmsAlert(Base):
    """What an operator must look at: a gap in a device's sequence numbers, a break in a
    wallet's balance chain, a device gone quiet, a message no pattern reads."""

    __tablename__ = "sms_alerts"
    __table_args__ = (
        Index("ix_sms_alerts_merchant_mode_open", "merchant_id", "mode", "resolved_at"),
        Index("ix_sms_alerts_device_kind", "device_id", "kind"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # None: about one of the installation's phones (its operators see it).
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"))
    mode: Mapped[str] = mapped_column(String(4))
    device_id: Mapped[str | None] = mapped_column(String(24))
    kind: Mapped[str] = mapped_column(String(20))  # gap | balance | offline
    first_sequence: Mapped[int | None] = mapped_column(BigId)
    last_sequence: Mapped[int | None] = mapped_column(BigId)
    message: Mapped[str] = mapped_column(String(300))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
