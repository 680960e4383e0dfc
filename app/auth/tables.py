"""What a workspace token was given: its role, whom it belongs to, its expiry, its last use.

A row per token made with any of these; a token without a row keeps the rights tokens always
had (operator of its workspace, no expiry), so scripts made before keep working.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, String, Table

from app.db.tables import metadata, moment, string

token_grants = Table(
    "token_grants",
    metadata,
    Column("token_id", String(40), ForeignKey("tokens.id", ondelete="CASCADE"), primary_key=True),
    string("role", 16),
    string("person", 320, nullable=True),
    string("integration", 200, nullable=True),
    moment("expires_at", nullable=True),
    moment("last_used_at", nullable=True),
)
