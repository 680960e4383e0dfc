"""Status page settings, posted updates, and the public view built from the open incidents.

The public view is built only from the page's settings, the merchant's own updates, the
templates of :mod:`app.status.texts`, and times: an incident contributes what customers feel
(:func:`customer_impact`) and when, never its link, system, vendor, summary or evidence.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, or_, select

from app.db.rows import delete_workspace_row
from app.exceptions import Invalid, NotFound
from app.incidents.tables import incidents
from app.maintenance.service import Announced
from app.status.models import (
    FeedItem,
    Notice,
    PastIncident,
    PublicStatus,
    State,
    StatusPage,
    StatusPageIn,
    Update,
    UpdateIn,
)
from app.status.tables import status_pages, status_updates
from app.status.texts import ALL_WELL, TEMPLATES, TemplateKey, fill
from graph.model import Topology

HISTORY = timedelta(days=90)
MAX_ITEMS = 100
STOREFRONT_KINDS = frozenset(
    {"woocommerce", "magento", "shop", "shopify", "prestashop", "storefront", "hosting"}
)
"""System kinds whose outage customers meet as the shop itself being unavailable."""


_FROM_PAGE = ("name", "language", "logo_url", "accent")
"""What the public status takes as it is from the page."""


def get_page(connection: Connection, workspace_id: str) -> StatusPage | None:
    row = connection.execute(
        select(status_pages).where(status_pages.c.workspace_id == workspace_id)
    ).one_or_none()
    if row is None:
        return None
    return StatusPage(**json.loads(row.body), updated_at=row.updated_at)


def require_page(connection: Connection, workspace_id: str) -> StatusPage:
    page = get_page(connection, workspace_id)
    if page is None:
        raise NotFound("this workspace has no status page yet: PUT its settings first")
    return page


def put_page(
    connection: Connection, workspace_id: str, body: StatusPageIn
) -> tuple[StatusPage, bool]:
    created = get_page(connection, workspace_id) is None
    values = {"body": json.dumps(body.model_dump(mode="json")), "updated_at": datetime.now(UTC)}
    if created:
        connection.execute(status_pages.insert().values(workspace_id=workspace_id, **values))
    else:
        connection.execute(
            status_pages.update().where(status_pages.c.workspace_id == workspace_id).values(values)
        )
    return require_page(connection, workspace_id), created


def post_update(connection: Connection, workspace_id: str, body: UpdateIn, at: datetime) -> Update:
    """Store the update: its own message, else the template in the page's language."""
    page = require_page(connection, workspace_id)
    if body.message is not None:
        message = body.message
    elif body.template is not None:
        message = fill(
            body.template, page.language, email=page.contact_email, phone=page.contact_phone
        )
    else:
        raise Invalid.one(["body", "message"], "give a message, a template, or both", "missing")
    result = connection.execute(
        status_updates.insert()
        .values(workspace_id=workspace_id, posted_at=at, template=body.template, message=message)
        .returning(status_updates.c.id)
    )
    return Update(id=result.scalar_one(), posted_at=at, template=body.template, message=message)


def list_updates(connection: Connection, workspace_id: str, since: datetime) -> list[Update]:
    rows = connection.execute(
        select(status_updates)
        .where(status_updates.c.workspace_id == workspace_id, status_updates.c.posted_at >= since)
        .order_by(status_updates.c.posted_at.desc(), status_updates.c.id.desc())
        .limit(MAX_ITEMS)
    ).all()
    return [
        Update(id=r.id, posted_at=r.posted_at, template=r.template, message=r.message) for r in rows
    ]


def delete_update(connection: Connection, workspace_id: str, update_id: int) -> None:
    missing = f"update {update_id} does not exist"
    delete_workspace_row(connection, status_updates.c.id, workspace_id, update_id, missing)


def storefront_systems(topology: Topology | None) -> set[str]:
    """The systems customers meet: the shop (by kind), its hosting, and where orders start."""
    if topology is None:
        return set()
    found = {s.id for s in topology.systems if s.kind.lower() in STOREFRONT_KINDS}
    order_links = [link for link in topology.links if "order" in link.flow.lower()]
    targets = {link.to for link in order_links}
    return found | {link.from_ for link in order_links if link.from_ not in targets}


