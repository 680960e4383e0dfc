"""The dashboard's own table: browser sessions, stored server-side.

The cookie carries a random session id; the row is keyed by its SHA-256, so a leaked copy of
the table opens no session. ``credential_hash`` is the hash of the token used to sign in (the
same hash the ``tokens`` table keeps): revoking the token, or rotating the admin token, ends
every session it opened.
"""

from __future__ import annotations

from sqlalchemy import Index, Table

from app.db.tables import metadata, moment, string, workspace_column

dashboard_sessions = Table(
    "dashboard_sessions",
    metadata,
    string("id_hash", 64, primary_key=True),
    workspace_column(nullable=True),
    string("credential_hash", 64),
    string("csrf_token", 64),
    moment("created_at"),
    moment("expires_at"),
    Index("ix_dashboard_sessions_expires_at", "expires_at"),
)
