"""Notification channels per workspace and the log of every delivery (migration ``0004``)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Table

from app.db.tables import Seq, integer, metadata, moment, serial, string, text, workspace_column

notification_channels = Table(
    "notification_channels",
    metadata,
    string("id", 32, primary_key=True),
    workspace_column(nullable=False, index=True),
    string("name", 200),
    text("url"),  # Fernet-encrypted apprise URL: it holds secrets
    text("masked_url"),
    string("events", 100),  # comma-separated: open,escalate,resolve
    moment("created_at"),
)

notification_deliveries = Table(
    "notification_deliveries",
    metadata,
    serial(),
    workspace_column(nullable=False),
    # No foreign keys on purpose: the log outlives a deleted channel, and a test message
    # belongs to no incident.
    Column("incident_id", Seq, nullable=True),
    string("channel_id", 32),
    string("channel_name", 200),
    string("event", 16),  # open | escalate | resolve | test
    moment("time"),
    Column("ok", Boolean(), nullable=False),
    integer("attempts"),
    text("error", nullable=True),
    Index("ix_notification_deliveries_incident", "workspace_id", "incident_id", "id"),
)
