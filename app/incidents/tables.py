"""Incidents, their status-page timeline and their notes (migration ``0004``).

Every table hangs off ``workspaces`` with ``ON DELETE CASCADE``: deleting a workspace deletes
its incidents with everything about them.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from app.db.tables import Seq, UTCDateTime, metadata, workspace_column

incidents = Table(
    "incidents",
    metadata,
    Column("id", Seq, primary_key=True, autoincrement=True),
    workspace_column(nullable=False),
    Column("key", String(300), nullable=False),  # one root cause: (link or system, mode family)
    Column("flow", String(64), nullable=True),
    Column("from_system", String(64), nullable=True),
    Column("to_system", String(64), nullable=True),
    Column("system", String(64), nullable=True),  # for "down": the system itself
    Column("family", String(32), nullable=False),
    Column("mode", String(32), nullable=False),
    Column("responsible", String(200), nullable=False),
    Column("status", String(16), nullable=False),  # open | resolved
    Column("phase", String(16), nullable=False),  # investigating | identified | monitoring | ...
    Column("confidence", Float(), nullable=False),
    Column("affected", Integer(), nullable=False),
    Column("opened_affected", Integer(), nullable=False),
    Column("peak_affected", Integer(), nullable=False),
    Column("healthy", Integer(), nullable=False),
    Column("escalation", Integer(), nullable=False),
    Column("flaps", Integer(), nullable=False),
    Column("summary", Text(), nullable=False),
    Column("evidence", Text(), nullable=False),  # JSON of the headline suspect's evidence
    Column("links", Text(), nullable=False),  # JSON list of {flow, from, to} the incident covers
    Column("first_failure", UTCDateTime(), nullable=False),
    Column("last_seen", UTCDateTime(), nullable=False),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("healthy_since", UTCDateTime(), nullable=True),
    Column("resolved_at", UTCDateTime(), nullable=True),
    Column("acknowledged_at", UTCDateTime(), nullable=True),
    Column("acknowledged_by", String(200), nullable=True),
    Column("last_open_alert_at", UTCDateTime(), nullable=True),
    Column("last_resolve_alert_at", UTCDateTime(), nullable=True),
    Index("ix_incidents_workspace_status", "workspace_id", "status", "id"),
    Index("ix_incidents_workspace_key", "workspace_id", "key", "id"),
)

incident_updates = Table(
    "incident_updates",
    metadata,
    Column("id", Seq, primary_key=True, autoincrement=True),
    Column(
        "incident_id",
        Seq,
        ForeignKey("incidents.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("time", UTCDateTime(), nullable=False),
    Column("kind", String(32), nullable=False),  # opened | escalated | resolved | ...
    Column("phase", String(16), nullable=False),
    Column("message", Text(), nullable=False),
)

incident_notes = Table(
    "incident_notes",
    metadata,
    Column("id", Seq, primary_key=True, autoincrement=True),
    Column(
        "incident_id",
        Seq,
        ForeignKey("incidents.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("time", UTCDateTime(), nullable=False),
    Column("author", String(200), nullable=False),
    Column("text", Text(), nullable=False),
)
