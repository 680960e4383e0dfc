"""Planned maintenance windows (migration ``maintenance_windows``)."""

from __future__ import annotations

from sqlalchemy import Index, Table

from app.db.tables import metadata, moment, serial, string, text, workspace_column

maintenance_windows = Table(
    "maintenance_windows",
    metadata,
    serial(),
    workspace_column(nullable=False),
    string("system_id", 64),
    moment("starts_at"),
    moment("ends_at"),
    text("reason", nullable=True),
    moment("created_at"),
    Index("ix_maintenance_workspace_ends", "workspace_id", "ends_at"),
)
