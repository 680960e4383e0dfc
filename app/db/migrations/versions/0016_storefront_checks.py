"""storefront and hosting checks"""

import sqlalchemy as sa
from alembic import op

from app.db.migrations import columns as col

revision = "storefront_checks"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "storefront_checks",
        col.workspace_id(),
        col.string("check_id", 64),
        col.text("body"),
        col.text("status", nullable=True),
        col.when("updated_at"),
        col.workspace_fk(),
        sa.PrimaryKeyConstraint("workspace_id", "check_id"),
    )


def downgrade() -> None:
    op.drop_table("storefront_checks")
