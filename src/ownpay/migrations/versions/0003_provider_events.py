"""provider_events and gateway_state

provider_events: inbound provider webhooks, deduplicated by provider event id.
gateway_state: encrypted per-gateway-account state shared by every process (provider
tokens); its model existed before this migration did.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 22:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ownpay.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "gateway_state",
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value_enc", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", ownpay.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["gateway_accounts.id"],
            name=op.f("fk_gateway_state_account_id_gateway_accounts"),
        ),
        sa.PrimaryKeyConstraint("account_id", "key", name=op.f("pk_gateway_state")),
    )
    op.create_table(
        "provider_events",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("mode", sa.String(length=4), nullable=False),
        sa.Column("gateway", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("payment_id", sa.String(length=24), nullable=True),
        sa.Column("received_at", ownpay.db.UTCDateTime(), nullable=False),
        sa.Column("processed_at", ownpay.db.UTCDateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["gateway_accounts.id"],
            name=op.f("fk_provider_events_account_id_gateway_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"],
            name=op.f("fk_provider_events_merchant_id_merchants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_events")),
        sa.UniqueConstraint(
            "account_id", "event_id", name=op.f("uq_provider_events_account_id_event_id")
        ),
    )
    with op.batch_alter_table("provider_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_provider_events_merchant_mode_received",
            ["merchant_id", "mode", "received_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("provider_events", schema=None) as batch_op:
        batch_op.drop_index("ix_provider_events_merchant_mode_received")
    op.drop_table("provider_events")
    op.drop_table("gateway_state")
