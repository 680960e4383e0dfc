"""The audit trail: who did what, when, in which workspace. Append-only; never a secret."""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table, Text

from app.db.tables import Seq, UTCDateTime, metadata, workspace_column

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Seq, primary_key=True, autoincrement=True),
    workspace_column(nullable=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(320), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(500), nullable=False),
    Column("detail", Text(), nullable=False),
    Index("ix_audit_events_workspace_at", "workspace_id", "at"),
)
