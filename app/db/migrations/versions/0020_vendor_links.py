"""read-only links for a vendor's helpdesk

Revision ID: vendor_links
Revises: accounts
"""

import sqlalchemy as sa
from alembic import op

from app.db.migrations.columns import integer, string, text, when, workspace_fk, workspace_id

revision = "vendor_links"
down_revision = "accounts"


def upgrade() -> None:
    op.create_table(
        "vendor_links",
        string("id", 32),
        string("token_hash", 64),
        workspace_id(),
        integer("incident_id", nullable=True),
        string("suspect_path", 300),
        string("responsible", 200),
        text("snapshot"),
        string("created_by", 320),
        when("created_at"),
        when("expires_at"),
        when("revoked_at", nullable=True),
        workspace_fk(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_vendor_links_workspace", "vendor_links", ["workspace_id"])


def downgrade() -> None:
    op.drop_index("ix_vendor_links_workspace", table_name="vendor_links")
    op.drop_table("vendor_links")
