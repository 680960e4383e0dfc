"""What every page route shares: its scope (workspace, moment, window), redirects, problem pages.

The route modules (``views``, ``incident_views``, ``report_views``) stay thin by leaning on
these: a route declares its page (:data:`PageDep`, :data:`FormPageDep`...: the request, session,
runtime and scope its helpers pass on as one :class:`Page`), renders its template with
:meth:`Page.render` (:func:`page_context`), and redirects after a form with :func:`see_other`.
A scope that may not be had raises :class:`PageRefused`, answered with the friendly 403/404 page
by :func:`install`'s handler: no route checks what it was given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from app.dashboard import service
from app.dashboard.access import SECURITY_HEADERS, SessionDep, render, valid_workspace_id
from app.dashboard.sessions import (
    SESSION_COOKIE,
    SESSION_LIFETIME,
    SIGNIN_COOKIE,
    Session,
    new_secret,
    tokens_match,
)
from app.deps import RuntimeDep
from app.events.models import within_range
from app.i18n import gettext as _
from app.runtime import Runtime

WINDOWS = {3600: "1 hour", 6 * 3600: "6 hours", 86400: "24 hours", 7 * 86400: "7 days"}
DEFAULT_WINDOW = 86400
AsOfParam = Annotated[str | None, Query(max_length=64)]
WindowParam = Annotated[int | None, Query(ge=60, le=90 * 86400)]


def is_secure(request: Request) -> bool:
    return request.url.scheme == "https"


def public_base(request: Request, runtime: Runtime) -> str:
    """The address people reach the service at, for links sent away (mails, vendor links)."""
    return (runtime.settings.public_url or str(request.base_url)).rstrip("/")


def see_other(url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    response.headers.update(SECURITY_HEADERS)
    return response


def moment_of(as_of: str | None) -> tuple[datetime, bool]:
    """The page's moment and whether it is live; an unreadable or naive as_of means now."""
    if as_of:
        try:
            moment = within_range(datetime.fromisoformat(as_of.strip().replace(" ", "+")))
        except ValueError:  # unreadable, or outside what the store holds
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment.astimezone(UTC), False
    return datetime.now(UTC), True


def replay_query(scope: service.Scope) -> str:
    params: dict[str, str] = {}
    if not scope.live:
        params["as_of"] = scope.as_of.isoformat().replace("+00:00", "Z")
    if scope.window_seconds != DEFAULT_WINDOW:
        params["window"] = str(int(scope.window_seconds))
    return urlencode(params)


class PageRefused(Exception):
    """A page that is answered instead of the one asked for: its status, title and message."""

    def __init__(self, session: Session | None, status: int, title: str, message: str) -> None:
        super().__init__(title)
        self.session = session
        self.status = status
        self.title = title
        self.message = message


