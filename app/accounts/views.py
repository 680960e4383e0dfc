"""People on the dashboard: e-mail sign-in, invitations, password resets, one's own sessions,
and each workspace's people (owners only). The API side: invitations and members for scripts.

Pages before a session exists (sign-in, invitation, reset) live under ``/signin`` so they share
the sign-in form's CSRF cookie (login CSRF: the form echoes a value only this browser holds).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from app.accounts import mail
from app.accounts import service as accounts
from app.accounts.oidc_views import router as oidc_router
from app.accounts.signins import client_address, record_signin, signin_page
from app.audit import service as audit
from app.auth import throttle
from app.auth.dashboard import router as tokens_dashboard_router
from app.dashboard.access import SessionDep, home_of, render, safe_next
from app.dashboard.pages import (
    FormSessionDep,
    FromPublicFormDep,
    OwnerFormPageDep,
    OwnerPageDep,
    Page,
    problem_page,
    public_base,
    public_form,
    public_form_page,
    refused,
    see_other,
    signed_in_redirect,
)
from app.dashboard.sessions import utc_now
from app.deps import AdminDep, ConnectionDep, ExistingWorkspaceDep, RuntimeDep, WorkspacePath
from app.exceptions import Invalid, NotFound
from app.i18n import N_
from app.i18n import gettext as _
from app.i18n.vocabulary import refusal, term
from app.runtime import Runtime
from app.workspaces.service import require_workspace

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1/workspaces/{ws}", tags=["people"])

EmailField = Annotated[str, Form(max_length=320)]
PasswordField = Annotated[str, Form(max_length=1000)]


# -- signing in with e-mail and password ----------------------------------------------------------


@router.post("/signin/account")
def signin_account(
    request: Request,
    runtime: RuntimeDep,
    from_form: FromPublicFormDep,
    email: EmailField = "",
    password: PasswordField = "",
    next: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    if not from_form:
        return signin_page(request, next, _("The form expired. Please sign in again."), 403, email)
    message = _("Too many failed sign-ins. Try again later.")
    refused = throttle.refusal(request, lambda: signin_page(request, next, message, 429))
    if refused is not None:
        return refused
    now = utc_now()
    user_agent = request.headers.get("user-agent", "")

    def start() -> tuple[accounts.SignInResult, str | None]:
        with runtime.engine.begin() as connection:
            result = accounts.sign_in(connection, email, password, now)
            if result.account is None:
                return result, None
            cookie, _csrf = accounts.open_session(connection, result.account.id, user_agent, now)
            record_signin(connection, result.account, "password", now, client_address(request))
            return result, cookie

    result, cookie = start()
    if result.account is None or cookie is None:
        throttle.failed(request)
        if result.locked_until is not None:
            message = _("Too many failed sign-ins for this account. Try again in 15 minutes.")
            return signin_page(request, next, message, 423, email)
        return signin_page(request, next, _("That e-mail and password do not match."), 401, email)
    target = safe_next(next) or "/workspaces"
    return signed_in_redirect(request, target, cookie)


def _choose(exc: accounts.AccountError) -> str:
    """A refused password or address, as the invitation and reset forms say it."""
    return _("Choose %(what)s.") % {"what": exc.said()}


# -- invitations ------------------------------------------------------------------------------


@router.get("/signin/invitation/{token}")
def invitation_form(request: Request, token: str, runtime: RuntimeDep) -> Response:
    with runtime.engine.connect() as connection:
        invitation = accounts.open_invitation(connection, token, utc_now())
    return _invitation_page(request, token, invitation, None)


def _invitation_page(
    request: Request, token: str, invitation: accounts.Invitation | None, error: str | None
) -> Response:
    if invitation is None:
        return problem_page(
            request,
            None,
            404,
            _("Invitation not valid"),
            _("This invitation was used already, has expired or never existed. Ask for a new one."),
        )
    context = {"invitation": invitation, "token": token, "error": error}
    return public_form_page(request, "invitation.html", context, 422 if error else 200)


@router.post("/signin/invitation/{token}", dependencies=[Depends(public_form)])
def accept_invitation(
    request: Request, token: str, runtime: RuntimeDep, password: PasswordField = ""
) -> Response:
    refused = throttle.refusal(
        request,
        lambda: problem_page(
            request, None, 429, _("Too many attempts"), _("Try again in a minute.")
        ),
    )
    if refused is not None:
        return refused
    now = utc_now()
    user_agent = request.headers.get("user-agent", "")

    def accept() -> tuple[str | None, str | None, accounts.Invitation | None]:
        with runtime.engine.begin() as connection:
            invitation = accounts.open_invitation(connection, token, now)
            try:
                account = accounts.accept_invitation(connection, token, password, now)
            except accounts.AccountError as exc:
                # Nothing was written but a failed sign-in of an existing account, which
                # counts towards its lock-out: the transaction commits.
                return None, _choose(exc), invitation
            if account is None:
                return None, None, None
            assert invitation is not None
            audit.record(
                connection,
                invitation.workspace_id,
                account.email,
                "invitation_accepted",
                account.email,
                now,
                role=invitation.role,
            )
            cookie, _csrf = accounts.open_session(connection, account.id, user_agent, now)
            record_signin(connection, account, "invitation", now, client_address(request))
            return cookie, None, invitation

    cookie, error, invitation = accept()
    if cookie is None or invitation is None:
        if error is not None and invitation is not None and invitation.has_account:
            throttle.failed(request)  # a wrong password of an existing account
        return _invitation_page(request, token, invitation, error)
    return signed_in_redirect(request, f"/w/{invitation.workspace_id}", cookie)


# -- password reset ---------------------------------------------------------------------------


@router.get("/signin/reset")
def reset_request_form(request: Request) -> Response:
    return public_form_page(request, "reset_request.html", {"sent": False, "error": None})


@router.post("/signin/reset", dependencies=[Depends(public_form)])
def reset_request(request: Request, runtime: RuntimeDep, email: EmailField = "") -> Response:
    context = {"sent": False, "error": _("Try again later.")}
    refused = throttle.refusal(
        request, lambda: public_form_page(request, "reset_request.html", context, 429)
    )
    if refused is not None:
        return refused
    # Each request counts as a failure: resets are rare, and an address-guesser is slowed down.
    throttle.failed(request)
    base = public_base(request, runtime)

    def start() -> None:
        with runtime.engine.begin() as connection:
            token = accounts.request_reset(connection, email, utc_now())
        if token is not None:
            link = f"{base}/signin/reset/{token}"
            body = _(
                "Someone (hopefully you) asked to choose a new Arbiter password for this "
                "address. Open this link within an hour:\n\n%(link)s\n\n"
                "If it was not you, ignore this mail: your password stays as it is."
            ) % {"link": link}
            subject = _("Arbiter password reset")
            mail.send_link(runtime.settings, email.strip().lower(), subject, body)

    start()
    # The same answer whether the address has an account or not.
    return public_form_page(request, "reset_request.html", {"sent": True, "error": None})


@router.get("/signin/reset/{token}")
def reset_form(request: Request, token: str) -> Response:
    return public_form_page(request, "reset.html", {"token": token, "error": None})


@router.post("/signin/reset/{token}", dependencies=[Depends(public_form)])
def reset(
    request: Request, token: str, runtime: RuntimeDep, password: PasswordField = ""
) -> Response:
    now = utc_now()

    def apply() -> accounts.Account | None:
        with runtime.engine.begin() as connection:
            account = accounts.reset_password(connection, token, password, now)
            if account is not None:
                for ws in account.roles:
                    audit.record(
                        connection, ws, account.email, "password_reset", account.email, now
                    )
            return account

    try:
        account = apply()
    except accounts.AccountError as exc:
        context = {"token": token, "error": _choose(exc)}
        return public_form_page(request, "reset.html", context, 422)
    if account is None:
        return problem_page(
            request, None, 404, _("Link not valid"), _("This reset link was used or has expired.")
        )
    return see_other("/signin?reset=done")


# -- one's own sessions -----------------------------------------------------------------------


@router.get("/account")
def account_page(request: Request, session: SessionDep, runtime: RuntimeDep) -> Response:
    account_id = session.principal.account_id
    if account_id is None:
        return see_other(home_of(session))

    with runtime.engine.connect() as connection:
        sessions = accounts.sessions_of(connection, account_id, utc_now())
    context = {
        "session": session,
        "csrf": session.csrf_token,
        "ws": None,
        "sessions": sessions,
        "current": session.csrf_token,
    }
    return render(request, "account.html", context)


@router.post("/account/sessions/{session_id}/revoke")
def revoke_session(
    request: Request,
    session_id: str,
    session: FormSessionDep,
    runtime: RuntimeDep,
) -> Response:
    account_id = session.principal.account_id
    if account_id is None:
        return refused(request, session)

    with runtime.engine.begin() as connection:
        accounts.revoke_session(connection, account_id, session_id[:40])
    return see_other("/account")


# -- a workspace's people (owners) ---------------------------------------------------------------


def _people_action(page: Page, action: Callable[[], str | None]) -> Response:
    """Run ``action`` (it may return a link to show); a refusal shows the page with it."""
    try:
        link = action()
    except accounts.AccountError as exc:
        return _people_page(page, None, refusal(exc.field, exc.message, **exc.params))
    if link is None:
        return see_other(f"/w/{page.ws}/people")
    return _people_page(page, link, None)


@router.get("/w/{ws}/people")
def people(page: OwnerPageDep) -> Response:
    return _people_page(page, None, None)


def _people_page(page: Page, link: str | None, error: str | None) -> Response:
    with page.runtime.engine.connect() as connection:
        found = accounts.members(connection, page.ws)
        pending = accounts.pending_invitations(connection, page.ws, utc_now())
    return page.form(
        "people.html",
        "people",
        error,
        members=found,
        pending=pending,
        link=link,
        roles=accounts.ROLES,
    )


@router.post("/w/{ws}/people/invite")
def invite_person(
    ws: str,
    page: OwnerFormPageDep,
    email: EmailField = "",
    role: Annotated[str, Form(max_length=20)] = "viewer",
) -> Response:
    runtime = page.runtime
    base, by = public_base(page.request, runtime), page.session.principal.name
    return _people_action(page, lambda: send_invitation(runtime, base, ws, email, role, by))


def send_invitation(runtime: Runtime, base: str, ws: str, email: str, role: str, by: str) -> str:
    """Store an invitation, mail its link to the invitee, and return the link (the inviter may
    pass it on themselves when no mail is configured)."""
    now = utc_now()
    with runtime.engine.begin() as connection:
        require_workspace(connection, ws)
        token = accounts.invite(connection, ws, email, role, by, now)
        invitee = accounts.normal_email(email)
        audit.record(connection, ws, by, "invitation_created", invitee, now, role=role)
    link = f"{base}/signin/invitation/{token}"
    body = _(
        "%(by)s invites you to the Arbiter workspace “%(ws)s” as %(role)s. Open this link "
        "within 7 days to join:\n\n%(link)s"
    ) % {"by": by, "ws": ws, "role": term(role), "link": link}
    mail.send_link(runtime.settings, invitee, _("Invitation to Arbiter: %(ws)s") % {"ws": ws}, body)
    return link


@router.post("/w/{ws}/people/invitations/{invitation_id}/withdraw")
def withdraw_from_dashboard(ws: str, invitation_id: str, page: OwnerFormPageDep) -> Response:
    by = page.session.principal.name

    def withdraw() -> None:
        if withdraw_invitation(page.runtime, ws, invitation_id[:40], by) is None:
            raise accounts.AccountError("invitation", N_("a pending invitation of this workspace"))

    return _people_action(page, withdraw)


def withdraw_invitation(
    runtime: Runtime, ws: str, invitation_id: str, by: str
) -> accounts.PendingInvitation | None:
    """Withdraw the invitation (its link is refused from now on) and record who did."""
    now = utc_now()
    with runtime.engine.begin() as connection:
        withdrawn = accounts.withdraw_invitation(connection, ws, invitation_id, now)
        if withdrawn is not None:
            audit.record(
                connection,
                ws,
                by,
                "invitation_withdrawn",
                withdrawn.email,
                now,
                role=withdrawn.role,
            )
    return withdrawn


@router.post("/w/{ws}/people/{account_id}")
def change_person(
    ws: str,
    account_id: str,
    page: OwnerFormPageDep,
    role: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """A new role for the person, or ``role=remove`` to take them off the workspace."""
    by = page.session.principal.name
    return _people_action(page, lambda: change_member(page.runtime, ws, account_id[:40], role, by))


def change_member(runtime: Runtime, ws: str, account_id: str, role: str, by: str) -> None:
    """Set the person's role (``remove``: off the workspace); the last owner stays owner."""
    now = utc_now()
    with runtime.engine.begin() as connection:
        found = {m.account_id: m for m in accounts.members(connection, ws)}
        member = found.get(account_id)
        if member is None:
            raise accounts.AccountError("account", N_("a person of this workspace"))
        owners = [m for m in found.values() if m.role == "owner"]
        if member.role == "owner" and role != "owner" and len(owners) == 1:
            # Without an owner only the admin token could manage the workspace's people again.
            raise accounts.AccountError("role", N_("another owner first: the last owner stays"))
        if role == "remove":
            accounts.remove_member(connection, ws, account_id)
        else:
            accounts.set_role(connection, ws, account_id, role, now)
        audit.record(connection, ws, by, "member_changed", member.email, now, role=role)


