"""planned maintenance windows

Revision ID: maintenance_windows
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from app.db.migrations.columns import serial, string, text, when, workspace_fk, workspace_id

revision = "maintenance_windows"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "maintenance_windows",
        serial(),
        workspace_id(),
        string("system_id", 64),
        when("starts_at"),
        when("ends_at"),
        text("reason", nullable=True),
        when("created_at"),
        workspace_fk(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_maintenance_workspace_ends", "maintenance_windows", ["workspace_id", "ends_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_maintenance_workspace_ends", table_name="maintenance_windows")
    op.drop_table("maintenance_windows")
