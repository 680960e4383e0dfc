"""Who is calling: the admin token (every right) or a workspace token (its workspace only).

Workspace tokens are shown once at creation and stored only as a SHA-256 hash; the admin token
comes from the settings or is generated into the data dir at first start.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Connection, Row, delete, insert, select, update

from app.accounts.tables import accounts, memberships
from app.auth.tables import token_grants
from app.db.tables import tokens
from app.secrets_store import read_or_create
from app.settings import Settings

TOKEN_PREFIX = "arb_"  # noqa: S105 - a prefix, not a secret


ROLE_RANK = {"viewer": 1, "operator": 2, "owner": 3}
"""Each role may do what the weaker ones may (see ``app.accounts.service.ROLES``)."""


@dataclass(frozen=True)
class Principal:
    """The caller: the admin (``workspace_id`` and ``account_id`` None), a workspace token, or
    a person's account with a role in each of its workspaces."""

    workspace_id: str | None
    token_id: str | None = None
    account_id: str | None = None
    email: str | None = None
    roles: tuple[tuple[str, str], ...] = ()
    token_role: str = "operator"  # noqa: S105 - a role, not a secret
    """A workspace token's role (tokens made before roles existed are operators)."""

    @property
    def is_admin(self) -> bool:
        return self.workspace_id is None and self.account_id is None

    @property
    def name(self) -> str:
        """Who this is, as the audit trail and the incident timeline say it."""
        if self.email is not None:
            return self.email
        return "admin" if self.is_admin else f"token {self.token_id}"

    def role_in(self, workspace_id: str) -> str | None:
        """The role in the workspace (None: no access). A workspace token keeps today's rights
        on its workspace (operator); only the admin and owners manage people."""
        if self.is_admin:
            return "owner"
        if self.account_id is not None:
            return dict(self.roles).get(workspace_id)
        return self.token_role if self.workspace_id == workspace_id else None

    def may(self, workspace_id: str, role: str) -> bool:
        """At least ``role`` in the workspace."""
        return ROLE_RANK.get(self.role_in(workspace_id) or "", 0) >= ROLE_RANK[role]

    def may_access(self, workspace_id: str) -> bool:
        return self.role_in(workspace_id) is not None

    @property
    def workspaces(self) -> tuple[str, ...] | None:
        """The workspaces this caller sees; None means all (the admin)."""
        if self.is_admin:
            return None
        if self.account_id is not None:
            return tuple(sorted(ws for ws, _ in self.roles))
        return (self.workspace_id,) if self.workspace_id else ()


ADMIN = Principal(workspace_id=None)


def admin_token_path(settings: Settings) -> Path:
    return settings.store.data_dir / "admin_token"


def ensure_admin_token(settings: Settings) -> tuple[str, Path | None]:
    """The admin token, and the file it was read from or written to (None when configured)."""
    if settings.admin_token is not None:
        return settings.admin_token.get_secret_value(), None
    path = admin_token_path(settings)
    token = read_or_create(path, lambda: TOKEN_PREFIX + "admin_" + secrets.token_urlsafe(32))
    return token, path


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def row_by_secret(
    connection: Connection, hashed: Column[str], secret: str | None
) -> Row[Any] | None:
    """The row of ``hashed``'s table that holds the hash of ``secret`` (a cookie, a link's
    token) in that column; None for no such row, and for a missing or overlong (over 100
    characters) secret, which no row holds."""
    if not secret or len(secret) > 100:
        return None
    return connection.execute(select(hashed.table).where(hashed == hash_secret(secret))).first()


LAST_USE_PRECISION = timedelta(minutes=1)
"""Last use is written at most this often per token: reads stay reads under steady traffic."""


def authenticate(
    connection: Connection, presented: str, admin_token: str, now: datetime | None = None
) -> Principal | None:
    if hmac.compare_digest(presented.encode(), admin_token.encode()):
        return ADMIN
    row = connection.execute(
        select(tokens.c.id, tokens.c.workspace_id, tokens.c.secret_hash).where(
            tokens.c.secret_hash == hash_secret(presented)
        )
    ).first()
    if row is None or not hmac.compare_digest(row.secret_hash, hash_secret(presented)):
        return None
    return token_principal(connection, row.id, row.workspace_id, now or datetime.now(UTC))


