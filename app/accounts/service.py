"""Accounts: passwords (argon2), roles per workspace, invitations, resets, lock-out, sessions.

Every function takes the caller's connection (the caller owns the transaction) and ``now``, so
the tests drive time. Tokens of links and cookies are 32 random bytes; only their SHA-256 is
kept (see ``tables``).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, Connection, delete, insert, select, update

from app.accounts.tables import (
    account_sessions,
    accounts,
    invitations,
    memberships,
    password_resets,
)
from app.auth.service import hash_secret, row_by_secret
from app.db.rows import deleted
from app.i18n import N_, gettext

Role = Literal["viewer", "operator", "owner"]
ROLES: tuple[Role, ...] = ("viewer", "operator", "owner")
"""Weakest first: each role may do what the ones before it may."""

LOCK_AFTER = 5
"""Failed sign-ins in a row before the account is locked for ``LOCK_FOR``."""
LOCK_FOR = timedelta(minutes=15)
INVITATION_LIFETIME = timedelta(days=7)
RESET_LIFETIME = timedelta(hours=1)
SESSION_LIFETIME = timedelta(hours=12)
MIN_PASSWORD = 10

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the e-mail is unknown, so the answer takes as long either way and
    the timing tells no one which addresses have accounts. Made at the first such sign-in, not
    at import: an Argon2 hash is a tenth of a second of every start of every command."""
    return _hasher.hash(secrets.token_urlsafe(16))


_EMAIL = re.compile(r"^[^@\s\x00]{1,64}@[^@\s\x00]{1,255}$")


class AccountError(ValueError):
    """A refusal that names the field; ``str()`` is the API's English, :meth:`said` is the
    dashboard's, in the reader's language (``message`` is marked for the catalogs)."""

    def __init__(self, field: str, message: str, **params: object) -> None:
        super().__init__(message % params if params else message)
        self.field = field
        self.message = message
        self.params = params

    def said(self) -> str:
        return gettext(self.message) % self.params if self.params else gettext(self.message)


def normal_email(raw: str) -> str:
    email = raw.strip().lower()
    if not _EMAIL.match(email):
        raise AccountError("email", N_("an e-mail address like name@example.com"))
    return email


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(
            "password", N_("a password of at least %(count)d characters"), count=MIN_PASSWORD
        )
    if len(password) > 1000 or "\x00" in password:
        raise AccountError("password", N_("a password of at most 1,000 characters, without NUL"))
    return password


@dataclass(frozen=True)
class Account:
    id: str
    email: str
    roles: dict[str, str]


def _load(connection: Connection, account_id: str) -> Account | None:
    row = connection.execute(
        select(accounts.c.id, accounts.c.email).where(accounts.c.id == account_id)
    ).first()
    if row is None:
        return None
    found = connection.execute(
        select(memberships.c.workspace_id, memberships.c.role).where(
            memberships.c.account_id == account_id
        )
    )
    return Account(row.id, row.email, {r.workspace_id: r.role for r in found})


def _by_email(connection: Connection, email: str) -> str | None:
    found: str | None = connection.execute(
        select(accounts.c.id).where(accounts.c.email == email)
    ).scalar()
    return found


def create_account(connection: Connection, email: str, password: str | None, now: datetime) -> str:
    account_id = "acc_" + secrets.token_hex(8)
    connection.execute(
        insert(accounts).values(
            id=account_id,
            email=normal_email(email),
            password_hash=None if password is None else _hasher.hash(check_password(password)),
            failed_signins=0,
            locked_until=None,
            created_at=now,
        )
    )
    return account_id


@dataclass(frozen=True)
class SignInResult:
    account: Account | None
    locked_until: datetime | None = None


def sign_in(connection: Connection, email: str, password: str, now: datetime) -> SignInResult:
    """The account behind e-mail and password; a locked account answers locked, even to the
    right password (else the lock-out would not slow a guesser down)."""
    row = connection.execute(
        select(accounts).where(accounts.c.email == email.strip().lower())
    ).first()
    if row is None or row.password_hash is None:
        _verify(_dummy_hash(), password)
        return SignInResult(None)
    if row.locked_until is not None and row.locked_until > now:
        return SignInResult(None, row.locked_until)
    if _verify(row.password_hash, password):
        connection.execute(
            update(accounts)
            .where(accounts.c.id == row.id)
            .values(failed_signins=0, locked_until=None)
        )
        return SignInResult(_load(connection, row.id))
    failures = row.failed_signins + 1
    locked = now + LOCK_FOR if failures >= LOCK_AFTER else None
    connection.execute(
        update(accounts)
        .where(accounts.c.id == row.id)
        .values(failed_signins=0 if locked else failures, locked_until=locked)
    )
    return SignInResult(None, locked)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# -- roles -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    account_id: str
    email: str
    role: str