class SentBack(Exception):
    """A form that is answered by sending the browser back to ``url`` (303)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


def install(app: FastAPI) -> None:
    """Answer a :class:`PageRefused` with its friendly page, a :class:`SentBack` with its
    redirect."""

    async def refused_page(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageRefused)
        if getattr(request.state, "refusals_as_json", False):
            return JSONResponse({"detail": "not available"}, exc.status)
        return problem_page(request, exc.session, exc.status, exc.title, exc.message)

    async def sent_back(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SentBack)
        return see_other(exc.url)

    app.add_exception_handler(PageRefused, refused_page)
    app.add_exception_handler(SentBack, sent_back)


def refusals_as_json(request: Request) -> None:
    """A route dependency for what a script reads (the overview's live panels): a refused
    scope is answered ``{"detail": "not available"}`` with its status instead of a page."""
    request.state.refusals_as_json = True


def problem_page(
    request: Request, session: Session | None, status: int, title: str, message: str
) -> HTMLResponse:
    context = {
        "session": session,
        "csrf": session.csrf_token if session else "",
        "title": title,
        "message": message,
        "ws": None,
    }
    return render(request, "problem.html", context, status)


def page_scope(
    request: Request,
    ws: str,
    session: SessionDep,
    runtime: RuntimeDep,
    as_of: AsOfParam = None,
    window: WindowParam = None,
) -> service.Scope:
    """The scope of a workspace page, at the ``as_of`` moment over the ``window`` of the query;
    :class:`PageRefused` when it may not be had."""
    if not valid_workspace_id(ws):
        message = _("“%(ws)s” is not a workspace id.") % {"ws": ws}
        raise PageRefused(session, 404, _("No such workspace"), message)
    if not session.principal.may_access(ws):
        raise PageRefused(
            session,
            403,
            _("Not your workspace"),
            _(
                "You signed in with another workspace's token. Sign out and sign in with a token "
                "of this workspace (or the admin token) to see it."
            ),
        )
    if request.method == "POST":
        # Every form of a workspace changes something: a viewer's is refused here, whichever
        # page it belongs to (status page updates, maintenance, acknowledgements...).
        _require_role(session, ws, "operator")
    moment, live = moment_of(as_of)
    scope = service.load_scope(runtime, ws, moment, float(window or DEFAULT_WINDOW), live=live)
    if scope is None:
        message = _("There is no workspace “%(ws)s”.") % {"ws": ws}
        raise PageRefused(session, 404, _("No such workspace"), message)
    return scope


def _live_scope(
    request: Request, ws: str, session: SessionDep, runtime: RuntimeDep
) -> service.Scope:
    return page_scope(request, ws, session, runtime)


ScopeDep = Annotated[service.Scope, Depends(_live_scope)]
"""The live scope of the ``{ws}`` page (:func:`page_scope`)."""
ReplayScopeDep = Annotated[service.Scope, Depends(page_scope)]
"""As :data:`ScopeDep`, at the ``as_of`` moment over the ``window`` of the query."""


def _form_session(
    request: Request, session: SessionDep, csrf: Annotated[str, Form(max_length=200)] = ""
) -> Session:
    if not tokens_match(csrf, session.csrf_token):
        raise _refusal(session)
    return session


FormSessionDep = Annotated[Session, Depends(_form_session)]
"""The session of a form that posted this session's CSRF token (else the 403 page)."""


@dataclass(frozen=True)
class Page:
    """A workspace page being answered: what its route and the route's helpers pass around
    (the request, the session, the runtime and the page's scope)."""

    request: Request
    session: Session
    runtime: Runtime
    scope: service.Scope

    @property
    def ws(self) -> str:
        return self.scope.workspace.id

    def render(self, template: str, nav: str, status: int = 200, **extra: Any) -> HTMLResponse:
        """The page's template with :func:`page_context` and the page's own ``extra``."""
        context = page_context(self.session, self.scope, nav, **extra)
        return render(self.request, template, context, status)

    def form(self, template: str, nav: str, error: str | None, **extra: Any) -> HTMLResponse:
        """A page with a form: 422 with the ``error`` shown when the form was refused."""
        return self.render(template, nav, 422 if error else 200, error=error, **extra)


def _page(request: Request, session: SessionDep, runtime: RuntimeDep, scope: ScopeDep) -> Page:
    return Page(request, session, runtime, scope)


PageDep = Annotated[Page, Depends(_page)]
"""The ``{ws}`` page of :data:`ScopeDep`, with its request, session and runtime."""


def _replay_page(
    request: Request, session: SessionDep, runtime: RuntimeDep, scope: ReplayScopeDep
) -> Page:
    return Page(request, session, runtime, scope)


ReplayPageDep = Annotated[Page, Depends(_replay_page)]
"""As :data:`PageDep`, at the ``as_of`` moment over the ``window`` of the query
(:data:`ReplayScopeDep`)."""


def _form_page(_session: FormSessionDep, page: PageDep) -> Page:
    return page


FormPageDep = Annotated[Page, Depends(_form_page)]
"""The page of a workspace form: its CSRF token checked first, then the scope, whose
:func:`page_scope` refuses a viewer's post."""


def _require_role(session: Session, ws: str, role: str) -> None:
    if session.principal.may(ws, role):
        return
    if role == "owner":
        raise PageRefused(
            session, 403, _("Owners only"), _("Only an owner of this workspace manages it.")
        )
    raise PageRefused(
        session,
        403,
        _("Viewers only read"),
        _(
            "Your role in this workspace is viewer: acknowledging, notes and changes need an "
            "operator or owner. Ask an owner of the workspace for another role."
        ),
    )


def _operator_page(page: PageDep) -> Page:
    _require_role(page.session, page.ws, "operator")
    return page


OperatorPageDep = Annotated[Page, Depends(_operator_page)]
"""The page of :data:`PageDep` for the workspace's operators and owners (a viewer gets the 403
page)."""


def _owner_page(page: PageDep) -> Page:
    _require_role(page.session, page.ws, "owner")
    return page


OwnerPageDep = Annotated[Page, Depends(_owner_page)]
"""The page of :data:`PageDep` for the workspace's owners (anyone else gets the 403 page)."""


def _owner_form_page(_session: FormSessionDep, page: OwnerPageDep) -> Page:
    return page


OwnerFormPageDep = Annotated[Page, Depends(_owner_form_page)]
"""The page of an owners' form: its CSRF token checked first, then the owner's role."""


def _refusal(session: Session) -> PageRefused:
    return PageRefused(
        session, 403, _("Request refused"), _("The form was not sent from this session.")
    )


def refused(request: Request, session: Session) -> HTMLResponse:
    """The 403 page for a form whose CSRF token is not this session's."""
    refusal = _refusal(session)
    return problem_page(request, session, refusal.status, refusal.title, refusal.message)


def _from_public_form(request: Request, csrf: Annotated[str, Form(max_length=200)] = "") -> bool:
    return tokens_match(request.cookies.get(SIGNIN_COOKIE), csrf)


FromPublicFormDep = Annotated[bool, Depends(_from_public_form)]
"""Whether a visitor's form (sign-in, invitation, reset) was posted from the page this browser
was given (:func:`public_form_page`): its ``csrf`` field matches the browser's cookie."""


def public_form(request: Request, from_form: FromPublicFormDep) -> None:
    """A route dependency for a visitor's form (invitation, reset) that sends a post not made
    from the page this browser was given (:data:`FromPublicFormDep`) back to that page."""
    if not from_form:
        raise SentBack(request.url.path)


def public_form_page(
    request: Request, name: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    """A form page of a visitor without a session (sign-in, invitation, reset). Login CSRF:
    the form echoes a random value that only this browser holds, in a cookie under /signin."""
    csrf = new_secret()
    page = render(request, name, {"session": None, "ws": None, "csrf": csrf, **context}, status)
    page.set_cookie(
        SIGNIN_COOKIE,
        csrf,
        max_age=3600,
        path="/signin",
        httponly=True,
        samesite="strict",
        secure=is_secure(request),
    )
    return page


def signed_in_redirect(request: Request, target: str, session_id: str) -> RedirectResponse:
    """The redirect after a sign-in, setting the session cookie (and dropping the form's)."""
    response = see_other(target)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_secure(request),
    )
    response.delete_cookie(SIGNIN_COOKIE, path="/signin")
    return response


def page_context(session: Session, scope: service.Scope, nav: str, **extra: Any) -> dict[str, Any]:
    return {
        "session": session,
        "csrf": session.csrf_token,
        "ws": scope.workspace,
        "scope": scope,
        "nav": nav,
        "replay": replay_query(scope),
        "windows": WINDOWS,
        **extra,
    }
