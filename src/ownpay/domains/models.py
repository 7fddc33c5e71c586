"""A brand's domain (migration 0018): one host name the brand's customers pay on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ownpay.db import Base, UTCDateTime

STATUSES = ("pending", "verified", "suspended")


class BrandDomain(Base):
    __tablename__ = "brand_domains"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'verified', 'suspended')",
                        name="ck_brand_domains_status"),
        Index("uq_brand_domains_domain", "domain", unique=True),
        Index("ix_brand_domains_merchant", "merchant_id", "created_at"),
        Index("ix_brand_domains_checked", "status", "last_checked_at"),
        # At most one primary domain per brand, held by the database itself.
        Index("uq_brand_domains_primary", "merchant_id", unique=True,
              sqlite_where=text("is_primary"), postgresql_where=text("is_primary")),
    )

    id: Mapped[str] = mapped_column(String(24), primary_key=True)  # dom_ + 16 hex
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    domain: Mapped[str] = mapped_column(String(253))  # ASCII (IDNA), lower-case, no dot
    token: Mapped[str] = mapped_column(String(64))  # what the TXT record must carry
    status: Mapped[str] = mapped_column(String(10))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
