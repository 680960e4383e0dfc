"""storefront and hosting checks

Revision ID: storefront_checks
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from app.db.migrations.columns import string, text, when, workspace_fk, workspace_id

revision = "storefront_checks"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "storefront_checks",
        workspace_id(),
        string("check_id", 64),
        text("body"),
        text("status", nullable=True),
        when("updated_at"),
        workspace_fk(),
        sa.PrimaryKeyConstraint("workspace_id", "check_id"),
    )


def downgrade() -> None:
    op.drop_table("storefront_checks")
