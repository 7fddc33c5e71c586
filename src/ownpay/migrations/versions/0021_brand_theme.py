"""brand theme: ``brand_assets`` and ``merchants.theme``

* ``brand_assets`` -- a brand's uploaded logo and favicon (re-encoded PNG) and its custom
  stylesheet (sanitised CSS): kind, SHA-256 of the bytes (indexed: the public URL names
  it), content type and the bytes; unique per brand, kind and digest.
* ``merchants.theme`` -- JSON, NULL until set: accent and button-text colours, support
  e-mail / phone / URL, footer text and the digests of the current logo, favicon and CSS.

Self-contained: it creates and drops only what it adds.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 23:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ownpay.db

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "brand_assets",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("merchant_id", _ID, sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", ownpay.db.UTCDateTime(), nullable=False),
        sa.UniqueConstraint("merchant_id", "kind", "sha256"),
    )
    op.create_index("ix_brand_assets_sha256", "brand_assets", ["sha256"])
    with op.batch_alter_table("merchants") as batch:
        batch.add_column(sa.Column("theme", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("merchants") as batch:
        batch.drop_column("theme")
    op.drop_index("ix_brand_assets_sha256", table_name="brand_assets")
    op.drop_table("brand_assets")
