"""``brand_assets``: a brand's uploaded logo, favicon and custom stylesheet, as stored bytes
named by their SHA-256 (served at ``/brand-assets/<sha256>.<png|css>``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ownpay.db import Base, UTCDateTime, utcnow
from ownpay.merchants.models import BigId

KINDS = ("logo", "favicon", "css")


class BrandAsset(Base):
    __tablename__ = "brand_assets"
    __table_args__ = (UniqueConstraint("merchant_id", "kind", "sha256"),
                      Index("ix_brand_assets_sha256", "sha256"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    kind: Mapped[str] = mapped_column(String(16))  # KINDS
    sha256: Mapped[str] = mapped_column(String(64))  # of ``data``
    content_type: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
