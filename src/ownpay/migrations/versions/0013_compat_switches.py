"""the UddoktaPay and PipraPay facades: per-brand opt-in switches and the return method

* ``compat_switches`` — per merchant, mode and API (``uddoktapay``, ``piprapay``): whether
  that facade answers the merchant's keys.  No row is off.
* ``payment_intents.return_method`` — ``POST`` when the customer must go back to
  ``return_url`` with a posted form (those APIs' ``return_type``); NULL or ``GET``: a
  redirect, as before.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ownpay.db

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "compat_switches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  primary_key=True, autoincrement=True),
        sa.Column("merchant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("mode", sa.String(length=4), nullable=False),
        sa.Column("api", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", ownpay.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", ownpay.db.UTCDateTime(), nullable=False),
        sa.UniqueConstraint("merchant_id", "mode", "api",
                            name="uq_compat_switches_merchant_mode_api"),
    )
    with op.batch_alter_table("payment_intents") as batch:
        batch.add_column(sa.Column("return_method", sa.String(length=4), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payment_intents") as batch:
        batch.drop_column("return_method")
    op.drop_table("compat_switches")
