"""Storefront and hosting checks per workspace (migration ``storefront_checks``)."""

from __future__ import annotations

from sqlalchemy import Table

from app.db.tables import metadata, moment, string, text, workspace_column

storefront_checks = Table(
    "storefront_checks",
    metadata,
    workspace_column(primary_key=True),
    string("check_id", 64, primary_key=True),
    text("body"),  # JSON: the CheckIn as PUT
    text("status", nullable=True),  # JSON: last result, usual duration, cert date
    moment("updated_at"),
)
