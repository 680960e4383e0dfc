"""How Arbiter reaches each system, the pollers' cursors, and raw webhook deliveries."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    Index,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from app.db.tables import Seq, UTCDateTime, metadata, only_on, workspace_column

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
    only_on(
        "sqlite",
        UniqueConstraint("workspace_id", "system_id", "delivery_id", name="uq_webhook_delivery"),
    ),
)

webhook_delivery_ids = Table(
    "webhook_delivery_ids",
    metadata,
    workspace_column(primary_key=True),
    Column("system_id", String(64), primary_key=True),
    Column("delivery_id", String(200), primary_key=True),
    Column("received_at", UTCDateTime(), nullable=False),
    Index("ix_webhook_delivery_ids_received_at", "received_at"),
    info={"only_on": "postgresql"},
)
"""PostgreSQL only: the key of every delivery held, whatever its partition (a redelivery is
recognised by it; see app.db.partitions)."""
