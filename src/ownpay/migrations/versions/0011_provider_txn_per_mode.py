"""provider transaction ids are unique per merchant and mode, among live payments

``uq_payment_intents_provider_txn`` was (merchant_id, provider_txn_id): a transaction id a
tester typed in test mode blocked a real customer's id in live mode, and an offline payment
an operator rejected kept its id for ever.  Now the index is (merchant_id, mode,
provider_txn_id) over payments that still hold their id (not failed, cancelled or expired).

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-02 06:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None

_NAME = "uq_payment_intents_provider_txn"
# Kept here (not imported) so the migration keeps meaning what it meant when written.
_HELD = "provider_txn_id IS NOT NULL AND status NOT IN ('failed', 'cancelled', 'expired')"


def upgrade() -> None:
    op.execute(f"DROP INDEX IF EXISTS {_NAME}")
    op.execute(f"CREATE UNIQUE INDEX {_NAME} ON payment_intents "
               f"(merchant_id, mode, provider_txn_id) WHERE {_HELD}")


def downgrade() -> None:
    op.execute(f"DROP INDEX IF EXISTS {_NAME}")
    op.execute(f"CREATE UNIQUE INDEX {_NAME} ON payment_intents (merchant_id, provider_txn_id) "
               "WHERE provider_txn_id IS NOT NULL")
