"""incidents with their timeline and notes; notification channels and deliveries

Revision ID: 0004
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from app.db.migrations.columns import (
    SEQ,
    cascade,
    index,
    integer,
    serial,
    string,
    text,
    when,
    workspace_fk,
    workspace_id,
)

revision = "0004"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "incidents",
        serial(),
        workspace_id(),
        string("key", 300),
        string("flow", 64, nullable=True),
        string("from_system", 64, nullable=True),
        string("to_system", 64, nullable=True),
        string("system", 64, nullable=True),
        string("family", 32),
        string("mode", 32),
        string("responsible", 200),
        string("status", 16),
        string("phase", 16),
        sa.Column("confidence", sa.Float(), nullable=False),
        integer("affected"),
        integer("opened_affected"),
        integer("peak_affected"),
        integer("healthy"),
        integer("escalation"),
        integer("flaps"),
        text("summary"),
        text("evidence"),
        text("links"),
        when("first_failure"),
        when("last_seen"),
        when("opened_at"),
        when("updated_at"),
        when("healthy_since", nullable=True),
        when("resolved_at", nullable=True),
        when("acknowledged_at", nullable=True),
        string("acknowledged_by", 200, nullable=True),
        when("last_open_alert_at", nullable=True),
        when("last_resolve_alert_at", nullable=True),
        workspace_fk(),
        sa.PrimaryKeyConstraint("id"),
    )
    index("incidents", "ix_incidents_workspace_status", "workspace_id", "status", "id")
    index("incidents", "ix_incidents_workspace_key", "workspace_id", "key", "id")

    op.create_table(
        "incident_updates",
        serial(),
        sa.Column("incident_id", SEQ, nullable=False),
        when("time"),
        string("kind", 32),
        string("phase", 16),
        text("message"),
        cascade("incident_id", "incidents.id"),
        sa.PrimaryKeyConstraint("id"),
    )
    index("incident_updates", "ix_incident_updates_incident_id", "incident_id")

    op.create_table(
        "incident_notes",
        serial(),
        sa.Column("incident_id", SEQ, nullable=False),
        when("time"),
        string("author", 200),
        text("text"),
        cascade("incident_id", "incidents.id"),
        sa.PrimaryKeyConstraint("id"),
    )
    index("incident_notes", "ix_incident_notes_incident_id", "incident_id")

    op.create_table(
        "notification_channels",
        string("id", 32),
        workspace_id(),
        string("name", 200),
        text("url"),
        text("masked_url"),
        string("events", 100),
        when("created_at"),
        workspace_fk(),
        sa.PrimaryKeyConstraint("id"),
    )
    index("notification_channels", "ix_notification_channels_workspace_id", "workspace_id")

    op.create_table(
        "notification_deliveries",
        serial(),
        workspace_id(),
        sa.Column("incident_id", SEQ, nullable=True),
        string("channel_id", 32),
        string("channel_name", 200),
        string("event", 16),
        when("time"),
        sa.Column("ok", sa.Boolean(), nullable=False),
        integer("attempts"),
        text("error", nullable=True),
        workspace_fk(),
        sa.PrimaryKeyConstraint("id"),
    )
    index(
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
