"""refund status history

Refunds become a state machine like payments: every change of a refund's (status, stage)
is made by one compare-and-set (``refunds/steps.py``) that also writes a row here.  Refunds
made before this migration get their creation (and, once settled, their settlement) rows
reconstructed from the columns that recorded them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "refund_status_history",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("refund_id", sa.String(length=24), nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("from_stage", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("to_stage", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.ForeignKeyConstraint(["refund_id"], ["refunds.id"],
                                name="fk_refund_status_history_refund_id_refunds"),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"],
                                name="fk_refund_status_history_merchant_id_merchants"),
        sa.PrimaryKeyConstraint("id", name="pk_refund_status_history"),
    )
    op.create_index("ix_refund_status_history_refund_id", "refund_status_history",
                    ["refund_id"])
    # What the refunds table already says about earlier refunds.
    op.execute(
        "INSERT INTO refund_status_history (refund_id, merchant_id, from_status, from_stage, "
        "to_status, to_stage, actor, reason, created_at) "
        "SELECT id, merchant_id, NULL, NULL, 'pending', "
        "CASE WHEN created_by = 'provider' THEN 'processing' ELSE 'queued' END, "
        "created_by, reason, created_at FROM refunds"
    )
    op.execute(
        "INSERT INTO refund_status_history (refund_id, merchant_id, from_status, from_stage, "
        "to_status, to_stage, actor, reason, created_at) "
        "SELECT id, merchant_id, 'pending', NULL, status, 'settled', 'migration 0008', "
        "failure_reason, COALESCE(completed_at, failed_at, updated_at) FROM refunds "
        "WHERE status IN ('completed', 'failed')"
    )


def downgrade() -> None:
    op.drop_index("ix_refund_status_history_refund_id", table_name="refund_status_history")
    op.drop_table("refund_status_history")
