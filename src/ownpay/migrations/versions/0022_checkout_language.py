"""checkout language: ``merchants.checkout_language``

* ``merchants.checkout_language`` -- the language the brand's customer pages speak unless
  the customer chooses another (``en`` or ``bn``; ``ownpay.i18n.LANGUAGES``), ``en`` for
  every existing brand.

Self-contained: it adds and drops only this column.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 23:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("merchants") as batch:
        batch.add_column(sa.Column("checkout_language", sa.String(length=8), nullable=False,
                                   server_default="en"))


def downgrade() -> None:
    with op.batch_alter_table("merchants") as batch:
        batch.drop_column("checkout_language")
