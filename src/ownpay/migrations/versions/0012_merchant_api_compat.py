"""the OwnPay merchant API: payment UUIDs, the creating API, per-payment callback endpoints
and their signature scheme

* ``payment_intents.public_id`` — a UUID4 for every payment (``payment_id`` in the OwnPay
  merchant API, ``/api/v1/payments/{payment_id}``); existing payments get one here.
* ``payment_intents.api`` — which API created the payment (NULL: the payment-intents API),
  so the checkout appends the return parameters that API's clients read.
* ``webhook_endpoints.scheme`` — how deliveries to the endpoint are shaped and signed
  (``ownpay`` as before, ``ownpay-legacy`` for the clients of OwnPay's merchant API).
* ``webhook_endpoints.payment_id`` — set for the endpoint a payment's own ``callback_url``
  became: it receives only that payment's events.
* ``callback_secrets`` — per merchant and mode, the secret that signs those callbacks.
* ``api_keys.dialect`` — "ownpay" for a key made for OwnPay's clients: the routes both APIs
  have (``/api/v1/transactions``, ``/api/v1/refunds``) answer it in that API's shapes.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 20:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ownpay.db

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# A random UUID4 per row, in each engine's own SQL (one statement, however many rows).
_PG_UUID = "gen_random_uuid()::text"
_SQLITE_UUID = (
    "lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || "
    "substr(lower(hex(randomblob(2))), 2) || '-' || "
    "substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2) || "
    "'-' || lower(hex(randomblob(6)))"
)


def upgrade() -> None:
    with op.batch_alter_table("payment_intents") as batch:
        batch.add_column(sa.Column("public_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("api", sa.String(length=16), nullable=True))
    uuid_sql = _PG_UUID if op.get_bind().dialect.name == "postgresql" else _SQLITE_UUID
    # Constant SQL text chosen by dialect (no input reaches it).
    op.execute(f"UPDATE payment_intents SET public_id = {uuid_sql} "  # noqa: S608
               "WHERE public_id IS NULL")
    op.create_index("uq_payment_intents_public_id", "payment_intents", ["public_id"],
                    unique=True)
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.add_column(sa.Column("scheme", sa.String(length=16), nullable=False,
                                   server_default="ownpay"))
        batch.add_column(sa.Column("payment_id", sa.String(length=24), nullable=True))
    op.create_index("ix_webhook_endpoints_payment", "webhook_endpoints", ["payment_id"])
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("dialect", sa.String(length=16), nullable=True))
    op.create_table(
        "callback_secrets",
        sa.Column("merchant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  sa.ForeignKey("merchants.id"), primary_key=True),
        sa.Column("mode", sa.String(length=4), primary_key=True),
        sa.Column("secret_enc", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", ownpay.db.UTCDateTime(), nullable=False),
        sa.Column("rotated_at", ownpay.db.UTCDateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("callback_secrets")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("dialect")
    op.drop_index("ix_webhook_endpoints_payment", table_name="webhook_endpoints")
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.drop_column("payment_id")
        batch.drop_column("scheme")
    op.drop_index("uq_payment_intents_public_id", table_name="payment_intents")
    with op.batch_alter_table("payment_intents") as batch:
        batch.drop_column("api")
        batch.drop_column("public_id")
