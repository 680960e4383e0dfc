"""workspaces, topologies, tokens and the event log

Revision ID: 0001
Revises: (none)
"""

import sqlalchemy as sa
from alembic import op

from app.db.migrations.columns import (
    cascade,
    document_table,
    index,
    serial,
    string,
    text,
    when,
    workspace_fk,
    workspace_id,
)

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "workspaces",
        string("id", 63),
        string("name", 200),
        when("created_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "events",
        serial("seq"),
        workspace_id(),
        string("event_id", 200),
        when("time"),
        string("flow", 64),
        string("kind", 8),
        string("system", 64),
        string("target", 64, nullable=True),
        text("body"),
        when("received_at"),
        workspace_fk(),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("workspace_id", "event_id", name="uq_events_workspace_event"),
    )
    index("events", "ix_events_workspace_flow_time", "workspace_id", "flow", "time")
    index("events", "ix_events_workspace_time", "workspace_id", "time", "seq")

    op.create_table(
        "tokens",
        string("id", 40),
        workspace_id(),
        string("name", 200),
        string("secret_hash", 64),
        when("created_at"),
        workspace_fk(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("secret_hash"),
    )
    index("tokens", "ix_tokens_workspace_id", "workspace_id")

    document_table("topologies")
    op.create_table(
        "event_refs",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        string("namespace", 100),
        workspace_id(),
        string("value", 200),
        cascade("seq", "events.seq"),
        sa.PrimaryKeyConstraint("seq", "namespace"),
    )
    index("event_refs", "ix_event_refs_lookup", "workspace_id", "namespace", "value", "seq")


def downgrade() -> None:
    op.drop_index("ix_event_refs_lookup", table_name="event_refs")

    op.drop_table("event_refs")
    op.drop_table("topologies")
    op.drop_index("ix_tokens_workspace_id", table_name="tokens")

    op.drop_table("tokens")
    op.drop_index("ix_events_workspace_time", table_name="events")
    op.drop_index("ix_events_workspace_flow_time", table_name="events")

    op.drop_table("events")
    op.drop_table("workspaces")
