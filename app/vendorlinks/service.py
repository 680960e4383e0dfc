"""Make, open, list and revoke vendor links.

A link freezes what it shows when it is made: the vendor sees the evidence the operator saw
(not whatever the workspace holds by the time the helpdesk opens it), and nothing can widen a
link afterwards. Journeys are cut to the suspect's own systems (both ends of the link, or the
system that is down): the steps in other systems belong to other vendors.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import Connection, insert, select, update

from app.audit import service as audit
from app.auth.service import hash_secret, row_by_secret
from app.dashboard import suspects, traces
from app.dashboard.incidents import incident_suspect_path
from app.dashboard.pages import DEFAULT_WINDOW
from app.dashboard.service import load_scope, suspect_path
from app.i18n import use_language
from app.incidents.service import require_incident
from app.runtime import Runtime
from app.vendorlinks.tables import vendor_links
from graph.results import EntityRef, Suspect

MAX_JOURNEYS = 10
MAX_HOURS = 30 * 24
Language = Literal["en", "pl"]
LANGUAGES: dict[str, str] = {"en": "English", "pl": "Polski"}
"""The languages a vendor's page is shown in, by code, each named in itself."""


class LinkError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class JourneyStep(BaseModel):
    time: datetime | None
    title: str
    status: str
    detail: str
    failure: bool


class Journey(BaseModel):
    entity: EntityRef
    steps: list[JourneyStep]


class Snapshot(BaseModel):
    shop: str
    title: str
    sentence: str
    as_of: datetime
    suspect: Suspect
    journeys: list[Journey]


@dataclass(frozen=True)
class VendorLink:
    id: str
    workspace_id: str
    incident_id: int | None
    suspect_path: str
    responsible: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    language: str = "en"

    def live(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now


def _link(row: Any) -> VendorLink:
    return VendorLink(
        row.id,
        row.workspace_id,
        row.incident_id,
        row.suspect_path,
        row.responsible,
        row.created_by,
        row.created_at,
        row.expires_at,
        row.revoked_at,
        row.language,
    )


def _own_systems(suspect: Suspect) -> set[str]:
    if suspect.link is None:
        return {suspect.system} if suspect.system else set()
    return {suspect.link.from_, suspect.link.to}


def snapshot(runtime: Runtime, ws: str, path: str, now: datetime) -> Snapshot:
    """What the link will show: the suspect at ``path`` now, and its entities' journeys."""
    scope = load_scope(runtime, ws, now, float(DEFAULT_WINDOW), live=True)
    if scope is None:
        raise LinkError("workspace", f"there is no workspace '{ws}'")
    found = suspects.find_suspect(runtime, scope, path)
    if found is None:
        raise LinkError("suspect", f"'{path}' is not suspected now: nothing to show a vendor")
    own = _own_systems(found)
    journeys = []
    for entity in found.evidence.entities[:MAX_JOURNEYS]:
        view = traces.trace_view(runtime, scope, entity.namespace, entity.value)
        rows = [] if view is None else view.rows
        steps = [
            JourneyStep(
                time=r.time, title=r.title, status=r.status, detail=r.detail, failure=r.failure
            )
            for r in rows
            if r.systems and set(r.systems) <= own
        ]
        journeys.append(Journey(entity=entity, steps=steps))
    return Snapshot(
        shop=scope.workspace.name,
        title=suspects.title(found),
        sentence=suspects.sentence(found),
        as_of=now,
        suspect=found,
        journeys=journeys,
    )


def create(
    runtime: Runtime,
    ws: str,
    *,
    path: str | None,
    incident_id: int | None,
    hours: int,
    by: str,
    now: datetime,
    language: Language = "en",
) -> tuple[VendorLink, str]:
    """A new link (and its token, shown this once) for a suspect or an incident's suspect."""
    if not 1 <= hours <= MAX_HOURS:
        raise LinkError("hours", f"between 1 and {MAX_HOURS} hours")
    if incident_id is not None:
        with runtime.engine.connect() as connection:
            path = incident_suspect_path(require_incident(connection, ws, incident_id))
    if not path:
        raise LinkError("suspect", "a suspect path or an incident")
    with use_language(language):  # the vendor reads the verdict and the steps in its language
        frozen = snapshot(runtime, ws, path, now)
    token = secrets.token_urlsafe(32)
    link = VendorLink(
        "vl_" + secrets.token_hex(8),
        ws,
        incident_id,
        suspect_path(frozen.suspect),
        frozen.suspect.responsible,
        by,
        now,
        now + timedelta(hours=hours),
        None,
        language,
    )
    with runtime.engine.begin() as connection:
        connection.execute(
            insert(vendor_links).values(
                id=link.id,
                token_hash=hash_secret(token),
                workspace_id=ws,
                incident_id=incident_id,
                suspect_path=link.suspect_path,
                responsible=link.responsible,
                snapshot=frozen.model_dump_json(),
                created_by=by,
                created_at=now,
                expires_at=link.expires_at,
                revoked_at=None,
                language=language,
            )
        )
        audit.record(
            connection,
            ws,
            by,
            "vendor_link_created",
            link.id,
            now,
            suspect=link.suspect_path,
            vendor=link.responsible,
            hours=hours,
            language=language,
        )
    return link, token


def open_link(
    connection: Connection, token: str, now: datetime, address: str
) -> tuple[VendorLink, Snapshot] | None:
    """The live link behind ``token`` and its snapshot; each opening goes to the audit trail."""
    row = row_by_secret(connection, vendor_links.c.token_hash, token)
    if row is None:
        return None
    link = _link(row)
    if not link.live(now):
        return None
    audit.record(
        connection,
        link.workspace_id,
        f"vendor link {link.id}",
        "vendor_link_opened",
        link.id,
        now,
        vendor=link.responsible,
        address=address,
    )
    return link, Snapshot.model_validate(json.loads(row.snapshot))


def list_links(connection: Connection, ws: str) -> list[VendorLink]:
    rows = connection.execute(
        select(vendor_links)
        .where(vendor_links.c.workspace_id == ws)
        .order_by(vendor_links.c.created_at.desc())
    )
    return [_link(r) for r in rows]


def revoke(connection: Connection, ws: str, link_id: str, by: str, now: datetime) -> bool:
    result = connection.execute(
        update(vendor_links)
        .where(
            vendor_links.c.workspace_id == ws,
            vendor_links.c.id == link_id,
            vendor_links.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    if result.rowcount == 0:
        return False
    audit.record(connection, ws, by, "vendor_link_revoked", link_id, now)
    return True
