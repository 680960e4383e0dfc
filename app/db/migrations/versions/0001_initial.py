"""workspaces, topologies, tokens and the event log"""

import sqlalchemy as sa
from alembic import op

from app.db.migrations import columns as col

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "workspaces",
        col.string("id", 63),
        col.string("name", 200),
        col.when("created_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "events",
        col.serial("seq"),
        col.workspace_id(),
        col.string("event_id", 200),
        col.when("time"),
        col.string("flow", 64),
        col.string("kind", 8),
        col.string("system", 64),
        col.string("target", 64, nullable=True),
        col.text("body"),
        col.when("received_at"),
        col.workspace_fk(),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("workspace_id", "event_id", name="uq_events_workspace_event"),
    )
    col.index("events", "ix_events_workspace_flow_time", "workspace_id", "flow", "time")
    col.index("events", "ix_events_workspace_time", "workspace_id", "time", "seq")

    op.create_table(
        "tokens",
        col.string("id", 40),
        col.workspace_id(),
        col.string("name", 200),
        col.string("secret_hash", 64),
        col.when("created_at"),
        col.workspace_fk(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("secret_hash"),
    )
    col.index("tokens", "ix_tokens_workspace_id", "workspace_id")

    col.document_table("topologies")
    op.create_table(
        "event_refs",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        col.string("namespace", 100),
        col.workspace_id(),
        col.string("value", 200),
        col.cascade("seq", "events.seq"),
        sa.PrimaryKeyConstraint("seq", "namespace"),
    )
    col.index("event_refs", "ix_event_refs_lookup", "workspace_id", "namespace", "value", "seq")


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
