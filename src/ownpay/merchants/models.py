"""Merchants (brands), their API keys and their gateway accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy import select as _select
from sqlalchemy.orm import Mapped, column_property, mapped_column

from ownpay.db import Base, UTCDateTime, utcnow
from ownpay.domains.models import BrandDomain

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT identities.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Merchant(Base):
    __tablename__ = "merchants"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(150))
    status: Mapped[str] = mapped_column(String(16), default="active")
    base_url: Mapped[str | None] = mapped_column(String(500))
    intent_lifetime: Mapped[int | None] = mapped_column(Integer)
    logo_url: Mapped[str | None] = mapped_column(String(500))
    primary_color: Mapped[str | None] = mapped_column(String(7))
    # The look and feel beyond the primary colour (``branding/theme.py`` reads and writes it).
    theme: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The customer pages' language unless the customer picks another (ownpay.i18n).
    checkout_language: Mapped[str] = mapped_column(String(8), default="en",
                                                   server_default="en")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def public_root(self) -> str | None:
        """The root of the brand's public URLs: ``https://`` its primary domain while that
        is verified (``domains/``), else its own ``base_url`` (None: the installation's)."""
        domain = getattr(self, "primary_domain", None)
        return f"https://{domain}" if domain else self.base_url


# The brand's primary verified domain, loaded with every Merchant (one indexed subquery).
PRIMARY_DOMAIN = (
    _select(BrandDomain.domain)
    .where(BrandDomain.merchant_id == Merchant.id, BrandDomain.is_primary.is_(True),
           BrandDomain.status == "verified")
    .correlate_except(BrandDomain).scalar_subquery())
Merchant.primary_domain = column_property(PRIMARY_DOMAIN)  # type: ignore[attr-defined]


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    mode: Mapped[str] = mapped_column(String(4))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(20))  # shown in listings, e.g. op_test_ab12
    scopes: Mapped[str] = mapped_column(String(64))  # comma-separated
    name: Mapped[str | None] = mapped_column(String(100))
    # "ownpay": made for OwnPay's merchant-API clients; the routes both APIs share answer in
    # that API's shapes (compat/dialect.py).  None: ours.
    dialect: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class GatewayAccount(Base):
    __tablename__ = "gateway_accounts"
    __table_args__ = (UniqueConstraint("merchant_id", "mode", "gateway"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    mode: Mapped[str] = mapped_column(String(4))
    gateway: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    display_name: Mapped[str] = mapped_column(String(100))
    # AES-256-GCM(nonce || ciphertext) of the JSON credentials; never decrypted for display.
    credentials_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Non-secret settings shown to customers (e.g. manual payment instructions).
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
