"""Read-only links for a vendor's helpdesk: one suspect's evidence, frozen when the link is made.

The link's token is 32 random bytes; only its SHA-256 is kept (as for workspace tokens). The
snapshot holds what the vendor may see and nothing else: the suspect (its calls and errors,
its sample entities) and those entities' journeys through the link's own two systems.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text

from app.db.tables import UTCDateTime, metadata, workspace_column

vendor_links = Table(
    "vendor_links",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    workspace_column(nullable=False),
    Column("incident_id", Integer(), nullable=True),
    Column("suspect_path", String(300), nullable=False),
    Column("responsible", String(200), nullable=False),
    Column("snapshot", Text(), nullable=False),
    Column("created_by", String(320), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
    Column("language", String(2), nullable=False, server_default="en"),
    Index("ix_vendor_links_workspace", "workspace_id"),
)
