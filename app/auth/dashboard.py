"""The workspace's API tokens on the dashboard: listed (owner, role, expiry, last use), made
(the secret shown once) and revoked.

The rules are the API's, for people: nobody gives a token more than their own role (only an
owner makes or revokes owner tokens), a viewer makes none, and a session opened with a
workspace token makes none either (a token that could mint others would outlive its own
revocation through them). A person's token belongs to them: it ends when they leave the
workspace and never has more than their role there (``token_principal``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Response

from app.audit import service as audit
from app.auth.service import ROLE_RANK, TokenInfo, create_token, list_tokens, revoke_token
from app.dashboard.pages import FormPageDep, Page, PageDep, see_other
from app.dashboard.sessions import Session, utc_now
from app.i18n import N_
from app.i18n.vocabulary import refusal
from app.runtime import Runtime

router = APIRouter(include_in_schema=False)

LIFETIMES = {"30": N_("30 days"), "90": N_("90 days"), "365": N_("1 year"), "never": N_("never")}
"""What the form offers, by its value (its label is translated on the page); 90 days unless
chosen otherwise."""

Text = Annotated[str, Form(max_length=200)]


@dataclass(frozen=True)
class Made:
    token: TokenInfo
    secret: str


class Refusal(ValueError):
    """What a form's ``field`` expects (a marked message, said in the reader's language)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field

    def said(self) -> str:
        return refusal(self.field, str(self))


def _may_give(session: Session, ws: str, role: str) -> bool:
    """A role the signed-in caller may give a token or take one from: at most their own."""
    return ROLE_RANK.get(session.principal.role_in(ws) or "", 0) >= ROLE_RANK.get(role, 99)


def _mints(session: Session, ws: str) -> bool:
    """Whether this session may make tokens at all: a person (operator or owner) or the admin."""
    principal = session.principal
    return principal.token_id is None and principal.may(ws, "operator")


def _page(page: Page, made: Made | None = None, error: str | None = None) -> Response:
    session, ws = page.session, page.ws
    with page.runtime.engine.connect() as connection:
        tokens = list_tokens(connection, ws)
    return page.form(
        "tokens.html",
        "tokens",
        error,
        tokens=tokens,
        made=made,
        now=utc_now(),
        mints=_mints(session, ws),
        roles=[r for r in ROLE_RANK if _may_give(session, ws, r)],
        revocable={t.id for t in tokens if _may_give(session, ws, t.role)}
        if session.principal.may(ws, "operator")
        else set(),
        lifetimes=LIFETIMES,
        person=session.principal.email,
    )


@router.get("/w/{ws}/tokens")
def tokens_page(page: PageDep) -> Response:
    return _page(page)


def make(
    runtime: Runtime,
    session: Session,
    ws: str,
    *,
    name: str,
    role: str,
    owner: str,
    integration: str,
    lifetime: str,
) -> Made:
    """A new token of the workspace for the caller or a named integration; refusals name the
    form's field."""
    if not _mints(session, ws):
        raise Refusal("role", N_("a person's session (tokens do not make tokens)"))
    if role not in ROLE_RANK or not _may_give(session, ws, role):
        raise Refusal("role", N_("a role no higher than your own"))
    name = name.strip() or "dashboard token"
    person = session.principal.email if owner == "me" else None
    if owner == "me" and person is None:
        raise Refusal("owner", N_("a named integration (the admin is no person)"))
    integration = integration.strip()
    if owner != "me" and not integration:
        raise Refusal("integration", N_("the name of the integration the token is for"))
    if lifetime not in LIFETIMES:
        raise Refusal("expires", N_("one of 30 days, 90 days, 1 year, never"))
    now = utc_now()
    expires_at = None if lifetime == "never" else now + timedelta(days=int(lifetime))
    by = session.principal.name
    with runtime.engine.begin() as connection:
        info, secret = create_token(
            connection,
            ws,
            name,
            role=role,
            person=person,
            integration=None if person else integration,
            expires_at=expires_at,
        )
        audit.record(
            connection,
            ws,
            by,
            "token_created",
            info.id,
            now,
            name=info.name,
            role=info.role,
            person=info.person,
            integration=info.integration,
        )
    return Made(info, secret)


@router.post("/w/{ws}/tokens")
def make_token(
    ws: str,
    page: FormPageDep,
    name: Text = "",
    role: Text = "viewer",
    owner: Text = "me",
    integration: Text = "",
    expires: Text = "90",
) -> Response:
    try:
        made = make(
            page.runtime,
            page.session,
            ws,
            name=name,
            role=role,
            owner=owner,
            integration=integration,
            lifetime=expires,
        )
    except Refusal as exc:
        return _page(page, error=exc.said())
    return _page(page, made=made)


def _revoke(runtime: Runtime, session: Session, ws: str, token_id: str, by: str) -> str | None:
    """Revoke the token; why not, when the session may not."""
    with runtime.engine.begin() as connection:
        found = next((t for t in list_tokens(connection, ws) if t.id == token_id), None)
        if found is None:
            return refusal("token", N_("one of this workspace's tokens"))
        if not _may_give(session, ws, found.role):
            return refusal("token", N_("an owner token is revoked by an owner only"))
        revoke_token(connection, ws, found.id)
        audit.record(connection, ws, by, "token_revoked", found.id, utc_now())
        return None


@router.post("/w/{ws}/tokens/{token_id}/revoke")
def revoke(ws: str, token_id: str, page: FormPageDep) -> Response:
    error = _revoke(page.runtime, page.session, ws, token_id, page.session.principal.name)
    if error is not None:
        return _page(page, error=error)
    return see_other(f"/w/{ws}/tokens")
