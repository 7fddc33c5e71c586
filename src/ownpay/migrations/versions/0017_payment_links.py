"""payment links: ``payment_links`` and the payment's ``link_id``

* ``payment_links`` -- per brand and mode: the public page's slug (unique), title,
  description, image, currency, a fixed amount or the customer's between min and max, the
  allowed gateways, the customer's fields, a usage cap, an expiry, active, where the
  customer goes after paying.
* ``payment_intents.link_id`` -- the link a payment was made on (NULL for API payments),
  indexed with the status: the usage cap counts a link's payments by status.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 23:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ownpay.db

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AT = ownpay.db.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "payment_links",
        sa.Column("id", sa.String(length=24), primary_key=True),
        sa.Column("merchant_id", _ID, sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("mode", sa.String(length=4), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("image_url", sa.String(length=2048), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("min_minor", sa.BigInteger(), nullable=True),
        sa.Column("max_minor", sa.BigInteger(), nullable=True),
        sa.Column("gateways", sa.JSON(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("expires_at", _AT(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("redirect_url", sa.String(length=2048), nullable=True),
        sa.Column("created_at", _AT(), nullable=False),
        sa.Column("updated_at", _AT(), nullable=False),
    )
    op.create_index("uq_payment_links_slug", "payment_links", ["slug"], unique=True)
    op.create_index("ix_payment_links_merchant_mode_created", "payment_links",
                    ["merchant_id", "mode", "created_at", "id"])
    with op.batch_alter_table("payment_intents") as batch:
        batch.add_column(sa.Column("link_id", sa.String(length=24), nullable=True))
    op.create_index("ix_payment_intents_link_status", "payment_intents", ["link_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_payment_intents_link_status", table_name="payment_intents")
    with op.batch_alter_table("payment_intents") as batch:
        batch.drop_column("link_id")
    op.drop_index("ix_payment_links_merchant_mode_created", table_name="payment_links")
    op.drop_index("uq_payment_links_slug", table_name="payment_links")
    op.drop_table("payment_links")
