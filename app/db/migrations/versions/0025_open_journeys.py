"""open journeys quiet since before the live period, read back at a restart"""

import sqlalchemy as sa
from alembic import op

from app.db.migrations import columns as col

revision = "open_journeys"
down_revision = "event_partitions"


def upgrade() -> None:
    op.create_table(
        "open_journeys",
        col.workspace_id(),
        col.string("namespace", 100),
        col.string("value", 200),
        col.when("recorded_at"),
        col.workspace_fk(),
        sa.PrimaryKeyConstraint("workspace_id", "namespace", "value"),
    )


def downgrade() -> None:
    op.drop_table("open_journeys")
