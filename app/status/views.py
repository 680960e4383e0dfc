"""The status page: its settings and updates in the API, its public page, feeds and banner.

Public routes need no sign-in and answer one and the same 404 for a workspace that does not
exist, has no page, or has not published it: nobody learns which workspaces exist.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from app.dashboard.access import render_fragment, valid_workspace_id
from app.deps import ConnectionDep, ExistingWorkspaceDep, PutAnswer, PutAnswerDep, RuntimeDep
from app.i18n import use_language
from app.maintenance.service import announced
from app.runtime import Runtime
from app.status import service
from app.status.models import PublicStatus, StatusPage, StatusPageIn, Update, UpdateIn
from app.topology.service import get_topology

router = APIRouter(prefix="/api/v1/workspaces/{ws}", tags=["status page"])
public = APIRouter(prefix="/status/{ws}", tags=["public status page"])

UpdatePath = Annotated[int, Path(ge=1, le=2**62)]


@router.get("/status-page", response_model=StatusPage)
def get_status_page(ws: ExistingWorkspaceDep, connection: ConnectionDep) -> StatusPage:
    """The status page's settings (404 when none was PUT)."""
    return service.require_page(connection, ws)


@router.put("/status-page", response_model=StatusPage, responses=PutAnswer.responses(StatusPage))
def put_status_page(
    ws: ExistingWorkspaceDep, body: StatusPageIn, connection: ConnectionDep, answer: PutAnswerDep
) -> StatusPage:
    """Create (201) or replace (200) the page's settings: `enabled` publishes it at
    `/status/{ws}` (no sign-in), in the shop's `language` (`pl`, `en`), name, https logo and
    accent colour, with the emergency contacts the page gives when the shop is unavailable."""
    return answer(service.put_page(connection, ws, body))


@router.get("/status-page/updates", response_model=list[Update])
def list_status_updates(ws: ExistingWorkspaceDep, connection: ConnectionDep) -> list[Update]:
    """The updates posted in the past 90 days, newest first."""
    return service.list_updates(connection, ws, datetime.now(UTC) - service.HISTORY)


@router.post("/status-page/updates", response_model=Update, status_code=201)
def post_status_update(
    ws: ExistingWorkspaceDep, body: UpdateIn, connection: ConnectionDep
) -> Update:
    """Post an update for customers: a `template` (`orders_late`, `stock_stale`,
    `shop_unavailable`, `maintenance`, `investigating`, `resolved`) in the page's language
    with its contacts filled in, or a `message` of your own."""
    return service.post_update(connection, ws, body, datetime.now(UTC))


@router.delete("/status-page/updates/{update_id}", status_code=204)
def delete_status_update(
    ws: ExistingWorkspaceDep, update_id: UpdatePath, connection: ConnectionDep
) -> Response:
    """Withdraw an update (the feeds drop it)."""
    service.delete_update(connection, ws, update_id)
    return Response(status_code=204)


def public_view(runtime: Runtime, ws: str, now: datetime) -> PublicStatus | None:
    if not valid_workspace_id(ws):
        return None
    with runtime.engine.connect() as connection:
        page = service.published(connection, ws)
        if page is None:
            return None
        storefront = service.storefront_systems(get_topology(connection, ws))
        windows = announced(connection, ws, now, storefront)
        return service.public_status(connection, ws, page, now, storefront, windows)


_NOT_FOUND = "<!doctype html><title>Not found</title><p>No status page here.</p>"


def _page_headers(*, embeddable: bool) -> dict[str, str]:
    # Only our own inline style (the accent is checked as #rrggbb) and the merchant's logo.
    return {
        "Content-Security-Policy": "default-src 'none'; img-src https:; style-src 'unsafe-inline'; "
        + ("frame-ancestors *" if embeddable else "frame-ancestors 'none'")
        + "; base-uri 'none'; form-action 'none'",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        # During an outage customers reload to see whether it is over: never a stale page.
        "Cache-Control": "no-cache",
    }


