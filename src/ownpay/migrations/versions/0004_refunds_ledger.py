"""refunds, the double-entry ledger and fee rules

- refunds: one row per refund of a payment (pending -> completed | failed, and the stage of
  talking to the gateway).
- ledger_journals / ledger_entries: append-only; triggers refuse UPDATE and DELETE on both
  engines (corrections are new journals).
- fee_rules: flat + percentage (parts per million), optional min/max, per merchant, mode,
  gateway and currency.
- payment_intents: fee_minor, net_minor (set at completion), refunded_minor and
  refund_reserved_minor (the atomic reservation that stops concurrent over-refunds).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 22:14:49
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ownpay.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_LEDGER_TABLES = ("ledger_journals", "ledger_entries")


def upgrade() -> None:
    op.create_table(
        "fee_rules",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("mode", sa.String(length=4), nullable=False),
        sa.Column("gateway", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("flat_minor", sa.BigInteger(), nullable=False),
        sa.Column("rate_ppm", sa.Integer(), nullable=False),
        sa.Column("min_minor", sa.BigInteger(), nullable=True),
        sa.Column("max_minor", sa.BigInteger(), nullable=True),
        sa.Column("created_at", ownpay.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", ownpay.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_fee_rules_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_rules")),
        sa.UniqueConstraint(
            "merchant_id", "mode", "gateway", "currency",
            name=op.f("uq_fee_rules_merchant_id_mode_gateway_currency"),
        ),
    )

    op.create_table(
        "ledger_journals",
        sa.Column("id", sa.String(length=28), nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("mode", sa.String(length=4), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("payment_id", sa.String(length=24), nullable=True),
        sa.Column("refund_id", sa.String(length=24), nullable=True),
        sa.Column("memo", sa.String(length=200), nullable=True),
        sa.Column("created_at", ownpay.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"],
            name=op.f("fk_ledger_journals_merchant_id_merchants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_journals")),
        sa.UniqueConstraint("source", name=op.f("uq_ledger_journals_source")),
    )
    with op.batch_alter_table("ledger_journals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_journals_merchant_mode_currency", ["merchant_id", "mode", "currency"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_ledger_journals_payment_id"), ["payment_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ledger_journals_refund_id"), ["refund_id"], unique=False
        )

    op.create_table(
        "ledger_entries",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("journal_id", sa.String(length=28), nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("mode", sa.String(length=4), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("account", sa.String(length=32), nullable=False),
        sa.Column("direction", sa.String(length=6), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("created_at", ownpay.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "direction IN ('debit', 'credit')", name=op.f("ck_ledger_entries_direction_valid")
        ),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_ledger_entries_amount_positive")),
        sa.ForeignKeyConstraint(
            ["journal_id"], ["ledger_journals.id"],
            name=op.f("fk_ledger_entries_journal_id_ledger_journals"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"],
            name=op.f("fk_ledger_entries_merchant_id_merchants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_entries_journal_id"), ["journal_id"], unique=False
        )
        batch_op.create_index(
            "ix_ledger_entries_merchant_mode_currency_account",
            ["merchant_id", "mode", "currency", "account"], unique=False,
        )

    op.create_table(
        "refunds",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("merchant_id", _ID, nullable=False),
        sa.Column("mode", sa.String(length=4), nullable=False),
        sa.Column("payment_id", sa.String(length=24), nullable=False),
        sa.Column("gateway", sa.String(length=32), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("provider_refund_id", sa.String(length=100), nullable=True),
        sa.Column("failure_reason", sa.String(length=500), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("send_count", sa.Integer(), nullable=False),
        sa.Column("check_count", sa.Integer(), nullable=False),
        sa.Column("next_check_at", ownpay.db.UTCDateTime(), nullable=True),
        sa.Column("created_at", ownpay.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", ownpay.db.UTCDateTime(), nullable=False),
        sa.Column("sent_at", ownpay.db.UTCDateTime(), nullable=True),
        sa.Column("completed_at", ownpay.db.UTCDateTime(), nullable=True),
        sa.Column("failed_at", ownpay.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_refunds_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payment_intents.id"],
            name=op.f("fk_refunds_payment_id_payment_intents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
    )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.create_index(
            "ix_refunds_merchant_mode_created", ["merchant_id", "mode", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_refunds_payment_id"), ["payment_id"], unique=False)
        batch_op.create_index(
            "ix_refunds_status_next_check", ["status", "next_check_at"], unique=False
        )

    with op.batch_alter_table("payment_intents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fee_minor", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("net_minor", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("refunded_minor", sa.BigInteger(), server_default=sa.text("0"),
                      nullable=False)
        )
        batch_op.add_column(
            sa.Column("refund_reserved_minor", sa.BigInteger(), server_default=sa.text("0"),
                      nullable=False)
        )

    _create_immutability_triggers()


def _create_immutability_triggers() -> None:
    """The ledger is append-only in the database too, not only in our code."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION ownpay_ledger_immutable() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'ledger rows are immutable (%): post a correcting journal', "
            "TG_TABLE_NAME; END $$"
        )
        for table in _LEDGER_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ownpay_ledger_immutable()"
            )
        return
    for table in _LEDGER_TABLES:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'ledger rows are immutable ({table}): post a "
                "correcting journal'); END"
            )


def _drop_immutability_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _LEDGER_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
        op.execute("DROP FUNCTION IF EXISTS ownpay_ledger_immutable()")
        return
    for table in _LEDGER_TABLES:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")


def downgrade() -> None:
    _drop_immutability_triggers()
    with op.batch_alter_table("payment_intents", schema=None) as batch_op:
        batch_op.drop_column("refund_reserved_minor")
        batch_op.drop_column("refunded_minor")
        batch_op.drop_column("net_minor")
        batch_op.drop_column("fee_minor")

    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index("ix_refunds_status_next_check")
        batch_op.drop_index(batch_op.f("ix_refunds_payment_id"))
        batch_op.drop_index("ix_refunds_merchant_mode_created")
    op.drop_table("refunds")

    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entries_merchant_mode_currency_account")
        batch_op.drop_index(batch_op.f("ix_ledger_entries_journal_id"))
    op.drop_table("ledger_entries")

    with op.batch_alter_table("ledger_journals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_journals_refund_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_journals_payment_id"))
        batch_op.drop_index("ix_ledger_journals_merchant_mode_currency")
    op.drop_table("ledger_journals")
    op.drop_table("fee_rules")
