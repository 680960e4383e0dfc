"""Storefront and hosting checks per workspace (migration ``storefront_checks``)."""

from __future__ import annotations

from sqlalchemy import Column, String, Table, Text

from app.db.tables import UTCDateTime, metadata, workspace_column

storefront_checks = Table(
    "storefront_checks",
    metadata,
    workspace_column(primary_key=True),
    Column("check_id", String(64), primary_key=True),
    Column("body", Text(), nullable=False),  # JSON: the CheckIn as PUT
    Column("status", Text(), nullable=True),  # JSON: last result, usual duration, cert date
    Column("updated_at", UTCDateTime(), nullable=False),
)
