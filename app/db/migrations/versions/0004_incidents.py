"""incidents with their timeline and notes; notification channels and deliveries

Revision ID: 0004
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", _SEQ, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=63), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("flow", sa.String(length=64), nullable=True),
        sa.Column("from_system", sa.String(length=64), nullable=True),
        sa.Column("to_system", sa.String(length=64), nullable=True),
        sa.Column("system", sa.String(length=64), nullable=True),
        sa.Column("family", sa.String(length=32), nullable=False),
        sa.Column("mode", sa.String(length=32), nullable=False),
        sa.Column("responsible", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("affected", sa.Integer(), nullable=False),
        sa.Column("opened_affected", sa.Integer(), nullable=False),
        sa.Column("peak_affected", sa.Integer(), nullable=False),
        sa.Column("healthy", sa.Integer(), nullable=False),
        sa.Column("escalation", sa.Integer(), nullable=False),
        sa.Column("flaps", sa.Integer(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("links", sa.Text(), nullable=False),
        _time("first_failure"),
        _time("last_seen"),
        _time("opened_at"),
        _time("updated_at"),
        _time("healthy_since", nullable=True),
        _time("resolved_at", nullable=True),
        _time("acknowledged_at", nullable=True),
        sa.Column("acknowledged_by", sa.String(length=200), nullable=True),
        _time("last_open_alert_at", nullable=True),
        _time("last_resolve_alert_at", nullable=True),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_incidents_workspace_status", ["workspace_id", "status", "id"], unique=False
        )
        batch_op.create_index(
            "ix_incidents_workspace_key", ["workspace_id", "key", "id"], unique=False
        )

    op.create_table(
        "incident_updates",
        sa.Column("id", _SEQ, autoincrement=True, nullable=False),
        sa.Column("incident_id", _SEQ, nullable=False),
        _time("time"),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("incident_updates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_updates_incident_id"), ["incident_id"], unique=False
        )

    op.create_table(
        "incident_notes",
        sa.Column("id", _SEQ, autoincrement=True, nullable=False),
        sa.Column("incident_id", _SEQ, nullable=False),
        _time("time"),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("incident_notes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_notes_incident_id"), ["incident_id"], unique=False
        )

    op.create_table(
        "notification_channels",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("masked_url", sa.Text(), nullable=False),
        sa.Column("events", sa.String(length=100), nullable=False),
        _time("created_at"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notification_channels", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_channels_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "notification_deliveries",
        sa.Column("id", _SEQ, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=63), nullable=False),
        sa.Column("incident_id", _SEQ, nullable=True),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("channel_name", sa.String(length=200), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        _time("time"),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notification_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notification_deliveries_incident",
            ["workspace_id", "incident_id", "id"],
            unique=False,
        )


def downgrade() -> None:
    op.drop_table("notification_deliveries")
    op.drop_table("notification_channels")
    op.drop_table("incident_notes")
    op.drop_table("incident_updates")
    op.drop_table("incidents")
