"""Who is looking at the dashboard, what they may see, and how pages are rendered.

Pages answer with friendly HTML, never JSON errors: no session → redirect to sign-in; another
workspace's page → 403 page; unknown workspace → 404 page.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import jinja2
from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.audit.middleware import PRINCIPAL_KEY
from app.dashboard.sessions import SESSION_COOKIE, Session, find_session, utc_now
from app.deps import WORKSPACE_PATTERN, RuntimeDep
from app.i18n import jinja as i18n_jinja

HERE = Path(__file__).parent
STATIC = HERE / "static"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,  # identifiers come from outside: every template escapes by default
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)
templates = Jinja2Templates(env=_environment)


def _static_version(name: str) -> str:
    path = STATIC / name
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10] if path.exists() else "0"


_VERSIONS = {p.name: _static_version(p.name) for p in STATIC.glob("*") if p.is_file()}


def static_url(name: str) -> str:
    """The URL of a static file, with its content hash so a new release is never stale."""
    return f"/static/{name}?v={_VERSIONS.get(name, '0')}"


def iso(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def trace_href(ws: str, namespace: str, value: str) -> str:
    return f"/w/{quote(ws)}/trace?" + urlencode({"ns": namespace, "id": value})


_environment.globals.update(static_url=static_url, trace_href=trace_href)
_environment.filters.update(iso=iso, urlpath=lambda s: quote(str(s), safe=""))
# gettext in the request's language, and utc_text (the server-side fallback text of a time,
# which the browser rewrites to its own zone) and the other formats in its locale.
i18n_jinja.install(_environment)


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response


def render_fragment(name: str, context: dict[str, Any]) -> str:
    return _environment.get_template(name).render(context)


def _session(request: Request, runtime: RuntimeDep) -> Session | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    with runtime.engine.begin() as connection:  # begin: a token's last use is noted
        return find_session(connection, cookie, runtime.admin_token, utc_now())


MaybeSessionDep = Annotated[Session | None, Depends(_session)]


def _signed_in(request: Request, session: MaybeSessionDep) -> Session:
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        # The app's HTTP error handler keeps the headers: a 303 with Location is a redirect.
        raise HTTPException(303, "sign in first", headers={"Location": signin_url(target)})
    # The audit trail's middleware names who posted a dashboard form from here.
    setattr(request.state, PRINCIPAL_KEY, session.principal)
    return session


SessionDep = Annotated[Session, Depends(_signed_in)]


def signin_url(next_path: str | None = None) -> str:
    if next_path and safe_next(next_path):
        return "/signin?" + urlencode({"next": next_path})
    return "/signin"


def safe_next(target: str | None) -> str | None:
    """A same-site path to return to after sign-in; anything else (other hosts) is dropped."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target if len(target) <= 2000 else None


def home_of(session: Session) -> str:
    ws = session.principal.workspace_id
    return "/workspaces" if ws is None else f"/w/{ws}"


_WORKSPACE = re.compile(WORKSPACE_PATTERN)


def valid_workspace_id(ws: str) -> bool:
    return bool(_WORKSPACE.match(ws))
