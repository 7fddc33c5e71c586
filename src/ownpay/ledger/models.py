"""Ledger journals and entries (append-only), and fee rules.

A journal is one balanced movement (a completed payment, its fee, a completed refund, a
correction); its entries share its id and its merchant, mode and currency.  ``source`` is
unique, so one business event can never be posted twice even if a code path tried.  The
migration also installs triggers that refuse UPDATE and DELETE on both tables.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ownpay.db import Base, UTCDateTime
from ownpay.merchants.models import BigId

DEBIT = "debit"
CREDIT = "credit"

# Any currency: a fee rule with only a percentage (flat/min/max need a currency).
ANY_CURRENCY = "*"


class LedgerJournal(Base):
    __tablename__ = "ledger_journals"
    __table_args__ = (
        Index("ix_ledger_journals_merchant_mode_currency", "merchant_id", "mode", "currency"),
    )

    id: Mapped[str] = mapped_column(String(28), primary_key=True)  # jrn_ + 24 hex
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    mode: Mapped[str] = mapped_column(String(4))
    currency: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(16))  # payment | fee | refund | adjustment
    # What was posted, e.g. "payment:txn_…", "fee:txn_…", "refund:rf_…" (unique).
    source: Mapped[str] = mapped_column(String(64), unique=True)
    payment_id: Mapped[str | None] = mapped_column(String(24), index=True)
    refund_id: Mapped[str | None] = mapped_column(String(24), index=True)
    memo: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("direction IN ('debit', 'credit')", name="direction_valid"),
        Index(
            "ix_ledger_entries_merchant_mode_currency_account",
            "merchant_id", "mode", "currency", "account",
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    journal_id: Mapped[str] = mapped_column(ForeignKey("ledger_journals.id"), index=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    mode: Mapped[str] = mapped_column(String(4))
    currency: Mapped[str] = mapped_column(String(3))
    account: Mapped[str] = mapped_column(String(32))
    direction: Mapped[str] = mapped_column(String(6))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FeeRule(Base):
    """Our fee for payments of one merchant, mode and gateway (and currency, or any)."""

    __tablename__ = "fee_rules"
    __table_args__ = (UniqueConstraint("merchant_id", "mode", "gateway", "currency"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    mode: Mapped[str] = mapped_column(String(4))
    gateway: Mapped[str] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(3))  # ISO code, or "*" (percentage only)
    flat_minor: Mapped[int] = mapped_column(BigInteger)
    # The percentage in parts per million of the amount: 2.9 % is 29000 (exact integers).
    rate_ppm: Mapped[int] = mapped_column(Integer)
    min_minor: Mapped[int | None] = mapped_column(BigInteger)
    max_minor: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
