"""The dashboard's routes: sign-in and out, workspace list, overview, suspect, trace, stock.

Thin handlers: page data comes from ``service``/``suspects``/``traces``, sessions from
``sessions``, rendering and access rules from ``access``, what every page shares from
``pages``. The incident pages (``incident_views``) and the SLA report (``report_views``) are
routers of their own, included here.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from app.accounts.overview import overview as shop_overview
from app.audit import service as audit
from app.auth import throttle
from app.auth.service import authenticate
from app.dashboard import (
    incident_views,
    incidents,
    report_views,
    reports,
    service,
    suspects,
    traces,
)
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
)
from app.dashboard.layout import LABEL_WIDTH
from app.dashboard.pages import (
    FromPublicFormDep,
    ReplayPageDep,
    page_context,
    public_form_page,
    refusals_as_json,
    refused,
    replay_query,
    see_other,
    signed_in_redirect,
)
from app.dashboard.sessions import (
    SESSION_COOKIE,
    close_session,
    open_session,
    tokens_match,
    utc_now,
)
from app.deps import ConnectionDep, RuntimeDep
from app.i18n import gettext
from app.runtime import Runtime

router = APIRouter(include_in_schema=False)
router.include_router(incident_views.router)
router.include_router(report_views.router)
templates.env.globals["suspect_path"] = service.suspect_path
templates.env.globals["label_width"] = LABEL_WIDTH
templates.env.globals["incident_suspect_path"] = incidents.incident_suspect_path
templates.env.filters["duration"] = incidents.duration


def dashboard_static() -> StaticFiles:
    """The dashboard's CSS and JavaScript, served from the package, mounted at ``/static``."""
    return StaticFiles(packages=[("app.dashboard", "static")])


# -- signing in and out ------------------------------------------------------------------------


@router.get("/")
def home(session: MaybeSessionDep) -> RedirectResponse:
    return see_other("/signin" if session is None else home_of(session))


@router.get("/signin")
def signin_form(
    request: Request, session: MaybeSessionDep, next: Annotated[str | None, Query()] = None
) -> Response:
    if session is not None:
        return see_other(safe_next(next) or home_of(session))
    return _signin_page(request, next, None, 200)


def _signin_page(
    request: Request, next_path: str | None, error: str | None, status: int
) -> Response:
    context = {"next": safe_next(next_path), "error": error}
    return public_form_page(request, "signin.html", context, status)


@router.post("/signin")
def signin(
    request: Request,
    connection: ConnectionDep,
    runtime: RuntimeDep,
    from_form: FromPublicFormDep,
    token: Annotated[str, Form(max_length=500)] = "",
    next: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    if not from_form:
        return _signin_page(request, next, gettext("The form expired. Please sign in again."), 403)
    message = gettext("Too many failed sign-ins. Try again later.")
    refused = throttle.refusal(request, lambda: _signin_page(request, next, message, 429))
    if refused is not None:
        return refused
    presented = token.strip()
    principal = authenticate(connection, presented, runtime.admin_token) if presented else None
    if principal is None:
        throttle.failed(request)
        return _signin_page(request, next, gettext("That token is not valid."), 401)
    now = utc_now()
    actor = principal.name
    audit.record(connection, principal.workspace_id, actor, "signed_in", actor, now, via="token")
    session_id, session = open_session(connection, principal, presented, now)
    return signed_in_redirect(request, safe_next(next) or home_of(session), session_id)


@router.post("/signout")
def signout(
    request: Request,
    connection: ConnectionDep,
    session: MaybeSessionDep,
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    if session is None:
        return see_other("/signin")
    if not tokens_match(csrf, session.csrf_token):
        return refused(request, session)
    close_session(connection, request.cookies.get(SESSION_COOKIE))
    response = see_other("/signin")
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


# -- pages ---------------------------------------------------------------------------------


@router.get("/workspaces")
def workspace_list(request: Request, session: SessionDep, runtime: RuntimeDep) -> Response:
    principal = session.principal
    if not principal.is_admin and principal.account_id is None:
        return see_other(home_of(session))
    found = shop_overview(runtime, principal.workspaces, dict(principal.roles))
    context = {"session": session, "csrf": session.csrf_token, "ws": None, "workspaces": found}
    return render(request, "workspaces.html", context)


@router.get("/w/{ws}")
def overview(page: ReplayPageDep) -> Response:
    return page.render("overview.html", "overview", **_overview(page.runtime, page.scope))


def _overview(runtime: Runtime, scope: service.Scope) -> dict[str, Any]:
    """The overview's data: the flows and suspects, the open incidents, the warnings."""
    return {
        "page": service.overview(runtime, scope),
        "open_incidents": incidents.open_incidents(runtime, scope.workspace.id),
        "warned": reports.warnings(runtime, scope),
    }


@router.get("/w/{ws}/live", dependencies=[Depends(refusals_as_json)])
def overview_live(page: ReplayPageDep) -> Response:
    """The overview's live panels as HTML fragments, for the page's polling script."""
    shown = _overview(page.runtime, page.scope)
    context = page_context(page.session, page.scope, "overview", **shown)
    body = {
        "as_of": page.scope.as_of.isoformat().replace("+00:00", "Z"),
        "links": {e.key: e.status for f in shown["page"].flows for e in f.edges},
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
def suspect(rest: str, page: ReplayPageDep) -> Response:
    runtime, scope = page.runtime, page.scope
    path, view = _split_suspect(rest.strip("/"))
    found = suspects.find_suspect(runtime, scope, path)
    if found is None:
        return page.render(
            "problem.html",
            "overview",
            404,
            title=gettext("Nothing suspected here"),
            message=gettext(
                "This link is not suspected at this moment: the failure may have "
                "cleared, or the window no longer covers it."
            ),
        )
    base = str(page.request.base_url).rstrip("/")

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
        buckets = suspects.series(runtime, scope, found)
        html = render_fragment("_chart.html", {"chart": suspects.chart(buckets)})
        return HTMLResponse(html, headers=SECURITY_HEADERS)
    return page.render(
        "report.html" if view == "report" else "suspect.html",
        "overview",
        suspect=found,
        path=path,
        title=suspects.title(found),
        sentence=suspects.sentence(found),
        absolute_trace=absolute_trace,
    )


@router.get("/w/{ws}/trace")
def trace(
    ws: str,
    page: ReplayPageDep,
    q: Annotated[str | None, Query(max_length=traces.MAX_QUERY)] = None,
    ns: Annotated[str | None, Query(max_length=100)] = None,
    id: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    runtime, scope = page.runtime, page.scope
    view = None
    matches: list[Any] = []
    if ns and id:
        view = traces.trace_view(runtime, scope, ns, id)
    elif q and q.strip():
        matches = traces.search(runtime, scope, q)
        if len(matches) == 1:
            query = {"ns": matches[0].namespace, "id": matches[0].value}
            extra = replay_query(scope)
            return see_other(f"/w/{ws}/trace?{urlencode(query)}" + (f"&{extra}" if extra else ""))
    status = 404 if (ns and id and view is None) or (q and not matches) else 200
    return page.render(
        "trace.html", "trace", status, view=view, matches=matches, q=q or "", ns=ns, id=id
    )


@router.get("/w/{ws}/stock")
def stock(page: ReplayPageDep) -> Response:
    drift, columns, problem = service.stock(page.runtime, page.scope)
    return page.render("stock.html", "stock", drift=drift, columns=columns, problem=problem)
