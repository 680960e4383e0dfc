"""connections and webhook deliveries

Revision ID: 0003
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from app.db.migrations.columns import serial, string, text, when, workspace_fk, workspace_id

revision = "0003"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "connections",
        workspace_id(),
        string("system_id", 64),
        string("base_url", 2000, nullable=True),
        text("credentials"),
        text("webhook_secret", nullable=True),
        sa.Column("poll_interval_seconds", sa.Float(), nullable=False),
        text("cursor", nullable=True),
        text("status", nullable=True),
        when("updated_at"),
        workspace_fk(),
        sa.PrimaryKeyConstraint("workspace_id", "system_id"),
    )
    op.create_table(
        "webhook_deliveries",
        serial("seq"),
        workspace_id(),
        string("system_id", 64),
        string("delivery_id", 200),
        text("headers"),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        when("received_at"),
        when("processed_at", nullable=True),
        text("error", nullable=True),
        workspace_fk(),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("workspace_id", "system_id", "delivery_id", name="uq_webhook_delivery"),
    )


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("connections")
