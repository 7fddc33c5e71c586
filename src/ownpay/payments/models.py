"""Payment intents and their status history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ownpay.db import Base, UTCDateTime, utcnow
from ownpay.merchants.models import BigId
from ownpay.tenancy import TenantScope

# A payment that has taken the customer's money for its order: a new intent for that order
# is refused (ORDER_ALREADY_PAID).  Literal SQL on purpose: the create-intent check uses
# exactly this text, so both engines' planners can prove it implies the partial index
# ``ix_payment_intents_paid_orders``'s predicate (a bound IN list could not be matched).
PAID_ORDER_CONDITION = (
    "status IN ('completed', 'partially_refunded', 'refunded') AND order_id IS NOT NULL"
)


# Payments whose provider transaction id is taken: see ``uq_payment_intents_provider_txn``.
PROVIDER_TXN_HELD = (
    "provider_txn_id IS NOT NULL AND status NOT IN ('failed', 'cancelled', 'expired')"
)


class PaymentIntent(Base):
    __tablename__ = "payment_intents"
    __table_args__ = (
        # Transaction queries (migration 0005, docs/transactions.md): the keyset order
        # (created_at, id) overall and after each equality filter.  The migration builds
        # customer_email under a case-insensitive collation (NOCASE / ownpay_ci).
        Index(
            "ix_payment_intents_merchant_mode_created_id", "merchant_id", "mode", "created_at", "id"
        ),
        Index(
            "ix_payment_intents_merchant_mode_status_created",
            "merchant_id", "mode", "status", "created_at", "id",
        ),
        Index(
            "ix_payment_intents_merchant_mode_gateway_created",
            "merchant_id", "mode", "gateway", "created_at", "id",
        ),
        Index(
            "ix_payment_intents_merchant_mode_order_created",
            "merchant_id", "mode", "order_id", "created_at", "id",
        ),
        Index(
            "ix_payment_intents_merchant_mode_email_created",
            "merchant_id", "mode", "customer_email", "created_at", "id",
        ),
        Index("ix_payment_intents_status_expires", "status", "expires_at"),
        # The create-intent "order already paid" check (migration 0006): only paid rows, so
        # it stays a one-row probe however many intents a merchant has, and no planner
        # without statistics can prefer walking a listing index instead.
        Index(
            "ix_payment_intents_paid_orders", "order_id", "merchant_id", "mode",
            sqlite_where=text(PAID_ORDER_CONDITION),
            postgresql_where=text(PAID_ORDER_CONDITION),
        ),
        # A provider transaction id pays one payment of a merchant in one mode; a payment
        # that failed (e.g. an operator rejected an offline transfer), was cancelled or
        # expired does not hold on to the id it was given (migration 0011).
        Index(
            "uq_payment_intents_provider_txn",
            "merchant_id", "mode", "provider_txn_id",
            unique=True,
            sqlite_where=text(PROVIDER_TXN_HELD),
            postgresql_where=text(PROVIDER_TXN_HELD),
        ),
        # ``payment_id`` of the OwnPay merchant API (migration 0012).
        Index("uq_payment_intents_public_id", "public_id", unique=True),
        # A payment link's payments by status: its usage cap counts them (migration 0017).
        Index("ix_payment_intents_link_status", "link_id", "status"),
        # A customer's payments, newest first (migration 0019).
        Index("ix_payment_intents_customer_created", "customer_id", "created_at", "id"),
        # An invoice's payments (migration 0020).
        Index("ix_payment_intents_invoice_status", "invoice_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(24), primary_key=True)  # txn_ + 16 hex
    # A UUID4: the payment's ``payment_id`` in the OwnPay merchant API (``/api/v1/payments``).
    public_id: Mapped[str | None] = mapped_column(String(36))
    # The API that created it: None = payment intents; "ownpay" = the OwnPay merchant API;
    # "uddoktapay" / "piprapay" = those facades (compat/).
    api: Mapped[str | None] = mapped_column(String(16))
    # How the customer goes back to return_url: None/"GET" = a redirect with the outcome in
    # the query; "POST" = a form posted to it (UddoktaPay's and PipraPay's ``return_type``).
    return_method: Mapped[str | None] = mapped_column(String(4))
    # The payment link it was made on (links/), None for payments created by an API.
    link_id: Mapped[str | None] = mapped_column(String(24))
    # The invoice it pays (invoices/), None for other payments.
    invoice_id: Mapped[str | None] = mapped_column(String(24))
    # The customer it was matched to by e-mail or phone digest (customers/), if any.
    customer_id: Mapped[str | None] = mapped_column(String(24))
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    mode: Mapped[str] = mapped_column(String(4))
    gateway: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(24))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    order_id: Mapped[str] = mapped_column(String(100))
    customer_name: Mapped[str] = mapped_column(String(150))
    customer_email: Mapped[str] = mapped_column(String(254))
    customer_phone: Mapped[str | None] = mapped_column(String(30))
    description: Mapped[str | None] = mapped_column(String(500))
    return_url: Mapped[str] = mapped_column(String(2048))
    cancel_url: Mapped[str | None] = mapped_column(String(2048))
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The provider's object for this attempt (Stripe PaymentIntent id, bKash paymentID).
    provider_reference: Mapped[str | None] = mapped_column(String(100))
    # The provider's settled transaction id (bKash trxID, manual sender's transaction id).
    provider_txn_id: Mapped[str | None] = mapped_column(String(100))
    # What the customer submitted for an offline (manual) payment.
    submission: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Set when the payment completes (ledger/fees.py): our fee and what the merchant nets.
    fee_minor: Mapped[int | None] = mapped_column(BigInteger)
    net_minor: Mapped[int | None] = mapped_column(BigInteger)
    # Refunds (refunds/flows.py; changed only by payments/refunding.py): completed so far, and
    # held by refunds still pending.
    # refunded_minor + refund_reserved_minor <= amount_minor is kept by a conditional UPDATE.
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    refund_reserved_minor: Mapped[int] = mapped_column(
        BigInteger, default=0, server_default=text("0")
    )

    @property
    def scope(self) -> TenantScope:
        return TenantScope(self.merchant_id, self.mode)


class PaymentStatusHistory(Base):
    __tablename__ = "payment_status_history"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payment_intents.id"), index=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    from_status: Mapped[str] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
