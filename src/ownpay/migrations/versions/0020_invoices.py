"""invoices: ``invoices``, ``invoice_status_history`` and the payment's ``invoice_id``

* ``invoices`` -- per brand and mode: the public page's token (unique), the number's
  sequence (unique per brand and mode), the customer (a ``customers`` row, and the name and
  e-mail shown), currency, line items (JSON), the invoice's discount and tax, the stored
  total and amount paid, due date, notes, status, when ``invoice.overdue`` was sent.
* ``invoice_status_history`` -- every status change with its actor and reason.
* ``payment_intents.invoice_id`` -- the invoice a payment pays (NULL for other payments).

Self-contained: it creates and drops only what it adds.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 23:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ownpay.db

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AT = ownpay.db.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "invoices",
        sa.Column("id", sa.String(length=24), primary_key=True),
        sa.Column("merchant_id", _ID, sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("mode", sa.String(length=4), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=24), sa.ForeignKey("customers.id"),
                  nullable=True),
        sa.Column("customer_name", sa.String(length=150), nullable=True),
        sa.Column("customer_email", sa.String(length=254), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("discount_amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("discount_rate", sa.String(length=16), nullable=True),
        sa.Column("tax_rate", sa.String(length=16), nullable=True),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("amount_paid_minor", sa.BigInteger(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("overdue_sent_at", _AT(), nullable=True),
        sa.Column("finalized_at", _AT(), nullable=True),
        sa.Column("paid_at", _AT(), nullable=True),
        sa.Column("created_at", _AT(), nullable=False),
        sa.Column("updated_at", _AT(), nullable=False),
    )
    op.create_index("uq_invoices_token", "invoices", ["token"], unique=True)
    op.create_index("uq_invoices_number", "invoices", ["merchant_id", "mode", "sequence"],
                    unique=True)
    op.create_index("ix_invoices_merchant_mode_created", "invoices",
                    ["merchant_id", "mode", "created_at", "id"])
    op.create_index("ix_invoices_status_due", "invoices", ["status", "due_date"])
    op.create_table(
        "invoice_status_history",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("invoice_id", sa.String(length=24), sa.ForeignKey("invoices.id"),
                  nullable=False),
        sa.Column("merchant_id", _ID, sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", _AT(), nullable=False),
    )
    op.create_index("ix_invoice_status_history_invoice", "invoice_status_history",
                    ["invoice_id", "id"])
    with op.batch_alter_table("payment_intents") as batch:
        batch.add_column(sa.Column("invoice_id", sa.String(length=24), nullable=True))
    op.create_index("ix_payment_intents_invoice_status", "payment_intents",
                    ["invoice_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_payment_intents_invoice_status", table_name="payment_intents")
    with op.batch_alter_table("payment_intents") as batch:
        batch.drop_column("invoice_id")
    op.drop_index("ix_invoice_status_history_invoice", table_name="invoice_status_history")
    op.drop_table("invoice_status_history")
    op.drop_index("ix_invoices_status_due", table_name="invoices")
    op.drop_index("ix_invoices_merchant_mode_created", table_name="invoices")
    op.drop_index("uq_invoices_number", table_name="invoices")
    op.drop_index("uq_invoices_token", table_name="invoices")
    op.drop_table("invoices")