def members(connection: Connection, workspace_id: str) -> list[Member]:
    rows = connection.execute(
        select(accounts.c.id, accounts.c.email, memberships.c.role)
        .join(memberships, memberships.c.account_id == accounts.c.id)
        .where(memberships.c.workspace_id == workspace_id)
        .order_by(accounts.c.email)
    )
    return [Member(r.id, r.email, r.role) for r in rows]


def set_role(
    connection: Connection, workspace_id: str, account_id: str, role: str, now: datetime
) -> None:
    if role not in ROLES:
        raise AccountError("role", N_("one of viewer, operator, owner"))
    connection.execute(
        delete(memberships).where(
            memberships.c.workspace_id == workspace_id, memberships.c.account_id == account_id
        )
    )
    connection.execute(
        insert(memberships).values(
            account_id=account_id, workspace_id=workspace_id, role=role, created_at=now
        )
    )


def remove_member(connection: Connection, workspace_id: str, account_id: str) -> bool:
    return deleted(connection, memberships.c.account_id, workspace_id, account_id)


# -- invitations and resets -----------------------------------------------------------------------


def invite(
    connection: Connection, workspace_id: str, email: str, role: str, by: str, now: datetime
) -> str:
    """A new invitation; returns the link's token (shown once, only its hash is kept)."""
    if role not in ROLES:
        raise AccountError("role", N_("one of viewer, operator, owner"))
    token = secrets.token_urlsafe(32)
    connection.execute(
        insert(invitations).values(
            token_hash=hash_secret(token),
            workspace_id=workspace_id,
            email=normal_email(email),
            role=role,
            invited_by=by,
            created_at=now,
            expires_at=now + INVITATION_LIFETIME,
            accepted_at=None,
            withdrawn_at=None,
        )
    )
    return token


@dataclass(frozen=True)
class Invitation:
    workspace_id: str
    email: str
    role: str
    has_account: bool


def open_invitation(connection: Connection, token: str, now: datetime) -> Invitation | None:
    """The invitation behind a link, while it is unused and unexpired."""
    row = row_by_secret(connection, invitations.c.token_hash, token)
    if row is None or not _pending(row, now):
        return None
    existing = connection.execute(
        select(accounts.c.password_hash).where(accounts.c.email == row.email)
    ).first()
    has_account = existing is not None and existing.password_hash is not None
    return Invitation(row.workspace_id, row.email, row.role, has_account)


def _pending(row: Any, now: datetime) -> bool:
    return row.accepted_at is None and row.withdrawn_at is None and row.expires_at > now


INVITATION_ID_LENGTH = 16
"""An invitation is named by the start of its link's hash: enough to tell it apart, and
nothing that opens it (the link's token is not kept)."""


@dataclass(frozen=True)
class PendingInvitation:
    id: str
    email: str
    role: str
    invited_by: str
    created_at: datetime
    expires_at: datetime


def _pending_invitation(row: Any) -> PendingInvitation:
    return PendingInvitation(
        row.token_hash[:INVITATION_ID_LENGTH],
        row.email,
        row.role,
        row.invited_by,
        row.created_at,
        row.expires_at,
    )


def _waiting(connection: Connection, which: ColumnElement[bool], now: datetime) -> list[Any]:
    """The invitations ``which`` selects that are still waiting to be used, oldest first."""
    return list(
        connection.execute(
            select(invitations)
            .where(
                which,
                invitations.c.accepted_at.is_(None),
                invitations.c.withdrawn_at.is_(None),
                invitations.c.expires_at > now,
            )
            .order_by(invitations.c.created_at)
        )
    )


def pending_invitations(
    connection: Connection, workspace_id: str, now: datetime
) -> list[PendingInvitation]:
    """The workspace's invitations still waiting to be used, oldest first."""
    rows = _waiting(connection, invitations.c.workspace_id == workspace_id, now)
    return [_pending_invitation(r) for r in rows]


def withdraw_invitation(
    connection: Connection, workspace_id: str, invitation_id: str, now: datetime
) -> PendingInvitation | None:
    """Withdraw a pending invitation (its link is refused from now on); None when the
    workspace has no such pending invitation."""
    if not re.fullmatch(f"[0-9a-f]{{{INVITATION_ID_LENGTH}}}", invitation_id):
        return None
    row = connection.execute(
        select(invitations).where(
            invitations.c.workspace_id == workspace_id,
            invitations.c.token_hash.startswith(invitation_id, autoescape=True),
        )
    ).first()
    if row is None or not _pending(row, now):
        return None
    connection.execute(
        update(invitations)
        .where(invitations.c.token_hash == row.token_hash)
        .values(withdrawn_at=now)
    )
    return _pending_invitation(row)


