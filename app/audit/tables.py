"""The audit trail: who did what, when, in which workspace. Append-only; never a secret."""

from __future__ import annotations

from sqlalchemy import Index, Table

from app.db.tables import metadata, moment, serial, string, text, workspace_column

audit_events = Table(
    "audit_events",
    metadata,
    serial(),
    workspace_column(nullable=True),
    moment("at"),
    string("actor", 320),
    string("action", 64),
    string("target", 500),
    text("detail"),
    Index("ix_audit_events_workspace_at", "workspace_id", "at"),
)
