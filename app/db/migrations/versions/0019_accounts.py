"""accounts, roles, sessions and the audit trail"""

import sqlalchemy as sa
from alembic import op

from app.db.migrations import columns as col

revision = "accounts"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "accounts",
        col.string("id", 32),
        col.string("email", 320),
        col.string("password_hash", 200, nullable=True),
        col.integer("failed_signins"),
        col.when("locked_until", nullable=True),
        col.when("created_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "memberships",
        col.string("account_id", 32),
        col.workspace_id(),
        col.string("role", 16),
        col.when("created_at"),
        col.cascade("account_id", "accounts.id"),
        col.workspace_fk(),
        sa.PrimaryKeyConstraint("account_id", "workspace_id"),
    )
    op.create_table(
        "invitations",
        col.string("token_hash", 64),
        col.workspace_id(),
        col.string("email", 320),
        col.string("role", 16),
        col.string("invited_by", 320),
        col.when("created_at"),
        col.when("expires_at"),
        col.when("accepted_at", nullable=True),
        col.workspace_fk(),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_table(
        "password_resets",
        col.string("token_hash", 64),
        col.string("account_id", 32),
        col.when("created_at"),
        col.when("expires_at"),
        col.when("used_at", nullable=True),
        col.cascade("account_id", "accounts.id"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_table(
        "account_sessions",
        col.string("id", 32),
        col.string("id_hash", 64),
        col.string("account_id", 32),
        col.string("csrf_token", 64),
        col.string("user_agent", 300),
        col.when("created_at"),
        col.when("expires_at"),
        col.cascade("account_id", "accounts.id"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("id_hash"),
    )
    op.create_index("ix_account_sessions_account", "account_sessions", ["account_id"])
    op.create_table(
        "audit_events",
        col.serial(),
        col.workspace_id(nullable=True),
        col.when("at"),
        col.string("actor", 320),
        col.string("action", 64),
        col.string("target", 500),
        col.text("detail"),
        col.workspace_fk(),
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
