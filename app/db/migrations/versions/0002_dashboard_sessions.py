"""dashboard sessions"""

import sqlalchemy as sa
from alembic import op

from app.db.migrations import columns as col

revision = "0002_dashboard"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "dashboard_sessions",
        col.string("id_hash", 64),
        col.workspace_id(nullable=True),
        col.string("credential_hash", 64),
        col.string("csrf_token", 64),
        col.when("created_at"),
        col.when("expires_at"),
        col.workspace_fk(),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    op.create_index(
        "ix_dashboard_sessions_expires_at", "dashboard_sessions", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_dashboard_sessions_expires_at", table_name="dashboard_sessions")
    op.drop_table("dashboard_sessions")
