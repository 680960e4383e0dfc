"""The incident API's shapes, and the link to an incident's page that alerts carry."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.fields import Name, NoteText
from app.incidents.lifecycle import IncidentRecord, Phase, Status
from app.reports.impact import Impact
from app.settings import Settings
from graph.hops import Mode
from graph.results import LinkRef


def incident_url(settings: Settings, workspace_id: str, incident_id: int) -> str:
    """The incident's dashboard page: ``{public_url}/w/{ws}/incidents/{id}``."""
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    return f"{base.rstrip('/')}/w/{workspace_id}/incidents/{incident_id}"


class _Out(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class Incident(_Out):
    id: int
    url: str = Field(description="The incident's page, as alerts link to it.")
    status: Status
    phase: Phase = Field(description="investigating, identified, monitoring or resolved")
    link: LinkRef | None = Field(description="The failing link; null when a system is down.")
    system: str | None = Field(description="For mode down: the system that is down.")
    links: list[LinkRef] = Field(description="Every link the incident covers.")
    mode: Mode
    family: str = Field(description="Modes of one root cause share a family and an incident.")
    responsible: str
    confidence: float
    affected: int = Field(description="Entities affected now (in the diagnosis window).")
    opened_affected: int
    peak_affected: int
    healthy: int
    escalation: int = Field(description="Escalation level reached: 0, 1, 2...")
    flaps: int = Field(description="How often it reopened after being resolved.")
    summary: str
    first_failure: datetime
    last_seen: datetime = Field(description="Latest failure evidence.")
    opened_at: datetime
    updated_at: datetime
    healthy_since: datetime | None
    resolved_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    time_to_detect_seconds: float = Field(description="From the first failure to the opening.")
    time_to_resolve_seconds: float | None = Field(description="From the opening to resolution.")


class TimelineItem(_Out):
    time: datetime
    kind: str
    phase: Phase
    message: str


class Note(_Out):
    id: int
    time: datetime
    author: str
    text: str


class Delivery(_Out):
    id: int
    channel_id: str
    channel_name: str
    event: str
    time: datetime
    ok: bool
    attempts: int
    error: str | None


class IncidentDetail(Incident):
    evidence: dict[str, Any]
    timeline: list[TimelineItem]
    notes: list[Note]
    deliveries: list[Delivery] = Field(description="Every notification sent about it.")
    impact: Impact | None = Field(
        default=None,
        description="What it cost so far: value of the orders affected and still stuck, "
        "running costs over the outage, and the orders the shop missed (a range).",
    )


class IncidentPage(_Out):
    incidents: list[Incident]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next (older) page.")


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: NoteText
    author: Name | None = None


class AcknowledgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by: Name | None = None


StatusQuery = Literal["open", "resolved", "all"]


def incident_out(record: IncidentRecord, settings: Settings, workspace_id: str) -> dict[str, Any]:
    """The API's :class:`Incident` of ``record``: its fields under the same names, and the
    figures computed from them."""
    assert record.id is not None
    resolve = (
        (record.resolved_at - record.opened_at).total_seconds()
        if record.resolved_at is not None
        else None
    )
    computed = {
        "url": incident_url(settings, workspace_id, record.id),
        "time_to_detect_seconds": max(
            (record.opened_at - record.first_failure).total_seconds(), 0.0
        ),
        "time_to_resolve_seconds": resolve,
    }
    return {
        name: computed[name] if name in computed else getattr(record, name)
        for name in Incident.model_fields
    }
