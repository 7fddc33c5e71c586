"""Inbound provider webhooks, recorded once each (unique per gateway account and event id).

The inbound route verifies the provider's signature, inserts a row here (a replay of the
same provider event id finds the row and does nothing more), re-fetches the provider's
object and acts through the payments service -- STYLE.md habit 7.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ownpay.db import Base, UTCDateTime, utcnow
from ownpay.merchants.models import BigId


class ProviderEventRecord(Base):
    __tablename__ = "provider_events"
    __table_args__ = (
        UniqueConstraint("account_id", "event_id"),
        Index("ix_provider_events_merchant_mode_received", "merchant_id", "mode", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("gateway_accounts.id"))
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    mode: Mapped[str] = mapped_column(String(4))
    gateway: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(255))  # the provider's own event id
    event_type: Mapped[str] = mapped_column(String(100))
    payment_id: Mapped[str | None] = mapped_column(String(24))  # ours, once known
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(500))  # what we did, for operators
