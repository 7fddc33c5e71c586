"""brand domains: ``brand_domains``

* ``brand_domains`` -- a brand's own host names (``pay.example.com``), ASCII lower-case and
  unique across the installation, each with its random verification token (the TXT record
  ``_ownpay-verification.<domain>`` must carry it), a status (pending, verified,
  suspended), whether it is the brand's primary domain (at most one per brand: a partial
  unique index, which SQLite and PostgreSQL both have), when it was verified and last
  checked, the last check's error and how many checks in a row failed.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ownpay.db

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AT = ownpay.db.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "brand_domains",
        sa.Column("id", sa.String(length=24), primary_key=True),
        sa.Column("merchant_id", _ID, sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("created_at", _AT(), nullable=False),
        sa.Column("verified_at", _AT(), nullable=True),
        sa.Column("last_checked_at", _AT(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'verified', 'suspended')",
                           name="ck_brand_domains_status"),
    )
    op.create_index("uq_brand_domains_domain", "brand_domains", ["domain"], unique=True)
    op.create_index("ix_brand_domains_merchant", "brand_domains", ["merchant_id", "created_at"])
    op.create_index("ix_brand_domains_checked", "brand_domains", ["status", "last_checked_at"])
    op.create_index("uq_brand_domains_primary", "brand_domains", ["merchant_id"], unique=True,
                    sqlite_where=sa.text("is_primary"), postgresql_where=sa.text("is_primary"))


def downgrade() -> None:
    op.drop_index("uq_brand_domains_primary", table_name="brand_domains")
    op.drop_index("ix_brand_domains_checked", table_name="brand_domains")
    op.drop_index("ix_brand_domains_merchant", table_name="brand_domains")
    op.drop_index("uq_brand_domains_domain", table_name="brand_domains")
    op.drop_table("brand_domains")
