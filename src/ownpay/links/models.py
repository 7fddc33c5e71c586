"""A payment link (migration 0017): what the public page ``/pay/{slug}`` sells and on what
terms.  Payments made through it carry its id (``payment_intents.link_id``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ownpay.db import Base, UTCDateTime
from ownpay.tenancy import TenantScope


class PaymentLink(Base):
    __tablename__ = "payment_links"
    __table_args__ = (
        Index("uq_payment_links_slug", "slug", unique=True),
        Index("ix_payment_links_merchant_mode_created", "merchant_id", "mode", "created_at",
              "id"),
    )

    id: Mapped[str] = mapped_column(String(24), primary_key=True)  # plink_ + 16 hex
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    mode: Mapped[str] = mapped_column(String(4))
    slug: Mapped[str] = mapped_column(String(64))  # the public page's /pay/{slug}
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    image_url: Mapped[str | None] = mapped_column(String(2048))
    currency: Mapped[str] = mapped_column(String(3))
    # A fixed price, or (None) the customer enters an amount between min and max.
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    min_minor: Mapped[int | None] = mapped_column(BigInteger)
    max_minor: Mapped[int | None] = mapped_column(BigInteger)
    # The gateways the customer may pay with; empty: any of the brand's active methods.
    gateways: Mapped[list[str]] = mapped_column(JSON, default=list)
    # What the customer fills in: [{"name", "label", "type", "required", "options"?}].
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    max_uses: Mapped[int | None] = mapped_column(Integer)  # paid (or under way) payments
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    redirect_url: Mapped[str | None] = mapped_column(String(2048))  # after paying
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def scope(self) -> TenantScope:
        return TenantScope(self.merchant_id, self.mode)
