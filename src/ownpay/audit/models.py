"""The audit log's table: append-only, hash-chained (``ownpay.audit.chain``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from ownpay.db import Base, UTCDateTime, utcnow
from ownpay.merchants.models import BigId


class AuditEntry(Base):
    """Append-only; each row's ``hash`` covers its content and the previous row's hash."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_type: Mapped[str] = mapped_column(String(16))  # user | api_key | worker | cli
    actor: Mapped[str] = mapped_column(String(254))  # e-mail, key prefix, "worker", "cli"
    role: Mapped[str | None] = mapped_column(String(16))
    merchant_id: Mapped[int | None] = mapped_column(BigId, index=True)
    mode: Mapped[str | None] = mapped_column(String(4))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    request_id: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
