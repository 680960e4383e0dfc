"""What a workspace token was given: its role, whom it belongs to, its expiry, its last use.

A row per token made with any of these; a token without a row keeps the rights tokens always
had (operator of its workspace, no expiry), so scripts made before keep working.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, String, Table

from app.db.tables import UTCDateTime, metadata

token_grants = Table(
    "token_grants",
    metadata,
    Column("token_id", String(40), ForeignKey("tokens.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("person", String(320), nullable=True),
    Column("integration", String(200), nullable=True),
    Column("expires_at", UTCDateTime(), nullable=True),
    Column("last_used_at", UTCDateTime(), nullable=True),
)
