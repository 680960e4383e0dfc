"""Read-only links for a vendor's helpdesk: one suspect's evidence, frozen when the link is made.

The link's token is 32 random bytes; only its SHA-256 is kept (as for workspace tokens). The
snapshot holds what the vendor may see and nothing else: the suspect (its calls and errors,
its sample entities) and those entities' journeys through the link's own two systems.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table

from app.db.tables import integer, metadata, moment, string, text, workspace_column

vendor_links = Table(
    "vendor_links",
    metadata,
    string("id", 32, primary_key=True),
    string("token_hash", 64, unique=True),
    workspace_column(nullable=False),
    integer("incident_id", nullable=True),
    string("suspect_path", 300),
    string("responsible", 200),
    text("snapshot"),
    string("created_by", 320),
    moment("created_at"),
    moment("expires_at"),
    moment("revoked_at", nullable=True),
    Column("language", String(2), nullable=False, server_default="en"),
    Index("ix_vendor_links_workspace", "workspace_id"),
)
