"""Vendor links: made by an operator (API and dashboard), opened by the vendor without sign-in.

The public page ``/vendor/{token}`` shows the link's frozen snapshot and nothing else: no
navigation into the workspace, no session, no other link. Unknown, expired and revoked links
get one and the same 404, so a guesser learns nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.dashboard.access import render
from app.dashboard.pages import FormPageDep, Page, PageDep, problem_page, public_base, see_other
from app.dashboard.sessions import utc_now
from app.deps import ConnectionDep, ExistingWorkspaceDep, PrincipalDep, RuntimeDep
from app.exceptions import Invalid, NotFound
from app.i18n import N_, use_language
from app.i18n import gettext as _
from app.i18n.negotiation import language_of
from app.i18n.vocabulary import refusal
from app.mapping import mapped
from app.runtime import Runtime
from app.vendorlinks import service

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1/workspaces/{ws}/vendor-links", tags=["vendor links"])

DEFAULT_HOURS = 72


class VendorLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    suspect: str | None = Field(
        default=None,
        max_length=300,
        description="The suspect's path, e.g. order/oms/erp/unavailable",
    )
    incident: int | None = Field(default=None, ge=1, description="Or the incident whose suspect")
    hours: int = Field(default=DEFAULT_HOURS, ge=1, le=service.MAX_HOURS)
    language: service.Language = Field(
        default="en", description="The language the vendor's page is shown in: en or pl."
    )


class VendorLinkOut(BaseModel):
    id: str
    suspect: str
    incident: int | None
    vendor: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    language: str


class NewVendorLinkOut(VendorLinkOut):
    link: str = Field(description="The link for the vendor. Shown this once.")


def _out(link: service.VendorLink) -> VendorLinkOut:
    return mapped(
        VendorLinkOut,
        link,
        suspect=link.suspect_path,
        incident=link.incident_id,
        vendor=link.responsible,
    )


def _create(
    runtime: Runtime, ws: str, body: VendorLinkIn, by: str, base: str
) -> tuple[service.VendorLink, str]:
    link, token = service.create(
        runtime,
        ws,
        path=body.suspect,
        incident_id=body.incident,
        hours=body.hours,
        by=by,
        now=utc_now(),
        language=body.language,
    )
    return link, f"{base}/vendor/{token}"


@api.post("", status_code=status.HTTP_201_CREATED, response_model=NewVendorLinkOut)
def create(
    ws: ExistingWorkspaceDep,
    body: VendorLinkIn,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    request: Request,
) -> NewVendorLinkOut:
    """A read-only link for the responsible vendor's helpdesk: the suspect's evidence, its
    entities' journeys through the vendor's link and the calls with their errors, frozen now."""
    try:
        link, url = _create(runtime, ws, body, principal.name, public_base(request, runtime))
    except service.LinkError as exc:
        raise Invalid.one(["body", exc.field], str(exc)) from exc
    return NewVendorLinkOut(**_out(link).model_dump(), link=url)


@api.get("", response_model=list[VendorLinkOut])
def list_(ws: ExistingWorkspaceDep, connection: ConnectionDep) -> list[VendorLinkOut]:
    return [_out(link) for link in service.list_links(connection, ws)]


@api.delete("/{link_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke(
    ws: ExistingWorkspaceDep, link_id: str, principal: PrincipalDep, connection: ConnectionDep
) -> Response:
    if not service.revoke(connection, ws, link_id, principal.name, utc_now()):
        raise NotFound(f"no live vendor link '{link_id}' in workspace '{ws}'")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- dashboard ---------------------------------------------------------------------------------


@router.get("/w/{ws}/vendor-links")
def links_page(page: PageDep) -> Response:
    return _links_page(page, None, None)


def _links_page(page: Page, new_link: str | None, error: str | None) -> Response:
    with page.runtime.engine.connect() as connection:
        links = service.list_links(connection, page.ws)
    return page.form(
        "vendor_links.html",
        "vendor-links",
        error,
        links=links,
        new_link=new_link,
        now=utc_now(),
        may_change=page.session.principal.may(page.ws, "operator"),
        languages=service.LANGUAGES,
    )


@router.post("/w/{ws}/vendor-links")
def create_from_dashboard(
    request: Request,
    ws: str,
    page: FormPageDep,
    suspect: Annotated[str, Form(max_length=300)] = "",
    incident: Annotated[str, Form(max_length=20)] = "",
    hours: Annotated[str, Form(max_length=10)] = str(DEFAULT_HOURS),
    language: Annotated[str, Form(max_length=10)] = "en",
) -> Response:
    try:
        body = VendorLinkIn(
            suspect=suspect or None,
            incident=int(incident) if incident.isdigit() else None,
            hours=int(hours) if hours.isdigit() else 0,
            language=language,
        )
    except ValidationError as exc:
        fields = {str(problem["loc"][0]) for problem in exc.errors()}
        error = (
            refusal("hours", N_("between 1 and %(count)d"), count=service.MAX_HOURS)
            if "hours" in fields
            else refusal("language", N_("one of %(values)s"), values=", ".join(service.LANGUAGES))
        )
        return _links_page(page, None, error)
    base = public_base(request, page.runtime)
    try:
        _link, url = _create(page.runtime, ws, body, page.session.principal.name, base)
    except service.LinkError as exc:
        return _links_page(page, None, f"{exc.field}: {exc}")
    except NotFound as exc:
        return _links_page(page, None, str(exc))
    return _links_page(page, url, None)


@router.post("/w/{ws}/vendor-links/{link_id}/revoke")
def revoke_from_dashboard(
    ws: str, link_id: str, page: FormPageDep, connection: ConnectionDep
) -> Response:
    service.revoke(connection, ws, link_id[:40], page.session.principal.name, utc_now())
    return see_other(f"/w/{ws}/vendor-links")


# -- what the vendor opens ---------------------------------------------------------------------


@router.get("/vendor/{token}")
def vendor_page(request: Request, token: str, runtime: RuntimeDep) -> Response:
    address = request.client.host if request.client else "unknown"
    with runtime.engine.begin() as connection:  # begin: the opening is recorded
        opened = service.open_link(connection, token, utc_now(), address)
    if opened is None:
        return problem_page(
            request,
            None,
            404,
            _("Link not valid"),
            _(
                "This link has expired, was withdrawn, or never existed. "
                "Ask the merchant for a new one."
            ),
        )
    link, snapshot = opened
    context = {
        "session": None,
        "ws": None,
        "csrf": "",
        "link": link,
        "snap": snapshot,
        "language_name": service.LANGUAGES.get(link.language, link.language),
    }
    # In the language chosen when the link was made, not the visitor's.
    with use_language(language_of(link.language)):
        page = render(request, "vendor.html", context)
    # The token is in the path: no referrer leaves this page with it.
    page.headers["Referrer-Policy"] = "no-referrer"
    return page
