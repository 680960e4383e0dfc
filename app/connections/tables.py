"""How Arbiter reaches each system, the pollers' cursors, and raw webhook deliveries."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from app.db.tables import Seq, UTCDateTime, metadata, workspace_column

connections = Table(
    "connections",
    metadata,
    workspace_column(primary_key=True),
    Column("system_id", String(64), primary_key=True),
    Column("base_url", String(2000), nullable=True),
    Column("credentials", Text(), nullable=False),  # Fernet-encrypted JSON object
    Column("webhook_secret", Text(), nullable=True),  # Fernet-encrypted
    Column("poll_interval_seconds", Float(), nullable=False),
    Column("cursor", Text(), nullable=True),  # JSON, written with the events of the same poll
    Column("status", Text(), nullable=True),  # JSON: last poll, error, rate limit, notes
    Column("updated_at", UTCDateTime(), nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    workspace_column(nullable=False),
    Column("system_id", String(64), nullable=False),
    Column("delivery_id", String(200), nullable=False),
    Column("headers", Text(), nullable=False),
    Column("body", LargeBinary(), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("processed_at", UTCDateTime(), nullable=True),
    Column("error", Text(), nullable=True),
    UniqueConstraint("workspace_id", "system_id", "delivery_id", name="uq_webhook_delivery"),
)
