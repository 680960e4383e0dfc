"""Notification channels per workspace and the log of every delivery (migration ``0004``)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, String, Table, Text

from app.db.tables import Seq, UTCDateTime, metadata, workspace_column

notification_channels = Table(
    "notification_channels",
    metadata,
    Column("id", String(32), primary_key=True),
    workspace_column(nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("url", Text(), nullable=False),  # Fernet-encrypted apprise URL: it holds secrets
    Column("masked_url", Text(), nullable=False),
    Column("events", String(100), nullable=False),  # comma-separated: open,escalate,resolve
    Column("created_at", UTCDateTime(), nullable=False),
)

notification_deliveries = Table(
    "notification_deliveries",
    metadata,
    Column("id", Seq, primary_key=True, autoincrement=True),
    workspace_column(nullable=False),
    # No foreign keys on purpose: the log outlives a deleted channel, and a test message
    # belongs to no incident.
    Column("incident_id", Seq, nullable=True),
    Column("channel_id", String(32), nullable=False),
    Column("channel_name", String(200), nullable=False),
    Column("event", String(16), nullable=False),  # open | escalate | resolve | test
    Column("time", UTCDateTime(), nullable=False),
    Column("ok", Boolean(), nullable=False),
    Column("attempts", Integer(), nullable=False),
    Column("error", Text(), nullable=True),
    Index("ix_notification_deliveries_incident", "workspace_id", "incident_id", "id"),
)
