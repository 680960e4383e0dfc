"""Browser sessions: sign in with a token, get a random session id in an HTTP-only cookie.

The token itself never leaves the sign-in request: the cookie holds 32 random bytes, the store
holds their SHA-256, the expiry and the session's CSRF token (a synchronizer token, echoed by
every state-changing form). Each request re-checks that the token used to sign in still holds:
a revoked workspace token or a rotated admin token ends its sessions at once.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, delete, insert, select

from app.accounts import service as accounts
from app.auth.service import Principal, hash_secret, row_by_secret, token_principal
from app.dashboard.tables import dashboard_sessions
from app.db.tables import tokens

SESSION_COOKIE = "arbiter_session"
SIGNIN_COOKIE = "arbiter_signin"
"""Short-lived cookie holding the sign-in form's CSRF token (no session exists yet)."""
SESSION_LIFETIME = accounts.SESSION_LIFETIME


@dataclass(frozen=True)
class Session:
    principal: Principal
    csrf_token: str
    expires_at: datetime


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def tokens_match(presented: str | None, expected: str | None) -> bool:
    """Equal and not empty: two missing values (no cookie, no field) are no proof of anything."""
    if not presented or not expected:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


def open_session(
    connection: Connection, principal: Principal, presented_token: str, now: datetime
) -> tuple[str, Session]:
    """A new session for ``principal``; returns the cookie value (shown only here)."""
    connection.execute(delete(dashboard_sessions).where(dashboard_sessions.c.expires_at < now))
    session_id = new_secret()
    session = Session(principal, new_secret(), now + SESSION_LIFETIME)
    connection.execute(
        insert(dashboard_sessions).values(
            id_hash=hash_secret(session_id),
            workspace_id=principal.workspace_id,
            credential_hash=hash_secret(presented_token),
            csrf_token=session.csrf_token,
            created_at=now,
            expires_at=session.expires_at,
        )
    )
    return session_id, session


def find_session(
    connection: Connection, session_id: str | None, admin_token: str, now: datetime
) -> Session | None:
    """The live session behind a cookie value, or None (unknown, expired, token revoked)."""
    if not session_id or len(session_id) > 100:
        return None
    row = row_by_secret(connection, dashboard_sessions.c.id_hash, session_id)
    if row is None:
        return _account_session(connection, session_id, now)
    if row.expires_at <= now:
        return None
    if row.workspace_id is None:
        if not hmac.compare_digest(row.credential_hash, hash_secret(admin_token)):
            return None
        principal = Principal(workspace_id=None)
    else:
        token = connection.execute(
            select(tokens.c.id).where(
                tokens.c.secret_hash == row.credential_hash,
                tokens.c.workspace_id == row.workspace_id,
            )
        ).first()
        found = (
            None if token is None else token_principal(connection, token.id, row.workspace_id, now)
        )
        if found is None:
            return None
        principal = found
    return Session(principal, row.csrf_token, row.expires_at)


def account_principal(account: accounts.Account) -> Principal:
    return Principal(
        workspace_id=None,
        account_id=account.id,
        email=account.email,
        roles=tuple(sorted(account.roles.items())),
    )


def _account_session(connection: Connection, session_id: str, now: datetime) -> Session | None:
    """A person's session: the roles are read again at each request, so a changed or removed
    membership holds at once."""
    found = accounts.find_session(connection, session_id, now)
    if found is None:
        return None
    return Session(account_principal(found.account), found.csrf_token, found.expires_at)


def close_session(connection: Connection, session_id: str | None) -> None:
    if session_id:
        accounts.close_session(connection, session_id)
        connection.execute(
            delete(dashboard_sessions).where(
                dashboard_sessions.c.id_hash == hash_secret(session_id)
            )
        )


def utc_now() -> datetime:
    return datetime.now(UTC)
