"""accounts, roles, sessions and the audit trail

Revision ID: accounts
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from app.db.migrations.columns import (
    cascade,
    integer,
    serial,
    string,
    text,
    when,
    workspace_fk,
    workspace_id,
)

revision = "accounts"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "accounts",
        string("id", 32),
        string("email", 320),
        string("password_hash", 200, nullable=True),
        integer("failed_signins"),
        when("locked_until", nullable=True),
        when("created_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "memberships",
        string("account_id", 32),
        workspace_id(),
        string("role", 16),
        when("created_at"),
        cascade("account_id", "accounts.id"),
        workspace_fk(),
        sa.PrimaryKeyConstraint("account_id", "workspace_id"),
    )
    op.create_table(
        "invitations",
        string("token_hash", 64),
        workspace_id(),
        string("email", 320),
        string("role", 16),
        string("invited_by", 320),
        when("created_at"),
        when("expires_at"),
        when("accepted_at", nullable=True),
        workspace_fk(),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_table(
        "password_resets",
        string("token_hash", 64),
        string("account_id", 32),
        when("created_at"),
        when("expires_at"),
        when("used_at", nullable=True),
        cascade("account_id", "accounts.id"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_table(
        "account_sessions",
        string("id", 32),
        string("id_hash", 64),
        string("account_id", 32),
        string("csrf_token", 64),
        string("user_agent", 300),
        when("created_at"),
        when("expires_at"),
        cascade("account_id", "accounts.id"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("id_hash"),
    )
    op.create_index("ix_account_sessions_account", "account_sessions", ["account_id"])
    op.create_table(
        "audit_events",
        serial(),
        workspace_id(nullable=True),
        when("at"),
        string("actor", 320),
        string("action", 64),
        string("target", 500),
        text("detail"),
        workspace_fk(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_events_workspace_at", "audit_events", ["workspace_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_workspace_at", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_index("ix_account_sessions_account", table_name="account_sessions")
    for table in ("account_sessions", "password_resets", "invitations", "memberships"):
        op.drop_table(table)
    op.drop_table("accounts")
