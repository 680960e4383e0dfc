"""Status page settings and the merchant's posted updates (migration ``status_pages``)."""

from __future__ import annotations

from sqlalchemy import Index, Table

from app.db.tables import metadata, moment, serial, string, text, workspace_column

status_pages = Table(
    "status_pages",
    metadata,
    workspace_column(primary_key=True),
    text("body"),  # JSON: StatusPageIn
    moment("updated_at"),
)

status_updates = Table(
    "status_updates",
    metadata,
    serial(),
    workspace_column(nullable=False),
    moment("posted_at"),
    string("template", 32, nullable=True),
    text("message"),
    Index("ix_status_updates_workspace_posted", "workspace_id", "posted_at"),
)
