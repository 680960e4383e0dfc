"""status pages and their updates"""

import sqlalchemy as sa
from alembic import op

from app.db.migrations import columns as col

revision = "status_pages"
down_revision = "0001"


def upgrade() -> None:
    col.document_table("status_pages")
    op.create_table(
        "status_updates",
        col.serial(),
        col.workspace_id(),
        col.when("posted_at"),
        col.string("template", 32, nullable=True),
        col.text("message"),
        col.workspace_fk(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_status_updates_workspace_posted", "status_updates", ["workspace_id", "posted_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_status_updates_workspace_posted", table_name="status_updates")
    op.drop_table("status_updates")
    op.drop_table("status_pages")
