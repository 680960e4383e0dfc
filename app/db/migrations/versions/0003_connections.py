"""connections and webhook deliveries"""

import sqlalchemy as sa
from alembic import op

from app.db.migrations import columns as col

revision = "0003"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "connections",
        col.workspace_id(),
        col.string("system_id", 64),
        col.string("base_url", 2000, nullable=True),
        col.text("credentials"),
        col.text("webhook_secret", nullable=True),
        sa.Column("poll_interval_seconds", sa.Float(), nullable=False),
        col.text("cursor", nullable=True),
        col.text("status", nullable=True),
        col.when("updated_at"),
        col.workspace_fk(),
        sa.PrimaryKeyConstraint("workspace_id", "system_id"),
    )
    op.create_table(
        "webhook_deliveries",
        col.serial("seq"),
        col.workspace_id(),
        col.string("system_id", 64),
        col.string("delivery_id", 200),
        col.text("headers"),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        col.when("received_at"),
        col.when("processed_at", nullable=True),
        col.text("error", nullable=True),
        col.workspace_fk(),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("workspace_id", "system_id", "delivery_id", name="uq_webhook_delivery"),
    )


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("connections")
