"""Planned maintenance windows (migration ``maintenance_windows``)."""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table, Text

from app.db.tables import Seq, UTCDateTime, metadata, workspace_column

maintenance_windows = Table(
    "maintenance_windows",
    metadata,
    Column("id", Seq, primary_key=True, autoincrement=True),
    workspace_column(nullable=False),
    Column("system_id", String(64), nullable=False),
    Column("starts_at", UTCDateTime(), nullable=False),
    Column("ends_at", UTCDateTime(), nullable=False),
    Column("reason", Text(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_maintenance_workspace_ends", "workspace_id", "ends_at"),
)
