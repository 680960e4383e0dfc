"""People: accounts, their role in each workspace, invitations, password resets and sessions.

Secrets are never stored as such: passwords as argon2 hashes, invitation, reset and session
tokens as their SHA-256 (the links and cookies carry 32 random bytes, so a fast hash suffices
and a leaked copy of the tables opens nothing).
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, String, Table

from app.db.tables import integer, metadata, moment, string, workspace_column

accounts = Table(
    "accounts",
    metadata,
    string("id", 32, primary_key=True),
    string("email", 320, unique=True),
    string("password_hash", 200, nullable=True),
    integer("failed_signins"),
    moment("locked_until", nullable=True),
    moment("created_at"),
)

memberships = Table(
    "memberships",
    metadata,
    Column(
        "account_id",
        String(32),
        ForeignKey("accounts.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    workspace_column(primary_key=True),
    string("role", 16),
    moment("created_at"),
)

invitations = Table(
    "invitations",
    metadata,
    string("token_hash", 64, primary_key=True),
    workspace_column(nullable=False),
    string("email", 320),
    string("role", 16),
    string("invited_by", 320),
    moment("created_at"),
    moment("expires_at"),
    moment("accepted_at", nullable=True),
    moment("withdrawn_at", nullable=True),
)

password_resets = Table(
    "password_resets",
    metadata,
    string("token_hash", 64, primary_key=True),
    Column("account_id", String(32), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    moment("created_at"),
    moment("expires_at"),
    moment("used_at", nullable=True),
)

account_sessions = Table(
    "account_sessions",
    metadata,
    string("id", 32, primary_key=True),
    string("id_hash", 64, unique=True),
    Column("account_id", String(32), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    string("csrf_token", 64),
    string("user_agent", 300),
    moment("created_at"),
    moment("expires_at"),
    Index("ix_account_sessions_account", "account_id"),
)
