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
    Table,
)

from app.db.tables import Seq, integer, metadata, moment, serial, string, text, workspace_column

incidents = Table(
    "incidents",
    metadata,
    serial(),
    workspace_column(nullable=False),
    string("key", 300),  # one root cause: (link or system, mode family)
    string("flow", 64, nullable=True),
    string("from_system", 64, nullable=True),
    string("to_system", 64, nullable=True),
    string("system", 64, nullable=True),  # for "down": the system itself
    string("family", 32),
    string("mode", 32),
    string("responsible", 200),
    string("status", 16),  # open | resolved
    string("phase", 16),  # investigating | identified | monitoring | ...
    Column("confidence", Float(), nullable=False),
    integer("affected"),
    integer("opened_affected"),
    integer("peak_affected"),
    integer("healthy"),
    integer("escalation"),
    integer("flaps"),
    text("summary"),
    text("summary_text", nullable=True),  # the summary as a graph.text.Text (JSON)
    text("evidence"),  # JSON of the headline suspect's evidence
    text("links"),  # JSON list of {flow, from, to} the incident covers
    moment("first_failure"),
    moment("last_seen"),
    moment("opened_at"),
    moment("updated_at"),
    moment("healthy_since", nullable=True),
    moment("resolved_at", nullable=True),
    moment("acknowledged_at", nullable=True),
    string("acknowledged_by", 200, nullable=True),
    moment("last_open_alert_at", nullable=True),
    moment("last_resolve_alert_at", nullable=True),
    Index("ix_incidents_workspace_status", "workspace_id", "status", "id"),
    Index("ix_incidents_workspace_key", "workspace_id", "key", "id"),
)


def incident_column() -> Column[int]:
    """The ``incident_id`` column: the row belongs to an incident and goes with it."""
    return Column(
        "incident_id",
        Seq,
        ForeignKey("incidents.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )


incident_updates = Table(
    "incident_updates",
    metadata,
    serial(),
    incident_column(),
    moment("time"),
    string("kind", 32),  # opened | escalated | resolved | ...
    string("phase", 16),
    text("message"),  # in English, as the API shows it
    text("text", nullable=True),  # the same as a graph.text.Text (JSON), for other languages
)

incident_notes = Table(
    "incident_notes",
    metadata,
    serial(),
    incident_column(),
    moment("time"),
    string("author", 200),
    text("text"),
)
