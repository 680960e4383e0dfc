"""open journeys quiet since before the live period, read back at a restart

Revision ID: open_journeys
Revises: event_partitions
"""

import sqlalchemy as sa
from alembic import op

revision = "open_journeys"
down_revision = "event_partitions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "open_journeys",
        sa.Column("workspace_id", sa.String(length=63), nullable=False),
        sa.Column("namespace", sa.String(length=100), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("workspace_id", "namespace", "value"),
    )


def downgrade() -> None:
    op.drop_table("open_journeys")