def accept_invitation(
    connection: Connection, token: str, password: str, now: datetime
) -> Account | None:
    """Join the workspace with the invited role. A new address chooses its password here; an
    existing account proves itself with its own (the link alone takes over nobody)."""
    invitation = open_invitation(connection, token, now)
    if invitation is None:
        return None
    account_id = _by_email(connection, invitation.email)
    if invitation.has_account:
        assert account_id is not None
        if not sign_in(connection, invitation.email, password, now).account:
            raise AccountError("password", N_("the password of your existing account"))
    elif account_id is None:
        account_id = create_account(connection, invitation.email, password, now)
    else:
        connection.execute(
            update(accounts)
            .where(accounts.c.id == account_id)
            .values(password_hash=_hasher.hash(check_password(password)))
        )
    set_role(connection, invitation.workspace_id, account_id, invitation.role, now)
    connection.execute(
        update(invitations)
        .where(invitations.c.token_hash == hash_secret(token))
        .values(accepted_at=now)
    )
    return _load(connection, account_id)


def account_for_verified_email(
    connection: Connection, email: str, now: datetime
) -> tuple[Account | None, list[tuple[str, str]]]:
    """The account of an address its holder proved at an identity provider (OpenID Connect),
    and the (workspace, role) of each pending invitation to it, accepted now. An address with
    neither an account nor a pending invitation gets nothing: None."""
    try:
        address = normal_email(email)
    except AccountError:
        return None, []
    waiting = _waiting(connection, invitations.c.email == address, now)
    account_id = _by_email(connection, address)
    if account_id is None:
        if not waiting:
            return None, []
        account_id = create_account(connection, address, None, now)
    for row in waiting:
        set_role(connection, row.workspace_id, account_id, row.role, now)
        connection.execute(
            update(invitations)
            .where(invitations.c.token_hash == row.token_hash)
            .values(accepted_at=now)
        )
    return _load(connection, account_id), [(r.workspace_id, r.role) for r in waiting]


def request_reset(connection: Connection, email: str, now: datetime) -> str | None:
    """A reset link's token for the account, or None when there is no such account (the caller
    answers the same either way)."""
    account_id = _by_email(connection, email.strip().lower())
    if account_id is None:
        return None
    token = secrets.token_urlsafe(32)
    connection.execute(
        insert(password_resets).values(
            token_hash=hash_secret(token),
            account_id=account_id,
            created_at=now,
            expires_at=now + RESET_LIFETIME,
            used_at=None,
        )
    )
    return token


def reset_password(
    connection: Connection, token: str, password: str, now: datetime
) -> Account | None:
    """Set a new password through a reset link (once); every session of the account ends."""
    check_password(password)
    row = row_by_secret(connection, password_resets.c.token_hash, token)
    if row is None or row.used_at is not None or row.expires_at <= now:
        return None
    connection.execute(
        update(password_resets)
        .where(password_resets.c.token_hash == row.token_hash)
        .values(used_at=now)
    )
    connection.execute(
        update(accounts)
        .where(accounts.c.id == row.account_id)
        .values(password_hash=_hasher.hash(password), failed_signins=0, locked_until=None)
    )
    connection.execute(
        delete(account_sessions).where(account_sessions.c.account_id == row.account_id)
    )
    return _load(connection, row.account_id)


# -- sessions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountSession:
    id: str
    account: Account
    csrf_token: str
    user_agent: str
    created_at: datetime
    expires_at: datetime


def open_session(
    connection: Connection, account_id: str, user_agent: str, now: datetime
) -> tuple[str, str]:
    """A new session: (cookie value, CSRF token). The cookie value is shown only here."""
    connection.execute(delete(account_sessions).where(account_sessions.c.expires_at < now))
    cookie = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    connection.execute(
        insert(account_sessions).values(
            id="ses_" + secrets.token_hex(8),
            id_hash=hash_secret(cookie),
            account_id=account_id,
            csrf_token=csrf,
            user_agent=user_agent[:300],
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    return cookie, csrf


def find_session(connection: Connection, cookie: str, now: datetime) -> AccountSession | None:
    row = row_by_secret(connection, account_sessions.c.id_hash, cookie)
    if row is None or row.expires_at <= now:
        return None
    account = _load(connection, row.account_id)
    if account is None:
        return None
    return AccountSession(
        row.id, account, row.csrf_token, row.user_agent, row.created_at, row.expires_at
    )


def sessions_of(connection: Connection, account_id: str, now: datetime) -> list[AccountSession]:
    account = _load(connection, account_id)
    if account is None:
        return []
    rows = connection.execute(
        select(account_sessions)
        .where(account_sessions.c.account_id == account_id, account_sessions.c.expires_at > now)
        .order_by(account_sessions.c.created_at)
    )
    return [
        AccountSession(r.id, account, r.csrf_token, r.user_agent, r.created_at, r.expires_at)
        for r in rows
    ]


def revoke_session(connection: Connection, account_id: str, session_id: str) -> bool:
    result = connection.execute(
        delete(account_sessions).where(
            account_sessions.c.account_id == account_id, account_sessions.c.id == session_id
        )
    )
    return result.rowcount > 0


def close_session(connection: Connection, cookie: str) -> None:
    connection.execute(
        delete(account_sessions).where(account_sessions.c.id_hash == hash_secret(cookie))
    )
