"""open journeys quiet since before the live period, read back at a restart

Revision ID: open_journeys
Revises: event_partitions
"""

import sqlalchemy as sa
from alembic import op

from app.db.migrations.columns import string, when, workspace_fk, workspace_id

revision = "open_journeys"
down_revision = "event_partitions"


def upgrade() -> None:
    op.create_table(
        "open_journeys",
        workspace_id(),
        string("namespace", 100),
        string("value", 200),
        when("recorded_at"),
        workspace_fk(),
        sa.PrimaryKeyConstraint("workspace_id", "namespace", "value"),
    )


def downgrade() -> None:
    op.drop_table("open_journeys")
