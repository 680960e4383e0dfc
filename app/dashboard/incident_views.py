"""The incident pages: the list, one incident, and its acknowledge and note forms.

Forms post the session's CSRF token and redirect back to the incident (post/redirect/get).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import Response

from app.dashboard import incidents
from app.dashboard.access import SessionDep, render
from app.dashboard.pages import FormScopeDep, ScopeDep, page_context, see_other
from app.dashboard.service import Scope
from app.dashboard.sessions import Session, utc_now
from app.deps import RuntimeDep
from app.i18n import gettext as _
from app.runtime import Runtime

router = APIRouter(include_in_schema=False)

StatusParam = Annotated[str, Query(max_length=20)]
NameField = Annotated[str, Form(max_length=200)]


def _incident_id(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 19 else None


def _not_found(request: Request, session: Session, scope: Scope, incident: str) -> Response:
    context = page_context(
        session,
        scope,
        "incidents",
        title=_("No such incident"),
        message=_("This workspace has no incident “%(incident)s”.") % {"incident": incident},
    )
    return render(request, "problem.html", context, 404)


@router.get("/w/{ws}/incidents")
def incident_list(
    request: Request,
    ws: str,
    session: SessionDep,
    runtime: RuntimeDep,
    scope: ScopeDep,
    status: StatusParam = "open",
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    shown = status if status in incidents.STATUS_FILTERS else "open"
    listed = incidents.incident_list(runtime, ws, shown, cursor)
    context = page_context(
        session, scope, "incidents", listed=listed, filters=incidents.STATUS_FILTERS
    )
    return render(request, "incidents.html", context)


def _detail_page(
    request: Request,
    session: Session,
    runtime: Runtime,
    scope: Scope,
    incident: str,
    *,
    error: str | None = None,
    note: str = "",
) -> Response:
    incident_id = _incident_id(incident)
    detail = None
    if incident_id is not None:
        detail = incidents.incident_detail(runtime, scope.workspace.id, incident_id)
    if detail is None:
        return _not_found(request, session, scope, incident)
    context = page_context(
        session,
        scope,
        "incidents",
        detail=detail,
        record=detail.record,
        suspect_path=incidents.incident_suspect_path(detail.record),
        suspect_query=incidents.suspect_query(detail.record),
        error=error,
        note=note,
    )
    return render(request, "incident.html", context, 422 if error else 200)


@router.get("/w/{ws}/incidents/{incident}")
def incident_detail(
    request: Request, incident: str, session: SessionDep, runtime: RuntimeDep, scope: ScopeDep
) -> Response:
    return _detail_page(request, session, runtime, scope, incident)


@dataclass(frozen=True)
class _Posted:
    """A form posted about one incident: by whom, in which workspace, about which incident."""

    request: Request
    session: Session
    scope: Scope
    runtime: Runtime
    ws: str
    incident: str

    def act(self, anchor: str, action: Callable[[int], bool]) -> Response:
        """Run ``action`` on the incident (False: no such incident, the 404 page), then
        redirect back to the incident at ``anchor``."""
        incident_id = _incident_id(self.incident)
        done = incident_id is not None and action(incident_id)
        if not done:
            return _not_found(self.request, self.session, self.scope, self.incident)
        return see_other(f"/w/{self.ws}/incidents/{incident_id}#{anchor}")


def _posted(
    request: Request,
    ws: str,
    incident: str,
    session: SessionDep,
    runtime: RuntimeDep,
    scope: FormScopeDep,
) -> _Posted:
    return _Posted(request, session, scope, runtime, ws, incident)


PostedDep = Annotated[_Posted, Depends(_posted)]


@router.post("/w/{ws}/incidents/{incident}/acknowledge")
def acknowledge(posted: PostedDep, by: NameField = "") -> Response:
    principal = posted.session.principal
    signer = incidents.who(principal, by)
    return posted.act(
        "acknowledged",
        lambda incident_id: incidents.acknowledge(
            posted.runtime, posted.ws, incident_id, signer, utc_now(), principal.name
        ),
    )


@router.post("/w/{ws}/incidents/{incident}/notes")
def add_note(
    posted: PostedDep,
    text: Annotated[str, Form(max_length=20000)] = "",
    author: NameField = "",
) -> Response:
    written = text.strip()
    request, session, runtime, scope = posted.request, posted.session, posted.runtime, posted.scope
    if not written or len(written) > 10000:
        error = _("Write the note first.") if not written else _("A note holds 10,000 characters.")
        return _detail_page(
            request, session, runtime, scope, posted.incident, error=error, note=text[:10000]
        )
    signer = incidents.who(session.principal, author)
    return posted.act(
        "notes",
        lambda incident_id: incidents.add_note(
            runtime, posted.ws, incident_id, signer, written, utc_now(), session.principal.name
        ),
    )
