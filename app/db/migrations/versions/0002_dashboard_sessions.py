"""dashboard sessions

Revision ID: 0002_dashboard
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from app.db.migrations.columns import string, when, workspace_fk, workspace_id

revision = "0002_dashboard"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "dashboard_sessions",
        string("id_hash", 64),
        workspace_id(nullable=True),
        string("credential_hash", 64),
        string("csrf_token", 64),
        when("created_at"),
        when("expires_at"),
        workspace_fk(),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    op.create_index(
        "ix_dashboard_sessions_expires_at", "dashboard_sessions", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_dashboard_sessions_expires_at", table_name="dashboard_sessions")
    op.drop_table("dashboard_sessions")
