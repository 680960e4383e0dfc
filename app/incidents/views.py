from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query

from app.auth.service import Principal
from app.deps import ConnectionDep, ExistingWorkspaceDep, PrincipalDep, RuntimeDep
from app.events.models import NaiveOrAwareMoment
from app.incidents import service
from app.incidents.models import (
    AcknowledgeIn,
    Incident,
    IncidentDetail,
    IncidentPage,
    Note,
    NoteIn,
    StatusQuery,
    incident_out,
)
from app.reports.impact import live_impact

router = APIRouter(prefix="/api/v1/workspaces/{ws}/incidents", tags=["incidents"])

IncidentId = Annotated[
    int, Path(ge=1, le=2**63 - 1, description="The incident's number (a signed 64-bit id).")
]


def _who(principal: Principal) -> str:
    return principal.name


@router.get("", response_model=IncidentPage, response_model_by_alias=True)
def list_(
    ws: ExistingWorkspaceDep,
    connection: ConnectionDep,
    runtime: RuntimeDep,
    status: Annotated[StatusQuery, Query(description="open, resolved or all")] = "all",
    link: Annotated[
        str | None, Query(description="Only this link, as flow:from:to", examples=["order:oms:erp"])
    ] = None,
    party: Annotated[str | None, Query(description="Only those this party answers for")] = None,
    since: Annotated[
        NaiveOrAwareMoment | None, Query(description="Open at some point after this")
    ] = None,
    until: Annotated[NaiveOrAwareMoment | None, Query(description="Opened before this")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> IncidentPage:
    """Incidents, newest first, filtered; pages through ``next_cursor``."""
    filters = service.IncidentFilter(
        status=status, link=link, party=party, since=_aware(since), until=_aware(until)
    )
    found, following = service.list_incidents(connection, ws, filters, limit=limit, cursor=cursor)
    incidents = [Incident.model_validate(incident_out(r, runtime.settings, ws)) for r in found]
    return IncidentPage(incidents=incidents, next_cursor=following)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


@router.get("/{incident_id}", response_model=IncidentDetail, response_model_by_alias=True)
def get(
    ws: ExistingWorkspaceDep,
    incident_id: IncidentId,
    connection: ConnectionDep,
    runtime: RuntimeDep,
) -> IncidentDetail:
    """The incident with its status-page timeline, notes and notification log, and what it
    cost so far (``impact``)."""
    record = service.require_incident(connection, ws, incident_id)
    out = incident_out(record, runtime.settings, ws)
    out["evidence"] = record.evidence
    out["timeline"] = [row._asdict() for row in service.timeline(connection, incident_id)]
    out["notes"] = [row._asdict() for row in service.notes(connection, incident_id)]
    out["deliveries"] = [row._asdict() for row in service.deliveries(connection, ws, incident_id)]
    out["impact"] = live_impact(runtime, connection, ws, record)
    return IncidentDetail.model_validate(out)


@router.post("/{incident_id}/acknowledge", response_model=Incident, response_model_by_alias=True)
def acknowledge(
    ws: ExistingWorkspaceDep,
    incident_id: IncidentId,
    connection: ConnectionDep,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    body: Annotated[AcknowledgeIn | None, Body()] = None,
) -> Incident:
    """Someone is on it. The first acknowledgement stands; repeating one changes nothing."""
    by = body.by if body is not None and body.by else _who(principal)
    record = service.acknowledge(
        connection, ws, incident_id, by=by, at=datetime.now(UTC), actor=principal.name
    )
    return Incident.model_validate(incident_out(record, runtime.settings, ws))


@router.post(
    "/{incident_id}/notes", response_model=Note, status_code=201, response_model_by_alias=True
)
def add_note(
    ws: ExistingWorkspaceDep,
    incident_id: IncidentId,
    body: NoteIn,
    connection: ConnectionDep,
    principal: PrincipalDep,
) -> Note:
    """Add a note (what was tried, what the vendor said) to the incident."""
    row = service.add_note(
        connection,
        ws,
        incident_id,
        author=body.author or _who(principal),
        text=body.text,
        at=datetime.now(UTC),
        actor=principal.name,
    )
    return Note.model_validate(row._asdict())
