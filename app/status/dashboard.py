"""The dashboard's status page tab: what customers see now, posting an update from a template
(Polish or English, the page's language) or in one's own words, and declaring maintenance.

Forms post the session's CSRF token and redirect back (post/redirect/get).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form
from pydantic import ValidationError
from sqlalchemy import Connection
from starlette.responses import Response

from app.checks.service import list_checks
from app.dashboard.pages import FormPageDep, Page, PageDep, see_other
from app.exceptions import ArbiterError
from app.i18n import gettext
from app.maintenance import service as maintenance
from app.maintenance.models import WindowIn
from app.runtime import Runtime
from app.status import service
from app.status.models import UpdateIn
from app.status.texts import TEMPLATES, fill
from app.status.views import public_view
from app.topology.service import get_topology

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Form(max_length=2000)]


def _gather(runtime: Runtime, ws: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    with runtime.engine.connect() as connection:
        page = service.get_page(connection, ws)
        updates = service.list_updates(connection, ws, now - service.HISTORY)
        checks = list_checks(connection, ws)
        windows = maintenance.windows_between(
            connection, ws, now - maintenance.MAX_WINDOW, now + maintenance.ANNOUNCE_AHEAD * 3
        )
    templates = []
    if page is not None:
        for key, texts in TEMPLATES.items():
            text = fill(key, page.language, email=page.contact_email, phone=page.contact_phone)
            templates.append((key, text, texts))
    return {
        "page": page,
        "preview": public_view(runtime, ws, now) if page is not None else None,
        "updates": updates,
        "templates": templates,
        "maintenance": windows,
        "checks": checks,
    }


def _page(page: Page, *, error: str | None = None) -> Response:
    return page.form("status_manage.html", "status", error, **_gather(page.runtime, page.ws))


@router.get("/w/{ws}/status-page")
def status_tab(page: PageDep) -> Response:
    return _page(page)


def _submit(page: Page, work: Callable[[Connection], object], anchor: str) -> Response:
    """Run ``work`` in a transaction; back to the page at ``anchor``, or the page with the
    reason the service refused it."""

    try:
        with page.runtime.engine.begin() as connection:
            work(connection)
    except ArbiterError as exc:
        return _page(page, error=str(exc))
    return see_other(f"/w/{page.ws}/status-page#{anchor}")


@router.post("/w/{ws}/status-page/updates")
def post_update(
    ws: str,
    page: FormPageDep,
    template: Annotated[str, Form(max_length=40)] = "",
    message: Text = "",
) -> Response:
    try:
        body = UpdateIn.model_validate(
            {"template": template or None, "message": message.strip() or None}
        )
    except ValidationError:
        return _page(page, error=gettext("Choose a template or write a message."))
    return _submit(
        page,
        lambda connection: service.post_update(connection, ws, body, datetime.now(UTC)),
        "updates",
    )


@router.post("/w/{ws}/maintenance")
def declare_maintenance(
    ws: str,
    page: FormPageDep,
    system: Annotated[str, Form(max_length=64)] = "",
    starts_at: Annotated[str, Form(max_length=40)] = "",
    ends_at: Annotated[str, Form(max_length=40)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Times come from ``datetime-local`` inputs, read as UTC (the form says so)."""
    try:
        body = WindowIn.model_validate(
            {
                "system": system,
                "starts_at": _utc(starts_at),
                "ends_at": _utc(ends_at),
                "reason": reason.strip() or None,
            }
        )
    except (ValidationError, ValueError):
        return _page(page, error=gettext("Choose a system and both times of the window."))

    def create(connection: Connection) -> None:
        maintenance.validate(body, get_topology(connection, ws))
        maintenance.create(connection, ws, body)

    return _submit(page, create, "maintenance")


def _utc(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
