"""the operator dashboard: users, their sessions, installation settings, the audit log

* ``users`` — operator accounts (Argon2id password hashes, an encrypted TOTP secret,
  digests of unused recovery codes, a role, and the brand of a per-brand role).
* ``user_sessions`` — one row per signed-in browser, keyed by the digest of the cookie's
  token (revocable, idle and absolute timeouts, step-up time, the brand/mode shown).
* ``installation_settings`` — owner settings such as "2FA required".
* ``audit_log`` — append-only, hash-chained record of every state-changing action.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 06:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ownpay.db

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AT = ownpay.db.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(length=254), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("merchant_id", _ID, sa.ForeignKey("merchants.id"), nullable=True),
        sa.Column("totp_secret_enc", sa.LargeBinary(), nullable=True),
        sa.Column("totp_enabled_at", _AT(), nullable=True),
        sa.Column("totp_last_step", _ID, nullable=True),
        sa.Column("recovery_codes", sa.JSON(), nullable=False),
        sa.Column("refund_limit", sa.String(length=32), nullable=True),
        sa.Column("created_at", _AT(), nullable=False),
        sa.Column("password_changed_at", _AT(), nullable=False),
        sa.Column("disabled_at", _AT(), nullable=True),
    )
    op.create_index("ix_users_merchant_id", "users", ["merchant_id"])
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("user_id", _ID, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", _AT(), nullable=False),
        sa.Column("last_seen_at", _AT(), nullable=False),
        sa.Column("expires_at", _AT(), nullable=False),
        sa.Column("verified_at", _AT(), nullable=True),
        sa.Column("reauthenticated_at", _AT(), nullable=True),
        sa.Column("revoked_at", _AT(), nullable=True),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.Column("merchant_id", _ID, nullable=True),
        sa.Column("mode", sa.String(length=4), nullable=False),
    )
    op.create_index("ix_user_sessions_user_id", "user_sessions", ["user_id"])
    op.create_table(
        "installation_settings",
        sa.Column("name", sa.String(length=64), primary_key=True),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", _AT(), nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("at", _AT(), nullable=False),
        sa.Column("actor_type", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=True),
        sa.Column("merchant_id", _ID, nullable=True),
        sa.Column("mode", sa.String(length=4), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=True),
        sa.Column("object_id", sa.String(length=64), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False, unique=True),
    )
    op.create_index("ix_audit_log_merchant_id", "audit_log", ["merchant_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_merchant_id", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("installation_settings")
    op.drop_index("ix_user_sessions_user_id", table_name="user_sessions")
    op.drop_table("user_sessions")
    op.drop_index("ix_users_merchant_id", table_name="users")
    op.drop_table("users")
