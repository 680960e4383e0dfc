"""vendor contracts and running costs"""

import sqlalchemy as sa
from alembic import op

from app.db.migrations import columns as col

revision = "0015"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "vendor_contracts",
        col.workspace_id(),
        col.string("vendor", 200),
        col.text("body"),
        col.when("updated_at"),
        col.workspace_fk(),
        sa.PrimaryKeyConstraint("workspace_id", "vendor"),
    )
    col.document_table("running_costs")


def downgrade() -> None:
    op.drop_table("running_costs")
    op.drop_table("vendor_contracts")
