"""The per-brand switches of the compatibility facades (migration 0013).

UddoktaPay's and PipraPay's APIs authenticate with a bare key in a header and send their
IPNs with that same key as the only proof of origin -- weaker than our API and webhooks --
so each is opt-in per merchant, mode and API (``ownpay compat enable``), off by default: no
row, or ``enabled`` false, is off.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ownpay.db import Base, UTCDateTime, utcnow
from ownpay.merchants.models import BigId


class CompatSwitch(Base):
    __tablename__ = "compat_switches"
    __table_args__ = (UniqueConstraint("merchant_id", "mode", "api",
                                       name="uq_compat_switches_merchant_mode_api"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    mode: Mapped[str] = mapped_column(String(4))
    api: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
