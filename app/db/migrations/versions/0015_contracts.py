"""vendor contracts and running costs

Revision ID: 0015
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vendor_contracts",
        sa.Column("workspace_id", sa.String(length=63), nullable=False),
        sa.Column("vendor", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("workspace_id", "vendor"),
    )
    op.create_table(
        "running_costs",
        sa.Column("workspace_id", sa.String(length=63), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("workspace_id"),
    )


def downgrade() -> None:
    op.drop_table("running_costs")
    op.drop_table("vendor_contracts")
