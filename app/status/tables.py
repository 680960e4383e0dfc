"""Status page settings and the merchant's posted updates (migration ``status_pages``)."""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table, Text

from app.db.tables import Seq, UTCDateTime, metadata, workspace_column

status_pages = Table(
    "status_pages",
    metadata,
    workspace_column(primary_key=True),
    Column("body", Text(), nullable=False),  # JSON: StatusPageIn
    Column("updated_at", UTCDateTime(), nullable=False),
)

status_updates = Table(
    "status_updates",
    metadata,
    Column("id", Seq, primary_key=True, autoincrement=True),
    workspace_column(nullable=False),
    Column("posted_at", UTCDateTime(), nullable=False),
    Column("template", String(32), nullable=True),
    Column("message", Text(), nullable=False),
    Index("ix_status_updates_workspace_posted", "workspace_id", "posted_at"),
)