def token_principal(
    connection: Connection, token_id: str, workspace_id: str, now: datetime
) -> Principal | None:
    """The principal of a workspace token: None once it expired, or once the person it belongs
    to left the workspace; a person's token never has more than the person's own role. Notes
    the token's use: the caller commits (at most once a minute per token)."""
    grant = connection.execute(
        select(token_grants).where(token_grants.c.token_id == token_id)
    ).first()
    role = "operator" if grant is None else grant.role
    if grant is not None and grant.expires_at is not None and grant.expires_at <= now:
        return None
    if grant is not None and grant.person is not None:
        member_role = connection.execute(
            select(memberships.c.role)
            .join(accounts, accounts.c.id == memberships.c.account_id)
            .where(accounts.c.email == grant.person, memberships.c.workspace_id == workspace_id)
        ).scalar()
        if member_role is None:
            return None
        role = min(role, member_role, key=lambda r: ROLE_RANK[r])
    # Every token has a grant (the migration gave the older ones theirs); a missing one would
    # only lose the note of its use.
    if grant is not None and (
        grant.last_used_at is None or grant.last_used_at <= now - LAST_USE_PRECISION
    ):
        connection.execute(
            update(token_grants).where(token_grants.c.token_id == token_id).values(last_used_at=now)
        )
    return Principal(workspace_id=workspace_id, token_id=token_id, token_role=role)


@dataclass(frozen=True)
class TokenInfo:
    id: str
    workspace_id: str
    name: str
    created_at: datetime
    role: str = "operator"
    person: str | None = None
    integration: str | None = None
    expires_at: datetime | None = None
    last_used_at: datetime | None = None


_GRANTED = ("role", "person", "integration", "expires_at", "last_used_at")
"""What a token's grant row (``token_grants``) holds of its :class:`TokenInfo`."""


def create_token(
    connection: Connection,
    workspace_id: str,
    name: str,
    *,
    role: str = "operator",
    person: str | None = None,
    integration: str | None = None,
    expires_at: datetime | None = None,
) -> tuple[TokenInfo, str]:
    """A new workspace token; the secret is returned here and never again."""
    token_id = "tok_" + secrets.token_hex(8)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    info = TokenInfo(
        token_id,
        workspace_id,
        name,
        datetime.now(UTC),
        role,
        person,
        integration,
        expires_at,
    )
    connection.execute(
        insert(tokens).values(
            id=info.id,
            workspace_id=workspace_id,
            name=name,
            secret_hash=hash_secret(secret),
            created_at=info.created_at,
        )
    )
    connection.execute(
        insert(token_grants).values(
            token_id=info.id, **{key: getattr(info, key) for key in _GRANTED}
        )
    )
    return info, secret


def list_tokens(connection: Connection, workspace_id: str) -> list[TokenInfo]:
    rows = connection.execute(
        select(
            tokens.c.id,
            tokens.c.workspace_id,
            tokens.c.name,
            tokens.c.created_at,
            *(token_grants.c[key] for key in _GRANTED),
        )
        .select_from(tokens.outerjoin(token_grants, token_grants.c.token_id == tokens.c.id))
        .where(tokens.c.workspace_id == workspace_id)
        .order_by(tokens.c.created_at)
    )
    return [
        TokenInfo(
            r.id,
            r.workspace_id,
            r.name,
            r.created_at,
            r.role or "operator",
            r.person,
            r.integration,
            r.expires_at,
            r.last_used_at,
        )
        for r in rows
    ]


def revoke_token(connection: Connection, workspace_id: str, token_id: str) -> bool:
    found = connection.execute(
        select(tokens.c.id).where(tokens.c.workspace_id == workspace_id, tokens.c.id == token_id)
    ).first()
    if found is None:
        return False
    connection.execute(delete(token_grants).where(token_grants.c.token_id == token_id))
    connection.execute(delete(tokens).where(tokens.c.id == token_id))
    return True
