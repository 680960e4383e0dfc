"""status pages and their updates

Revision ID: status_pages
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "status_pages"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "status_pages",
        sa.Column("workspace_id", sa.String(length=63), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("workspace_id"),
    )
    op.create_table(
        "status_updates",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("workspace_id", sa.String(length=63), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("template", sa.String(length=32), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_status_updates_workspace_posted", "status_updates", ["workspace_id", "posted_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_status_updates_workspace_posted", table_name="status_updates")
    op.drop_table("status_updates")
    op.drop_table("status_pages")
