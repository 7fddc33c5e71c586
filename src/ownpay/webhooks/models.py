"""Webhook endpoints, their per-event deliveries and every delivery attempt.

``webhook_deliveries`` is the durable queue the worker drains: one row per (event, endpoint),
created when the worker fans an outbox event out, holding the exact JSON bytes that every
attempt sends. A worker claims a row by writing a lease (``locked_until`` + ``lease_token``)
in a short transaction, performs the POST outside any transaction, and records the result in
a second transaction only if the lease is still its own.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ownpay.db import Base, UTCDateTime, utcnow
from ownpay.merchants.models import BigId

# Delivery statuses.  ``pending``: not attempted yet; ``retrying``: failed at least once and
# due again at ``next_attempt_at``; ``succeeded``: a 2xx was recorded; ``dead``: the retry
# schedule is exhausted (kept, replayable); ``cancelled``: its endpoint was deleted.
PENDING = "pending"
RETRYING = "retrying"
SUCCEEDED = "succeeded"
DEAD = "dead"
CANCELLED = "cancelled"
DELIVERY_STATUSES = (PENDING, RETRYING, SUCCEEDED, DEAD, CANCELLED)
OPEN_STATUSES = (PENDING, RETRYING)


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        Index("ix_webhook_endpoints_merchant_mode", "merchant_id", "mode"),
        Index("ix_webhook_endpoints_payment", "payment_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # we_ + 24 hex
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    mode: Mapped[str] = mapped_column(String(4))
    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[list[str]] = mapped_column(JSON)  # event types, or ["*"]
    description: Mapped[str | None] = mapped_column(String(500))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # How deliveries are shaped and signed: "ownpay" or "ownpay-legacy" (webhooks/schemes.py).
    scheme: Mapped[str] = mapped_column(String(16), default="ownpay", server_default="ownpay")
    # Set for a payment's own callback_url (the OwnPay merchant API): only that payment's
    # events, signed with the merchant's callback secret (CallbackSecret), never listed.
    payment_id: Mapped[str | None] = mapped_column(String(24))
    # AES-256-GCM(nonce || ciphertext) of "whsec_…"; never decrypted for display.
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    # The secret replaced by the last rotation keeps signing until this moment.
    previous_secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Soft delete: the delivery log keeps pointing at the endpoint.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_order", "endpoint_id", "payment_id", "event_created_at"),
        Index("ix_webhook_deliveries_merchant_mode_created", "merchant_id", "mode", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # dlv_ + 24 hex
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    mode: Mapped[str] = mapped_column(String(4))
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id"))
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id"))
    event_type: Mapped[str] = mapped_column(String(64))
    payment_id: Mapped[str | None] = mapped_column(String(24))
    # Copied from the event: per-endpoint, per-payment delivery order follows it.
    event_created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The exact bytes POSTed by every attempt (serialised once, at fan-out).
    body: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_token: Mapped[str | None] = mapped_column(String(32))
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"
    __table_args__ = (UniqueConstraint("delivery_id", "number"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_deliveries.id"))
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    number: Mapped[int] = mapped_column(Integer)  # 1 for the first attempt
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int] = mapped_column(Integer)
    success: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)  # first 2 KiB, decoded leniently
    error: Mapped[str | None] = mapped_column(String(500))



class CallbackSecret(Base):
    """Per merchant and mode: the secret that signs deliveries to payments' own callback
    URLs (``ownpay webhooks callback-secret``); AES-256-GCM like endpoint secrets."""

    __tablename__ = "callback_secrets"

    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), primary_key=True)
    mode: Mapped[str] = mapped_column(String(4), primary_key=True)
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
