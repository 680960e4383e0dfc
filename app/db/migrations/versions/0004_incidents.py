"""incidents with their timeline and notes; notification channels and deliveries"""

import sqlalchemy as sa
from alembic import op

from app.db.migrations import columns as col

revision = "0004"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "incidents",
        col.serial(),
        col.workspace_id(),
        col.string("key", 300),
        col.string("flow", 64, nullable=True),
        col.string("from_system", 64, nullable=True),
        col.string("to_system", 64, nullable=True),
        col.string("system", 64, nullable=True),
        col.string("family", 32),
        col.string("mode", 32),
        col.string("responsible", 200),
        col.string("status", 16),
        col.string("phase", 16),
        sa.Column("confidence", sa.Float(), nullable=False),
        col.integer("affected"),
        col.integer("opened_affected"),
        col.integer("peak_affected"),
        col.integer("healthy"),
        col.integer("escalation"),
        col.integer("flaps"),
        col.text("summary"),
        col.text("evidence"),
        col.text("links"),
        col.when("first_failure"),
        col.when("last_seen"),
        col.when("opened_at"),
        col.when("updated_at"),
        col.when("healthy_since", nullable=True),
        col.when("resolved_at", nullable=True),
        col.when("acknowledged_at", nullable=True),
        col.string("acknowledged_by", 200, nullable=True),
        col.when("last_open_alert_at", nullable=True),
        col.when("last_resolve_alert_at", nullable=True),
        col.workspace_fk(),
        sa.PrimaryKeyConstraint("id"),
    )
    col.index("incidents", "ix_incidents_workspace_status", "workspace_id", "status", "id")
    col.index("incidents", "ix_incidents_workspace_key", "workspace_id", "key", "id")

    op.create_table(
        "incident_updates",
        col.serial(),
        sa.Column("incident_id", col.SEQ, nullable=False),
        col.when("time"),
        col.string("kind", 32),
        col.string("phase", 16),
        col.text("message"),
        col.cascade("incident_id", "incidents.id"),
        sa.PrimaryKeyConstraint("id"),
    )
    col.index("incident_updates", "ix_incident_updates_incident_id", "incident_id")

    op.create_table(
        "incident_notes",
        col.serial(),
        sa.Column("incident_id", col.SEQ, nullable=False),
        col.when("time"),
        col.string("author", 200),
        col.text("text"),
        col.cascade("incident_id", "incidents.id"),
        sa.PrimaryKeyConstraint("id"),
    )
    col.index("incident_notes", "ix_incident_notes_incident_id", "incident_id")

    op.create_table(
        "notification_channels",
        col.string("id", 32),
        col.workspace_id(),
        col.string("name", 200),
        col.text("url"),
        col.text("masked_url"),
        col.string("events", 100),
        col.when("created_at"),
        col.workspace_fk(),
        sa.PrimaryKeyConstraint("id"),
    )
    col.index("notification_channels", "ix_notification_channels_workspace_id", "workspace_id")

    op.create_table(
        "notification_deliveries",
        col.serial(),
        col.workspace_id(),
        sa.Column("incident_id", col.SEQ, nullable=True),
        col.string("channel_id", 32),
        col.string("channel_name", 200),
        col.string("event", 16),
        col.when("time"),
        sa.Column("ok", sa.Boolean(), nullable=False),
        col.integer("attempts"),
        col.text("error", nullable=True),
        col.workspace_fk(),
        sa.PrimaryKeyConstraint("id"),
    )
    col.index(
        "notification_deliveries",
        "ix_notification_deliveries_incident",
        "workspace_id",
        "incident_id",
        "id",
    )


def downgrade() -> None:
    op.drop_table("notification_deliveries")
    op.drop_table("notification_channels")
    op.drop_table("incident_notes")
    op.drop_table("incident_updates")
    op.drop_table("incidents")
