"""The dashboard's routes: sign-in and out, workspace list, overview, suspect, trace, stock.

Thin handlers: page data comes from ``service``/``suspects``/``traces``, sessions from
``sessions``, rendering and access rules from ``access``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from app.auth.service import authenticate
from app.dashboard import service, suspects, traces
from app.dashboard.access import (
    SECURITY_HEADERS,
    MaybeSessionDep,
    SessionDep,
    home_of,
    render,
    render_fragment,
    safe_next,
    templates,
    trace_href,
    valid_workspace_id,
)
from app.dashboard.layout import LABEL_WIDTH
from app.dashboard.sessions import (
    SESSION_COOKIE,
    SESSION_LIFETIME,
    SIGNIN_COOKIE,
    Session,
    close_session,
    new_secret,
    open_session,
    tokens_match,
    utc_now,
)
from app.deps import RuntimeDep
from app.runtime import Runtime

router = APIRouter(include_in_schema=False)
templates.env.globals["suspect_path"] = service.suspect_path
templates.env.globals["label_width"] = LABEL_WIDTH

WINDOWS = {3600: "1 hour", 6 * 3600: "6 hours", 86400: "24 hours", 7 * 86400: "7 days"}
DEFAULT_WINDOW = 86400
AsOfParam = Annotated[str | None, Query(max_length=64)]
WindowParam = Annotated[int | None, Query(ge=60, le=90 * 86400)]


def dashboard_static() -> StaticFiles:
    """The dashboard's CSS and JavaScript, served from the package, mounted at ``/static``."""
    return StaticFiles(packages=[("app.dashboard", "static")])


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _redirect(url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    response.headers.update(SECURITY_HEADERS)
    return response


def _moment(as_of: str | None) -> tuple[datetime, bool]:
    """The page's moment and whether it is live; an unreadable or naive as_of means now."""
    if as_of:
        try:
            moment = datetime.fromisoformat(as_of.strip().replace(" ", "+"))
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment.astimezone(UTC), False
    return datetime.now(UTC), True


def _replay_query(scope: service.Scope) -> str:
    params: dict[str, str] = {}
    if not scope.live:
        params["as_of"] = scope.as_of.isoformat().replace("+00:00", "Z")
    if scope.window_seconds != DEFAULT_WINDOW:
        params["window"] = str(int(scope.window_seconds))
    return urlencode(params)


def _problem_page(
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


async def _scope(
    request: Request,
    session: Session,
    runtime: Runtime,
    ws: str,
    as_of: str | None,
    window: int | None,
) -> service.Scope | HTMLResponse:
    if not valid_workspace_id(ws):
        message = f"“{ws}” is not a workspace id."
        return _problem_page(request, session, 404, "No such workspace", message)
    if not session.principal.may_access(ws):
        return _problem_page(
            request,
            session,
            403,
            "Not your workspace",
            "You signed in with another workspace's token. Sign out and sign in with a token "
            "of this workspace (or the admin token) to see it.",
        )
    moment, live = _moment(as_of)
    scope = await run_in_threadpool(
        service.load_scope, runtime, ws, moment, float(window or DEFAULT_WINDOW), live=live
    )
    if scope is None:
        return _problem_page(
            request, session, 404, "No such workspace", f"There is no workspace “{ws}”."
        )
    return scope


def _context(session: Session, scope: service.Scope, nav: str, **extra: Any) -> dict[str, Any]:
    return {
        "session": session,
        "csrf": session.csrf_token,
        "ws": scope.workspace,
        "scope": scope,
        "nav": nav,
        "replay": _replay_query(scope),
        "windows": WINDOWS,
        **extra,
    }


# -- signing in and out ------------------------------------------------------------------------


@router.get("/")
def home(session: MaybeSessionDep) -> RedirectResponse:
    return _redirect("/signin" if session is None else home_of(session))


@router.get("/signin")
def signin_form(
    request: Request, session: MaybeSessionDep, next: Annotated[str | None, Query()] = None
) -> Response:
    if session is not None:
        return _redirect(safe_next(next) or home_of(session))
    return _signin_page(request, next, None, 200)


def _signin_page(
    request: Request, next_path: str | None, error: str | None, status: int
) -> Response:
    # Login CSRF: the form echoes a random value that only this browser holds in a cookie.
    csrf = new_secret()
    context = {
        "session": None,
        "ws": None,
        "csrf": csrf,
        "next": safe_next(next_path),
        "error": error,
    }
    response = render(request, "signin.html", context, status)
    response.set_cookie(
        SIGNIN_COOKIE,
        csrf,
        max_age=3600,
        path="/signin",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    return response


@router.post("/signin")
async def signin(
    request: Request,
    runtime: RuntimeDep,
    token: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    if not tokens_match(request.cookies.get(SIGNIN_COOKIE), csrf):
        return _signin_page(request, next, "The form expired. Please sign in again.", 403)
    presented = token.strip()

    def start() -> tuple[str, Session] | None:
        with runtime.engine.begin() as connection:
            if not presented:
                return None
            principal = authenticate(connection, presented, runtime.admin_token)
            if principal is None:
                return None
            return open_session(connection, principal, presented, utc_now())

    opened = await run_in_threadpool(start)
    if opened is None:
        return _signin_page(request, next, "That token is not valid.", 401)
    session_id, session = opened
    response = _redirect(safe_next(next) or home_of(session))
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    response.delete_cookie(SIGNIN_COOKIE, path="/signin")
    return response


@router.post("/signout")
async def signout(
    request: Request,
    runtime: RuntimeDep,
    session: MaybeSessionDep,
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    if session is None:
        return _redirect("/signin")
    if not tokens_match(csrf, session.csrf_token):
        return _problem_page(
            request, session, 403, "Request refused", "The form was not sent from this session."
        )

    def close() -> None:
        with runtime.engine.begin() as connection:
            close_session(connection, request.cookies.get(SESSION_COOKIE))

    await run_in_threadpool(close)
    response = _redirect("/signin")
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


# -- pages ---------------------------------------------------------------------------------


@router.get("/workspaces")
async def workspace_list(request: Request, session: SessionDep, runtime: RuntimeDep) -> Response:
    if not session.principal.is_admin:
        return _redirect(home_of(session))
    found = await run_in_threadpool(service.workspaces, runtime)
    context = {"session": session, "csrf": session.csrf_token, "ws": None, "workspaces": found}
    return render(request, "workspaces.html", context)


@router.get("/w/{ws}")
async def overview(
    request: Request,
    ws: str,
    session: SessionDep,
    runtime: RuntimeDep,
    as_of: AsOfParam = None,
    window: WindowParam = None,
) -> Response:
    scope = await _scope(request, session, runtime, ws, as_of, window)
    if isinstance(scope, Response):
        return scope
    page = await run_in_threadpool(service.overview, runtime, scope)
    return render(request, "overview.html", _context(session, scope, "overview", page=page))


@router.get("/w/{ws}/live")
async def overview_live(
    request: Request,
    ws: str,
    session: SessionDep,
    runtime: RuntimeDep,
    as_of: AsOfParam = None,
    window: WindowParam = None,
) -> Response:
    """The overview's live panels as HTML fragments, for the page's polling script."""
    scope = await _scope(request, session, runtime, ws, as_of, window)
    if isinstance(scope, Response):
        return JSONResponse({"detail": "not available"}, scope.status_code)
    page = await run_in_threadpool(service.overview, runtime, scope)
    context = _context(session, scope, "overview", page=page)
    body = {
        "as_of": scope.as_of.isoformat().replace("+00:00", "Z"),
        "links": {e.key: e.status for f in page.flows for e in f.edges},
        "html": {
            "banner": render_fragment("_banner.html", context),
            "flows": render_fragment("_flows.html", context),
            "side": render_fragment("_side.html", context),
        },
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


def _split_suspect(rest: str) -> tuple[str, str]:
    for suffix in ("/report.md", "/report", "/chart"):
        if rest.endswith(suffix):
            return rest[: -len(suffix)], suffix[1:]
    return rest, ""


@router.get("/w/{ws}/suspects/{rest:path}")
async def suspect(
    request: Request,
    ws: str,
    rest: str,
    session: SessionDep,
    runtime: RuntimeDep,
    as_of: AsOfParam = None,
    window: WindowParam = None,
) -> Response:
    scope = await _scope(request, session, runtime, ws, as_of, window)
    if isinstance(scope, Response):
        return scope
    path, view = _split_suspect(rest.strip("/"))
    found = await run_in_threadpool(suspects.find_suspect, runtime, scope, path)
    if found is None:
        return render(
            request,
            "problem.html",
            _context(
                session,
                scope,
                "overview",
                title="Nothing suspected here",
                message="This link is not suspected at this moment: the failure may have "
                "cleared, or the window no longer covers it.",
            ),
            404,
        )
    base = str(request.base_url).rstrip("/")

    def absolute_trace(namespace: str, value: str) -> str:
        return base + trace_href(scope.workspace.id, namespace, value)

    if view == "report.md":
        text = suspects.markdown(found, scope, absolute_trace)
        filename = f"arbiter-{scope.workspace.id}-{path.replace('/', '-')}.md"
        return PlainTextResponse(
            text,
            media_type="text/markdown; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                **SECURITY_HEADERS,
            },
        )
    if view == "chart":
        buckets = await run_in_threadpool(suspects.series, runtime, scope, found)
        html = render_fragment("_chart.html", {"chart": suspects.chart(buckets)})
        return HTMLResponse(html, headers=SECURITY_HEADERS)
    context = _context(
        session,
        scope,
        "overview",
        suspect=found,
        path=path,
        title=suspects.title(found),
        sentence=suspects.sentence(found),
        absolute_trace=absolute_trace,
    )
    template = "report.html" if view == "report" else "suspect.html"
    return render(request, template, context)


@router.get("/w/{ws}/trace")
async def trace(
    request: Request,
    ws: str,
    session: SessionDep,
    runtime: RuntimeDep,
    q: Annotated[str | None, Query(max_length=traces.MAX_QUERY)] = None,
    ns: Annotated[str | None, Query(max_length=100)] = None,
    id: Annotated[str | None, Query(max_length=200)] = None,
    as_of: AsOfParam = None,
    window: WindowParam = None,
) -> Response:
    scope = await _scope(request, session, runtime, ws, as_of, window)
    if isinstance(scope, Response):
        return scope
    view = None
    matches: list[Any] = []
    if ns and id:
        view = await run_in_threadpool(traces.trace_view, runtime, scope, ns, id)
    elif q and q.strip():
        matches = await run_in_threadpool(traces.search, runtime, scope, q)
        if len(matches) == 1:
            query = {"ns": matches[0].namespace, "id": matches[0].value}
            extra = _replay_query(scope)
            return _redirect(f"/w/{ws}/trace?{urlencode(query)}" + (f"&{extra}" if extra else ""))
    context = _context(session, scope, "trace", view=view, matches=matches, q=q or "", ns=ns, id=id)
    status = 404 if (ns and id and view is None) or (q and not matches) else 200
    return render(request, "trace.html", context, status)


@router.get("/w/{ws}/stock")
async def stock(
    request: Request,
    ws: str,
    session: SessionDep,
    runtime: RuntimeDep,
    as_of: AsOfParam = None,
    window: WindowParam = None,
) -> Response:
    scope = await _scope(request, session, runtime, ws, as_of, window)
    if isinstance(scope, Response):
        return scope
    drift, columns, problem = await run_in_threadpool(service.stock, runtime, scope)
    context = _context(session, scope, "stock", drift=drift, columns=columns, problem=problem)
    return render(request, "stock.html", context)
