"""The dashboard's tables: operator users, their server-side sessions, installation
settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ownpay.db import Base, UTCDateTime, utcnow
from ownpay.merchants.models import BigId


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-cased
    password_hash: Mapped[str] = mapped_column(String(200))  # Argon2id, PHC string
    # owner | admin (installation) or manager | operator | developer | viewer (one brand)
    role: Mapped[str] = mapped_column(String(16))
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"), index=True)
    # AES-256-GCM of the base32 TOTP secret (bound to the user id); None: no 2FA.
    totp_secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(BigId)  # a code is accepted once
    # SHA-256 digests of the unused recovery codes.
    recovery_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Refunds an operator may issue, in major units of any currency (None: no limit).
    refund_limit: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UserSession(Base):
    """One signed-in browser.  The cookie holds a random token; only its digest is here."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the absolute timeout
    # None until the second factor was given (for a user with 2FA).
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reauthenticated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # step-up
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    # The brand and mode the dashboard shows (the switcher).
    merchant_id: Mapped[int | None] = mapped_column(BigId)
    mode: Mapped[str] = mapped_column(String(4), default="test")


class InstallationSetting(Base):
    __tablename__ = "installation_settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
