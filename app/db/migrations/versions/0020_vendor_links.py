"""read-only links for a vendor's helpdesk"""

import sqlalchemy as sa
from alembic import op

from app.db.migrations import columns as col

revision = "vendor_links"
down_revision = "accounts"


def upgrade() -> None:
    op.create_table(
        "vendor_links",
        col.string("id", 32),
        col.string("token_hash", 64),
        col.workspace_id(),
        col.integer("incident_id", nullable=True),
        col.string("suspect_path", 300),
        col.string("responsible", 200),
        col.text("snapshot"),
        col.string("created_by", 320),
        col.when("created_at"),
        col.when("expires_at"),
        col.when("revoked_at", nullable=True),
        col.workspace_fk(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_vendor_links_workspace", "vendor_links", ["workspace_id"])


def downgrade() -> None:
    op.drop_index("ix_vendor_links_workspace", table_name="vendor_links")
    op.drop_table("vendor_links")
