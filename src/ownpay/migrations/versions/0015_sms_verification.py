"""personal-wallet SMS verification: paired devices, pairing codes, messages, alerts

* ``sms_devices`` — phones and SMS-forwarder apps paired to one brand and mode (token
  digests, the per-device AES key encrypted with the installation key, the last sequence
  number, the wallet numbers it receives for, heartbeat fields, revocation).
* ``sms_pairing_codes`` — digests of one-time 6-digit codes (5 minutes, single use).
* ``sms_messages`` — each forwarded SMS once, with what the parsers read and the matching
  decision; unique copies, unique credits per transaction id, unique matched payment.
* ``sms_alerts`` — sequence gaps, balance breaks, devices gone quiet.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ownpay.db

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AT = ownpay.db.UTCDateTime
CREDIT_HELD = "trx_id IS NOT NULL AND kind IN ('received', 'cash_in')"
MATCHED = "matched_payment_id IS NOT NULL"


def upgrade() -> None:
    op.create_table(
        "sms_devices",
        sa.Column("id", sa.String(length=24), primary_key=True),
        sa.Column("merchant_id", _ID, sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("mode", sa.String(length=4), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("client_device_id", sa.String(length=100), nullable=True),
        sa.Column("platform", sa.String(length=20), nullable=True),
        sa.Column("app_version", sa.String(length=40), nullable=True),
        sa.Column("access_digest", sa.String(length=64), nullable=True, unique=True),
        sa.Column("access_expires_at", _AT(), nullable=True),
        sa.Column("refresh_digest", sa.String(length=64), nullable=True, unique=True),
        sa.Column("spent_refresh", sa.JSON(), nullable=False),
        sa.Column("forward_digest", sa.String(length=64), nullable=True, unique=True),
        sa.Column("aes_key_enc", sa.LargeBinary(), nullable=True),
        sa.Column("last_sequence", _ID, nullable=True),
        sa.Column("wallets", sa.JSON(), nullable=False),
        sa.Column("battery", sa.Integer(), nullable=True),
        sa.Column("last_seen_at", _AT(), nullable=True),
        sa.Column("offline_since", _AT(), nullable=True),
        sa.Column("created_at", _AT(), nullable=False),
        sa.Column("revoked_at", _AT(), nullable=True),
        sa.Column("revoked_reason", sa.String(length=200), nullable=True),
    )
    op.create_index("ix_sms_devices_merchant_id", "sms_devices", ["merchant_id"])
    op.create_table(
        "sms_pairing_codes",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("merchant_id", _ID, sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("mode", sa.String(length=4), nullable=False),
        sa.Column("code_digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", _AT(), nullable=False),
        sa.Column("expires_at", _AT(), nullable=False),
        sa.Column("used_at", _AT(), nullable=True),
        sa.Column("device_id", sa.String(length=24), nullable=True),
    )
    op.create_index("ix_sms_pairing_codes_merchant_id", "sms_pairing_codes", ["merchant_id"])
    op.create_table(
        "sms_messages",
        sa.Column("id", sa.String(length=24), primary_key=True),
        sa.Column("merchant_id", _ID, sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("mode", sa.String(length=4), nullable=False),
        sa.Column("device_id", sa.String(length=24), sa.ForeignKey("sms_devices.id"),
                  nullable=False),
        sa.Column("local_id", sa.String(length=100), nullable=True),
        sa.Column("sequence", _ID, nullable=True),
        sa.Column("sender", sa.String(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_digest", sa.String(length=64), nullable=False),
        sa.Column("received_at", _AT(), nullable=False),
        sa.Column("created_at", _AT(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=True),
        sa.Column("pattern", sa.String(length=40), nullable=True),
        sa.Column("amount_minor", _ID, nullable=True),
        sa.Column("fee_minor", _ID, nullable=True),
        sa.Column("balance_minor", _ID, nullable=True),
        sa.Column("party", sa.String(length=80), nullable=True),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("trx_id", sa.String(length=24), nullable=True),
        sa.Column("sent_at", _AT(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("matched_payment_id", sa.String(length=24), nullable=True),
        sa.Column("considered_payment_id", sa.String(length=24), nullable=True),
        sa.Column("decision", sa.String(length=300), nullable=True),
        sa.Column("decided_at", _AT(), nullable=True),
    )
    op.create_index("uq_sms_messages_copy", "sms_messages",
                    ["merchant_id", "mode", "sender", "received_at", "body_digest"], unique=True)
    op.create_index("uq_sms_messages_credit", "sms_messages",
                    ["merchant_id", "mode", "provider", "trx_id"], unique=True,
                    sqlite_where=sa.text(CREDIT_HELD), postgresql_where=sa.text(CREDIT_HELD))
    op.create_index("uq_sms_messages_payment", "sms_messages", ["matched_payment_id"],
                    unique=True, sqlite_where=sa.text(MATCHED), postgresql_where=sa.text(MATCHED))
    op.create_index("ix_sms_messages_merchant_mode_created", "sms_messages",
                    ["merchant_id", "mode", "created_at"])
    op.create_index("ix_sms_messages_considered_payment_id", "sms_messages",
                    ["considered_payment_id"])
    op.create_index("ix_sms_messages_device_provider_at", "sms_messages",
                    ["device_id", "provider", "sent_at"])
    op.create_table(
        "sms_alerts",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("merchant_id", _ID, sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("mode", sa.String(length=4), nullable=False),
        sa.Column("device_id", sa.String(length=24), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("first_sequence", _ID, nullable=True),
        sa.Column("last_sequence", _ID, nullable=True),
        sa.Column("message", sa.String(length=300), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", _AT(), nullable=False),
        sa.Column("resolved_at", _AT(), nullable=True),
    )
    op.create_index("ix_sms_alerts_merchant_mode_open", "sms_alerts",
                    ["merchant_id", "mode", "resolved_at"])
    op.create_index("ix_sms_alerts_device_kind", "sms_alerts", ["device_id", "kind"])


def downgrade() -> None:
    op.drop_table("sms_alerts")
    op.drop_table("sms_messages")
    op.drop_table("sms_pairing_codes")
    op.drop_table("sms_devices")
