"""phones shared by the whole installation (opt-in): devices, codes and alerts without a
brand, and messages that know whose phone received them

* ``sms_devices.merchant_id``, ``sms_pairing_codes.merchant_id``,
  ``sms_alerts.merchant_id`` -- nullable: NULL is the installation.
* ``sms_messages.owner_id`` -- whose phone received the message: the brand's id, or 0 for
  the installation's phones; existing rows take their ``merchant_id``.  The copy and credit
  unique indexes move from ``merchant_id`` to ``owner_id`` (a NULL would make every
  installation copy distinct), and ``merchant_id`` becomes nullable: an installation
  phone's message has no brand until matching gives it one.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 23:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CREDIT_HELD = "trx_id IS NOT NULL AND kind IN ('received', 'cash_in')"


def _unique_indexes(column: str) -> None:
    op.create_index("uq_sms_messages_copy", "sms_messages",
                    [column, "mode", "sender", "received_at", "body_digest"], unique=True)
    op.create_index("uq_sms_messages_credit", "sms_messages",
                    [column, "mode", "provider", "trx_id"], unique=True,
                    sqlite_where=sa.text(CREDIT_HELD), postgresql_where=sa.text(CREDIT_HELD))


def _drop_unique_indexes() -> None:
    op.drop_index("uq_sms_messages_copy", table_name="sms_messages")
    op.drop_index("uq_sms_messages_credit", table_name="sms_messages")


def upgrade() -> None:
    for table in ("sms_devices", "sms_pairing_codes", "sms_alerts"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("merchant_id", existing_type=_ID, nullable=True)
    _drop_unique_indexes()
    with op.batch_alter_table("sms_messages") as batch:
        batch.add_column(sa.Column("owner_id", _ID, nullable=True))
    op.execute("UPDATE sms_messages SET owner_id = merchant_id")
    with op.batch_alter_table("sms_messages") as batch:
        batch.alter_column("owner_id", existing_type=_ID, nullable=False)
        batch.alter_column("merchant_id", existing_type=_ID, nullable=True)
    _unique_indexes("owner_id")
    op.create_index("ix_sms_messages_owner_mode_status", "sms_messages",
                    ["owner_id", "mode", "status"])


def downgrade() -> None:
    # The installation's phones and what they received have no brand to go back to.
    op.execute("DELETE FROM sms_alerts WHERE merchant_id IS NULL")
    op.execute("DELETE FROM sms_messages WHERE owner_id = 0")  # given to a brand or not
    op.execute("DELETE FROM sms_pairing_codes WHERE merchant_id IS NULL")
    op.execute("DELETE FROM sms_devices WHERE merchant_id IS NULL")
    op.drop_index("ix_sms_messages_owner_mode_status", table_name="sms_messages")
    _drop_unique_indexes()
    with op.batch_alter_table("sms_messages") as batch:
        batch.alter_column("merchant_id", existing_type=_ID, nullable=False)
        batch.drop_column("owner_id")
    _unique_indexes("merchant_id")
    for table in ("sms_alerts", "sms_pairing_codes", "sms_devices"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("merchant_id", existing_type=_ID, nullable=False)