def _html(
    request: Request, runtime: Runtime, ws: str, template: str, *, embeddable: bool
) -> Response:
    now = datetime.now(UTC)
    status = public_view(runtime, ws, now)
    headers = _page_headers(embeddable=embeddable)
    if status is None:
        return HTMLResponse(_NOT_FOUND, 404, headers=headers)
    base = str(request.base_url).rstrip("/")
    with use_language(status.language):  # the shop's language, not the visitor's
        body = render_fragment(template, {"status": status, "ws": ws, "base": base})
    return HTMLResponse(body, headers=headers)


@public.get("", response_class=HTMLResponse)
def status_page(request: Request, ws: str, runtime: RuntimeDep) -> Response:
    """The shop's status page for its customers: what works and what does not, the planned
    maintenance, the updates and the past 90 days. No sign-in; 404 unless published."""
    return _html(request, runtime, ws, "status_public.html", embeddable=False)


@public.get("/banner", response_class=HTMLResponse)
def status_banner(request: Request, ws: str, runtime: RuntimeDep) -> Response:
    """A one-line banner (no script) for a theme to embed:
    `<iframe src=".../status/{ws}/banner" sandbox title="Shop status"></iframe>`."""
    return _html(request, runtime, ws, "status_banner.html", embeddable=True)


def _feed_headers() -> dict[str, str]:
    # Public data meant for a theme's script on the shop's own domain.
    return {"Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=30"}


@public.get("/feed.json")
def status_json_feed(request: Request, ws: str, runtime: RuntimeDep) -> Response:
    """JSON Feed 1.1 of the updates (automatic ones from incidents and the merchant's own),
    with `_status` (`state`, `headline`, `now`, `planned`) for a banner."""
    status = public_view(runtime, ws, datetime.now(UTC))
    if status is None:
        return JSONResponse({"detail": "no status page here"}, 404)
    page = f"{str(request.base_url).rstrip('/')}/status/{ws}"
    feed: dict[str, Any] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": status.name,
        "home_page_url": page,
        "feed_url": f"{page}/feed.json",
        "language": status.language,
        "items": [
            {"id": item.id, "content_text": item.text, "date_published": _iso(item.at)}
            for item in status.items
        ],
        "_status": {
            "state": status.state,
            "headline": status.headline,
            "now": [n.model_dump(mode="json") for n in status.now],
            "planned": [n.model_dump(mode="json") for n in status.planned],
        },
    }
    return JSONResponse(feed, headers=_feed_headers(), media_type="application/feed+json")


@public.get("/feed.atom")
def status_atom_feed(request: Request, ws: str, runtime: RuntimeDep) -> Response:
    """Atom feed of the same updates, for feed readers and social media automations."""
    status = public_view(runtime, ws, datetime.now(UTC))
    if status is None:
        return Response("no status page here", 404, media_type="text/plain")
    page = f"{str(request.base_url).rstrip('/')}/status/{ws}"
    atom = "http://www.w3.org/2005/Atom"
    root = ET.Element("feed", {"xmlns": atom, "xml:lang": status.language})
    ET.SubElement(root, "title").text = status.name
    ET.SubElement(root, "id").text = page
    ET.SubElement(root, "link", {"href": page})
    ET.SubElement(root, "link", {"rel": "self", "href": f"{page}/feed.atom"})
    updated = status.items[0].at if status.items else status.as_of
    ET.SubElement(root, "updated").text = _iso(updated)
    ET.SubElement(ET.SubElement(root, "author"), "name").text = status.name
    for item in status.items:
        entry = ET.SubElement(root, "entry")
        ET.SubElement(entry, "id").text = f"{page}#{item.id}"
        ET.SubElement(entry, "title").text = item.text
        ET.SubElement(entry, "updated").text = _iso(item.at)
        ET.SubElement(entry, "content", {"type": "text"}).text = item.text
    body = ET.tostring(root, encoding="unicode", xml_declaration=True)
    return Response(body, headers=_feed_headers(), media_type="application/atom+xml")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