def customer_impact(*, system: str | None, flow: str | None, storefront: set[str]) -> TemplateKey:
    """What customers feel from an incident on ``flow`` (or of ``system`` being down).

    >>> customer_impact(system="shop", flow=None, storefront={"shop"})
    'shop_unavailable'
    >>> customer_impact(system=None, flow="stock", storefront={"shop"})
    'stock_stale'
    >>> customer_impact(system="erp", flow=None, storefront={"shop"})
    'orders_late'
    """
    if system is not None and system in storefront:
        return "shop_unavailable"
    if flow is not None and ("stock" in flow.lower() or "inventor" in flow.lower()):
        return "stock_stale"
    return "orders_late"


def _public_id(workspace_id: str, incident_id: int) -> str:
    # Opaque: counts and ids of the workspace's incidents are none of the customers' business.
    return hashlib.sha256(f"{workspace_id}:{incident_id}".encode()).hexdigest()[:16]


def public_status(
    connection: Connection,
    workspace_id: str,
    page: StatusPage,
    now: datetime,
    storefront: set[str],
    windows: Sequence[Announced] = (),
) -> PublicStatus:
    since = now - HISTORY
    language = page.language
    rows = connection.execute(
        select(
            incidents.c.id,
            incidents.c.system,
            incidents.c.flow,
            incidents.c.status,
            incidents.c.first_failure,
            incidents.c.opened_at,
            incidents.c.resolved_at,
        )
        .where(
            incidents.c.workspace_id == workspace_id,
            or_(incidents.c.status == "open", incidents.c.resolved_at >= since),
        )
        .order_by(incidents.c.opened_at.desc())
    ).all()

    def text(key: TemplateKey) -> str:
        return fill(key, language, email=page.contact_email, phone=page.contact_phone)

    current: dict[TemplateKey, datetime] = {}
    history: list[PastIncident] = []
    items: list[FeedItem] = []
    for row in rows:
        key = customer_impact(system=row.system, flow=row.flow, storefront=storefront)
        public = _public_id(workspace_id, row.id)
        if row.status == "open":
            current[key] = min(current.get(key, row.first_failure), row.first_failure)
        history.append(
            PastIncident(started=row.first_failure, ended=row.resolved_at, text=text(key))
        )
        items.append(FeedItem(id=f"incident-{public}", at=row.opened_at, text=text(key)))
        if row.resolved_at is not None:
            items.append(
                FeedItem(
                    id=f"incident-{public}-resolved", at=row.resolved_at, text=text("resolved")
                )
            )
    for update in list_updates(connection, workspace_id, since):
        items.append(FeedItem(id=f"update-{update.id}", at=update.posted_at, text=update.message))
    order = list(TEMPLATES)
    notices = [
        Notice(text=text(key), since=at)
        for key, at in sorted(current.items(), key=lambda kv: order.index(kv[0]))
    ]
    in_force = [w for w in windows if w.starts_at <= now < w.ends_at]
    planned = [
        Notice(
            text=text("maintenance" if w.storefront else "maintenance_background"),
            since=w.starts_at,
            until=w.ends_at,
        )
        for w in windows
        if w.ends_at > now
    ]
    state: State = "operational"
    if "shop_unavailable" in current:
        state = "unavailable"
    elif notices:
        state = "degraded"
    elif in_force:
        state = "maintenance"
    if notices:
        headline = notices[0].text
    elif in_force:
        headline = text(
            "maintenance" if any(w.storefront for w in in_force) else "maintenance_background"
        )
    else:
        headline = ALL_WELL[language]
    items.sort(key=lambda item: (item.at, item.id), reverse=True)
    return PublicStatus(
        **{name: getattr(page, name) for name in _FROM_PAGE},
        state=state,
        headline=headline,
        now=notices,
        planned=planned,
        items=items[:MAX_ITEMS],
        history=history,
        as_of=now,
    )


def published(connection: Connection, workspace_id: str) -> StatusPage | None:
    """The page when the workspace publishes one; None otherwise (the public routes answer 404
    alike for a workspace without a page, with an unpublished one, or that does not exist)."""
    page = get_page(connection, workspace_id)
    return page if page is not None and page.enabled else None


def as_json(status: PublicStatus) -> dict[str, Any]:
    return status.model_dump(mode="json")


DEMO_PAGE = StatusPageIn(
    enabled=True,
    name="Demo shop",
    language="pl",
    accent="#0f766e",
    contact_email="pomoc@sklep.example",
    contact_phone="+48 600 000 000",
)
"""The demo workspace publishes its status page (the issue asks for it on in the demo)."""


def enable_demo_page(connection: Connection, workspace_id: str) -> None:
    if get_page(connection, workspace_id) is None:
        put_page(connection, workspace_id, DEMO_PAGE)
