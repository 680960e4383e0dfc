"""read-only links for a vendor's helpdesk

Revision ID: vendor_links
Revises: accounts
"""

import sqlalchemy as sa
from alembic import op

revision = "vendor_links"
down_revision = "accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    when = sa.DateTime(timezone=True)
    op.create_table(
        "vendor_links",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("workspace_id", sa.String(length=63), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("suspect_path", sa.String(length=300), nullable=False),
        sa.Column("responsible", sa.String(length=200), nullable=False),
        sa.Column("snapshot", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.Column("expires_at", when, nullable=False),
        sa.Column("revoked_at", when, nullable=True),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_vendor_links_workspace", "vendor_links", ["workspace_id"])


def downgrade() -> None:
    op.drop_index("ix_vendor_links_workspace", table_name="vendor_links")
    op.drop_table("vendor_links")
