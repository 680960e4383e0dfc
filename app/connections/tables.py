"""How Arbiter reaches each system, the pollers' cursors, and raw webhook deliveries."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    LargeBinary,
    Table,
    UniqueConstraint,
)

from app.db.tables import (
    idempotency_keys,
    metadata,
    moment,
    only_on,
    serial,
    string,
    text,
    workspace_column,
)

connections = Table(
    "connections",
    metadata,
    workspace_column(primary_key=True),
    string("system_id", 64, primary_key=True),
    string("base_url", 2000, nullable=True),
    text("credentials"),  # Fernet-encrypted JSON object
    text("webhook_secret", nullable=True),  # Fernet-encrypted
    Column("poll_interval_seconds", Float(), nullable=False),
    text("cursor", nullable=True),  # JSON, written with the events of the same poll
    text("status", nullable=True),  # JSON: last poll, error, rate limit, notes
    moment("updated_at"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    serial("seq"),
    workspace_column(nullable=False),
    string("system_id", 64),
    string("delivery_id", 200),
    text("headers"),
    Column("body", LargeBinary(), nullable=False),
    moment("received_at"),
    moment("processed_at", nullable=True),
    text("error", nullable=True),
    only_on(
        "sqlite",
        UniqueConstraint("workspace_id", "system_id", "delivery_id", name="uq_webhook_delivery"),
    ),
)

webhook_delivery_ids = idempotency_keys(
    "webhook_delivery_ids",
    string("system_id", 64, primary_key=True),
    string("delivery_id", 200, primary_key=True),
    at="received_at",
)
"""PostgreSQL only: the key of every delivery held, whatever its partition (a redelivery is
recognised by it; see app.db.partitions)."""
