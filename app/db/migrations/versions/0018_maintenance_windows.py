"""planned maintenance windows"""

import sqlalchemy as sa
from alembic import op

from app.db.migrations import columns as col

revision = "maintenance_windows"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "maintenance_windows",
        col.serial(),
        col.workspace_id(),
        col.string("system_id", 64),
        col.when("starts_at"),
        col.when("ends_at"),
        col.text("reason", nullable=True),
        col.when("created_at"),
        col.workspace_fk(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_maintenance_workspace_ends", "maintenance_windows", ["workspace_id", "ends_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_maintenance_workspace_ends", table_name="maintenance_windows")
    op.drop_table("maintenance_windows")
