"""storefront and hosting checks

Revision ID: storefront_checks
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "storefront_checks"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "storefront_checks",
        sa.Column("workspace_id", sa.String(length=63), nullable=False),
        sa.Column("check_id", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("workspace_id", "check_id"),
    )


def downgrade() -> None:
    op.drop_table("storefront_checks")
