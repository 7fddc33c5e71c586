"""indexes for transaction queries and the CSV export

Every listing is ``WHERE merchant_id = ? AND mode = ? [filters] ORDER BY created_at DESC,
id DESC`` with a keyset condition ``(created_at, id) < (?, ?)`` (see docs/transactions.md):

- ix_payment_intents_merchant_mode_created_id replaces ..._merchant_mode_created: with ``id``
  as the last column the index is in exactly the order of the listing, and the keyset
  condition is an index bound on both engines, so page 1000 costs what page 1 costs.
- ..._status_created, ..._gateway_created, ..._order_created (replaces ..._merchant_mode_order,
  its prefix still serves the create-intent "order already paid" check) and
  ..._email_created: equality on the filtered column, then the listing's order, so a filter
  reads only its own rows and never sorts.  Without that tail SQLite's planner (which has
  no statistics unless ANALYZE ran) prefers walking the ordered index and filtering, i.e.
  reading every row of the merchant to find one e-mail address.
- The e-mail index is built under a case-insensitive collation (SQLite: NOCASE;
  PostgreSQL: the ICU collation ``ownpay_ci`` created here), so ``customer_email = ?
  COLLATE …`` is an index search.  The models declare it as a plain column index because
  neither engine's reflection reports index collations; the collation lives here only.

``IF NOT EXISTS``: on a large live PostgreSQL database an operator can build these first
with ``CREATE INDEX CONCURRENTLY`` (same names and definitions) and then upgrade without
locking writes (docs/transactions.md).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 23:05:00
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TABLE = "payment_intents"
_KEYSET = "created_at, id"


def _indexes(collation: str) -> dict[str, str]:
    return {
        "ix_payment_intents_merchant_mode_created_id": f"merchant_id, mode, {_KEYSET}",
        "ix_payment_intents_merchant_mode_status_created": f"merchant_id, mode, status, {_KEYSET}",
        "ix_payment_intents_merchant_mode_gateway_created":
            f"merchant_id, mode, gateway, {_KEYSET}",
        "ix_payment_intents_merchant_mode_order_created":
            f"merchant_id, mode, order_id, {_KEYSET}",
        "ix_payment_intents_merchant_mode_email_created":
            f"merchant_id, mode, customer_email COLLATE {collation}, {_KEYSET}",
    }


# Replaced by the indexes above (they have the same leading columns).
_REPLACED = {
    "ix_payment_intents_merchant_mode_created": "merchant_id, mode, created_at",
    "ix_payment_intents_merchant_mode_order": "merchant_id, mode, order_id",
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Unicode case-insensitive, accent-sensitive equality; b-tree indexable (PG >= 12).
        op.execute(
            "CREATE COLLATION IF NOT EXISTS ownpay_ci "
            "(provider = icu, locale = 'und-u-ks-level2', deterministic = false)"
        )
        collation = "ownpay_ci"
    else:
        collation = "NOCASE"
    for name, columns in _indexes(collation).items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {_TABLE} ({columns})")
    for name in _REPLACED:
        op.execute(f"DROP INDEX IF EXISTS {name}")


def downgrade() -> None:
    for name, columns in _REPLACED.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {_TABLE} ({columns})")
    for name in _indexes("unused"):
        op.execute(f"DROP INDEX IF EXISTS {name}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP COLLATION IF EXISTS ownpay_ci")
