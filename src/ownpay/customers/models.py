"""A customer (migration 0019): a brand's and mode's payer.

Name, e-mail and phone are stored only as AES-256-GCM blobs (``*_enc``, each bound to its
row and field, ``customers/pii.py``); the normalised e-mail and phone are also kept as
keyed digests (HMAC-SHA256 under the installation's lookup key), which is what every
lookup compares -- unique per brand and mode, so one e-mail is one customer.  Forgetting a
customer empties all of them (and the copies on its payments) and sets ``forgotten_at``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ownpay.db import Base, UTCDateTime
from ownpay.tenancy import TenantScope


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        # NULL digests (no e-mail, no phone, or forgotten) never collide.
        Index("uq_customers_email_digest", "merchant_id", "mode", "email_digest", unique=True),
        Index("uq_customers_phone_digest", "merchant_id", "mode", "phone_digest", unique=True),
        Index("ix_customers_merchant_mode_created", "merchant_id", "mode", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(24), primary_key=True)  # cus_ + 16 hex
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    mode: Mapped[str] = mapped_column(String(4))
    name_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    email_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    email_digest: Mapped[str | None] = mapped_column(String(64))
    phone_digest: Mapped[str | None] = mapped_column(String(64))
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    forgotten_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def scope(self) -> TenantScope:
        return TenantScope(self.merchant_id, self.mode)
