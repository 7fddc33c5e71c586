"""An invoice (migration 0020), its status history, and what the public page
``/invoice/{token}`` shows.  Payments made for it carry its id
(``payment_intents.invoice_id``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ownpay.db import Base, UTCDateTime
from ownpay.tenancy import TenantScope


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        Index("uq_invoices_token", "token", unique=True),
        Index("uq_invoices_number", "merchant_id", "mode", "sequence", unique=True),
        Index("ix_invoices_merchant_mode_created", "merchant_id", "mode", "created_at", "id"),
        Index("ix_invoices_status_due", "status", "due_date"),
    )

    id: Mapped[str] = mapped_column(String(24), primary_key=True)  # inv_ + 16 hex
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    mode: Mapped[str] = mapped_column(String(4))
    token: Mapped[str] = mapped_column(String(64))  # the public page's /invoice/{token}
    sequence: Mapped[int] = mapped_column(Integer)  # per brand and mode: INV-000123
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"))
    customer_name: Mapped[str | None] = mapped_column(String(150))
    customer_email: Mapped[str | None] = mapped_column(String(254))
    currency: Mapped[str] = mapped_column(String(3))
    # [{"description", "quantity", "unit_price", "tax_rate", "discount_rate"}], as strings.
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    discount_amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    discount_rate: Mapped[str | None] = mapped_column(String(16))  # percent, as text
    tax_rate: Mapped[str | None] = mapped_column(String(16))  # percent, as text
    total_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # totals.py, stored
    amount_paid_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    due_date: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    overdue_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def scope(self) -> TenantScope:
        return TenantScope(self.merchant_id, self.mode)

    @property
    def number(self) -> str:
        return number_of(self.sequence)

    @property
    def outstanding_minor(self) -> int:
        return max(0, self.total_minor - self.amount_paid_minor)


def number_of(sequence: int) -> str:
    return f"INV-{sequence:06d}"


class InvoiceStatusHistory(Base):
    __tablename__ = "invoice_status_history"
    __table_args__ = (Index("ix_invoice_status_history_invoice", "invoice_id", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"))
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
