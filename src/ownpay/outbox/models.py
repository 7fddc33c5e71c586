"""The transactional outbox: one row per event, written in the same transaction as the
change it describes (``writer.py``); the worker fans each out into webhook deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ownpay.db import Base, UTCDateTime, utcnow


class OutboxEvent(Base):
    """An event written in the same transaction as the change it describes."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_merchant_mode_created", "merchant_id", "mode", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # evt_ + hex
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    mode: Mapped[str] = mapped_column(String(4))
    type: Mapped[str] = mapped_column(String(64))
    payment_id: Mapped[str | None] = mapped_column(String(24), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set once the worker has fanned the event out into per-endpoint deliveries.
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # Why the event could not be fanned out (it was set aside; migration 0007).
    dispatch_error: Mapped[str | None] = mapped_column(String(500))
