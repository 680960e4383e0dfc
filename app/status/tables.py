"""Status page settings and the merchant's posted updates (migration ``status_pages``)."""

from __future__ import annotations

from sqlalchemy import Index, Table

from app.db.tables import document_table, metadata, moment, serial, string, text, workspace_column

status_pages = document_table("status_pages")  # body: JSON of a StatusPageIn

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
