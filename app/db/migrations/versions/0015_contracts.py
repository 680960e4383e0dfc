"""vendor contracts and running costs

Revision ID: 0015
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from app.db.migrations.columns import document_table, string, text, when, workspace_fk, workspace_id

revision = "0015"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "vendor_contracts",
        workspace_id(),
        string("vendor", 200),
        text("body"),
        when("updated_at"),
        workspace_fk(),
        sa.PrimaryKeyConstraint("workspace_id", "vendor"),
    )
    document_table("running_costs")


def downgrade() -> None:
    op.drop_table("running_costs")
    op.drop_table("vendor_contracts")
