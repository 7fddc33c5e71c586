"""The ``refunds`` table.

``status`` is the public lifecycle (``pending → completed | failed``).  ``stage`` says where
a pending refund is in talking to the gateway, which is what makes "never sent twice" hold
across crashes:

- ``queued``: created and its amount reserved on the payment; the gateway has certainly
  not been asked.  Whoever moves it to ``sending`` (compare-and-set) is the one who sends.
- ``sending``: committed *before* the gateway call, so after a crash we know the call may
  have reached the gateway.  It is resolved by asking the gateway (``query_refund``); it is
  sent again only to a gateway whose refund requests are idempotent (same refund id).
- ``processing``: the gateway acknowledged it and will settle it later (or, for offline
  gateways, an operator confirms it).  Never sent again.
- ``settled``: completed or failed.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ownpay.db import Base, UTCDateTime
from ownpay.merchants.models import BigId
from ownpay.refunds.states import (  # noqa: F401 - re-exported: the statuses live in states.py
    COMPLETED,
    FAILED,
    PENDING,
    PROCESSING,
    QUEUED,
    SENDING,
    SETTLED,
    STATUSES,
)
from ownpay.tenancy import TenantScope


def new_refund_id() -> str:
    return "rf_" + secrets.token_hex(8)


def is_refund_id(value: str) -> bool:
    return (
        len(value) == 19
        and value.startswith("rf_")
        and all(c in "0123456789abcdef" for c in value[3:])
    )


class Refund(Base):
    __tablename__ = "refunds"
    __table_args__ = (
        Index("ix_refunds_merchant_mode_created", "merchant_id", "mode", "created_at", "id"),
        Index("ix_refunds_status_next_check", "status", "next_check_at"),
    )

    id: Mapped[str] = mapped_column(String(24), primary_key=True)  # rf_ + 16 hex
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    mode: Mapped[str] = mapped_column(String(4))
    payment_id: Mapped[str] = mapped_column(ForeignKey("payment_intents.id"), index=True)
    gateway: Mapped[str] = mapped_column(String(32))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(16))
    provider_refund_id: Mapped[str | None] = mapped_column(String(100))
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    # The last inconclusive answer (timeout, provider error), for operators.
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(64))
    send_count: Mapped[int] = mapped_column(Integer)  # gateway refund calls started
    check_count: Mapped[int] = mapped_column(Integer)  # reconciliation rounds
    # When the worker should look at it next (None: nothing to do, or an operator decides).
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # last call started
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def scope(self) -> TenantScope:
        return TenantScope(self.merchant_id, self.mode)


class RefundStatusHistory(Base):
    """Every status or stage change of a refund, like a payment's history (migration 0008).

    The first row of a refund (``from_status`` null) is its creation."""

    __tablename__ = "refund_status_history"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    refund_id: Mapped[str] = mapped_column(ForeignKey("refunds.id"), index=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    from_status: Mapped[str | None] = mapped_column(String(16))
    from_stage: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
