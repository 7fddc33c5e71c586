"""customers: ``customers`` and the payment's ``customer_id``

* ``customers`` -- per brand and mode: name, e-mail and phone as AES-256-GCM blobs, keyed
  digests of the normalised e-mail and phone (each unique per brand and mode; NULL when
  absent or forgotten), metadata, created / updated / forgotten times.
* ``payment_intents.customer_id`` -- the customer a payment was matched to (NULL for
  payments made before this revision or without an e-mail or phone), indexed with the
  keyset order: a customer's payments are listed newest first.

Self-contained: it creates and drops only what it adds.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ownpay.db

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AT = ownpay.db.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.String(length=24), primary_key=True),
        sa.Column("merchant_id", _ID, sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("mode", sa.String(length=4), nullable=False),
        sa.Column("name_enc", sa.LargeBinary(), nullable=True),
        sa.Column("email_enc", sa.LargeBinary(), nullable=True),
        sa.Column("phone_enc", sa.LargeBinary(), nullable=True),
        sa.Column("email_digest", sa.String(length=64), nullable=True),
        sa.Column("phone_digest", sa.String(length=64), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.Column("created_at", _AT(), nullable=False),
        sa.Column("updated_at", _AT(), nullable=False),
        sa.Column("forgotten_at", _AT(), nullable=True),
    )
    op.create_index("uq_customers_email_digest", "customers",
                    ["merchant_id", "mode", "email_digest"], unique=True)
    op.create_index("uq_customers_phone_digest", "customers",
                    ["merchant_id", "mode", "phone_digest"], unique=True)
    op.create_index("ix_customers_merchant_mode_created", "customers",
                    ["merchant_id", "mode", "created_at", "id"])
    with op.batch_alter_table("payment_intents") as batch:
        batch.add_column(sa.Column("customer_id", sa.String(length=24), nullable=True))
    op.create_index("ix_payment_intents_customer_created", "payment_intents",
                    ["customer_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_payment_intents_customer_created", table_name="payment_intents")
    with op.batch_alter_table("payment_intents") as batch:
        batch.drop_column("customer_id")
    op.drop_index("ix_customers_merchant_mode_created", table_name="customers")
    op.drop_index("uq_customers_phone_digest", table_name="customers")
    op.drop_index("uq_customers_email_digest", table_name="customers")
    op.drop_table("customers")
