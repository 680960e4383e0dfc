"""The dashboard's own table: browser sessions, stored server-side.

The cookie carries a random session id; the row is keyed by its SHA-256, so a leaked copy of
the table opens no session. ``credential_hash`` is the hash of the token used to sign in (the
same hash the ``tokens`` table keeps): revoking the token, or rotating the admin token, ends
every session it opened.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table

from app.db.tables import UTCDateTime, metadata, workspace_column

dashboard_sessions = Table(
    "dashboard_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    workspace_column(nullable=True),
    Column("credential_hash", String(64), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Index("ix_dashboard_sessions_expires_at", "expires_at"),
)