# -- API: invitations and members --------------------------------------------------------------


class InvitationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320, description="The invitee's address.")
    role: accounts.Role = "viewer"


class InvitationOut(BaseModel):
    workspace: str
    email: str
    role: str
    link: str = Field(description="The invitation link; shown once, valid 7 days.")


class PendingInvitationOut(BaseModel):
    id: str = Field(description="Names the invitation (not its link, which is never shown again).")
    email: str
    role: str
    invited_by: str
    created_at: datetime
    expires_at: datetime


class MemberOut(BaseModel):
    account: str
    email: str
    role: str


@api.post("/invitations", status_code=status.HTTP_201_CREATED, response_model=InvitationOut)
def create_invitation(
    ws: WorkspacePath,
    body: InvitationIn,
    principal: AdminDep,
    runtime: RuntimeDep,
    request: Request,
) -> InvitationOut:
    """Invite a person (the first owner of a workspace is invited this way, with the admin
    token); the link is mailed when account mail is configured, and returned here."""
    try:
        link = send_invitation(
            runtime, public_base(request, runtime), ws, body.email, body.role, principal.name
        )
    except accounts.AccountError as exc:
        raise Invalid.one(["body", exc.field], f"expected {exc}") from exc
    return InvitationOut(workspace=ws, email=body.email.strip().lower(), role=body.role, link=link)


