"""planned maintenance windows

Revision ID: maintenance_windows
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "maintenance_windows"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "maintenance_windows",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("workspace_id", sa.String(length=63), nullable=False),
        sa.Column("system_id", sa.String(length=64), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_maintenance_workspace_ends", "maintenance_windows", ["workspace_id", "ends_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_maintenance_workspace_ends", table_name="maintenance_windows")
    op.drop_table("maintenance_windows")
