"""outbox events remember why they could not be fanned out

The worker fans undispatched outbox events out into webhook deliveries in batches.  One
event whose payload could not be turned into a webhook body used to fail the whole batch
on every pass, so every merchant's webhooks stopped behind it.  Now such an event is set
aside on its own: ``dispatched_at`` is set (it leaves the queue) and ``dispatch_error``
says why, for an operator (``ownpay_outbox_events_failed_total`` counts them).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("dispatch_error", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("dispatch_error")