@api.get("/members", response_model=list[MemberOut])
def list_members(
    _admin: AdminDep, ws: ExistingWorkspaceDep, connection: ConnectionDep
) -> list[MemberOut]:
    found = accounts.members(connection, ws)
    return [MemberOut(account=m.account_id, email=m.email, role=m.role) for m in found]


@api.get("/invitations", response_model=list[PendingInvitationOut])
def list_invitations(
    _admin: AdminDep, ws: ExistingWorkspaceDep, connection: ConnectionDep
) -> list[PendingInvitationOut]:
    """The invitations not used, withdrawn or expired yet."""
    found = accounts.pending_invitations(connection, ws, utc_now())
    return [PendingInvitationOut(**vars(i)) for i in found]


@api.delete("/invitations/{invitation_id}", status_code=status.HTTP_204_NO_CONTENT)
def withdraw(
    principal: AdminDep, ws: ExistingWorkspaceDep, invitation_id: str, runtime: RuntimeDep
) -> Response:
    """Withdraw a pending invitation: its link is refused from now on."""
    if withdraw_invitation(runtime, ws, invitation_id[:40], principal.name) is None:
        raise NotFound(f"no pending invitation '{invitation_id}' in workspace '{ws}'")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


router.include_router(oidc_router)
router.include_router(tokens_dashboard_router)
