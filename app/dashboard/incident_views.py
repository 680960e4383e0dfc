"""The incident pages: the list, one incident, and its acknowledge and note forms.

Forms post the session's CSRF token and redirect back to the incident (post/redirect/get).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query
from starlette.responses import Response

from app.dashboard import incidents
from app.dashboard.pages import FormPageDep, Page, PageDep, see_other
from app.dashboard.sessions import utc_now
from app.i18n import gettext as _

router = APIRouter(include_in_schema=False)

StatusParam = Annotated[str, Query(max_length=20)]
NameField = Annotated[str, Form(max_length=200)]


def _incident_id(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 19 else None


def _not_found(page: Page, incident: str) -> Response:
    return page.render(
        "problem.html",
        "incidents",
        404,
        title=_("No such incident"),
        message=_("This workspace has no incident “%(incident)s”.") % {"incident": incident},
    )


@router.get("/w/{ws}/incidents")
def incident_list(
    page: PageDep,
    status: StatusParam = "open",
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    shown = status if status in incidents.STATUS_FILTERS else "open"
    listed = incidents.incident_list(page.runtime, page.ws, shown, cursor)
    return page.render(
        "incidents.html", "incidents", listed=listed, filters=incidents.STATUS_FILTERS
    )


def _detail_page(
    page: Page, incident: str, *, error: str | None = None, note: str = ""
) -> Response:
    incident_id = _incident_id(incident)
    detail = None
    if incident_id is not None:
        detail = incidents.incident_detail(page.runtime, page.ws, incident_id)
    if detail is None:
        return _not_found(page, incident)
    return page.form(
        "incident.html",
        "incidents",
        error,
        detail=detail,
        record=detail.record,
        suspect_path=incidents.incident_suspect_path(detail.record),
        suspect_query=incidents.suspect_query(detail.record),
        note=note,
    )


@router.get("/w/{ws}/incidents/{incident}")
def incident_detail(incident: str, page: PageDep) -> Response:
    return _detail_page(page, incident)


@dataclass(frozen=True)
class _Posted:
    """A form posted about one incident: its page (by whom, in which workspace) and which."""

    page: Page
    incident: str

    def act(self, anchor: str, action: Callable[[int], bool]) -> Response:
        """Run ``action`` on the incident (False: no such incident, the 404 page), then
        redirect back to the incident at ``anchor``."""
        incident_id = _incident_id(self.incident)
        done = incident_id is not None and action(incident_id)
        if not done:
            return _not_found(self.page, self.incident)
        return see_other(f"/w/{self.page.ws}/incidents/{incident_id}#{anchor}")


def _posted(incident: str, page: FormPageDep) -> _Posted:
    return _Posted(page, incident)


PostedDep = Annotated[_Posted, Depends(_posted)]


@router.post("/w/{ws}/incidents/{incident}/acknowledge")
def acknowledge(posted: PostedDep, by: NameField = "") -> Response:
    page = posted.page
    principal = page.session.principal
    signer = incidents.who(principal, by)
    return posted.act(
        "acknowledged",
        lambda incident_id: incidents.acknowledge(
            page.runtime, page.ws, incident_id, signer, utc_now(), principal.name
        ),
    )


@router.post("/w/{ws}/incidents/{incident}/notes")
def add_note(
    posted: PostedDep,
    text: Annotated[str, Form(max_length=20000)] = "",
    author: NameField = "",
) -> Response:
    written = text.strip()
    page = posted.page
    if not written or len(written) > 10000:
        error = _("Write the note first.") if not written else _("A note holds 10,000 characters.")
        return _detail_page(page, posted.incident, error=error, note=text[:10000])
    principal = page.session.principal
    signer = incidents.who(principal, author)
    return posted.act(
        "notes",
        lambda incident_id: incidents.add_note(
            page.runtime, page.ws, incident_id, signer, written, utc_now(), principal.name
        ),
    )
