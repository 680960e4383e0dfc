"""Incident pages: the list, one incident in detail, the overview's panel, and what people do.

Reads and writes go through :mod:`app.incidents.service` (the same functions the REST API
uses); this module only shapes the results for the templates. An unknown incident, or one of
another workspace, is ``None`` here and a friendly 404 page in the views.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError

from app.auth.service import Principal
from app.dashboard.access import iso
from app.dashboard.suspects import said_again, verdict_sentence
from app.exceptions import ArbiterError, NotFound
from app.i18n import N_, gettext
from app.incidents import service
from app.incidents.lifecycle import IncidentRecord
from app.reports.impact import Impact, live_impact
from app.runtime import Runtime
from graph.results import Evidence

log = logging.getLogger("arbiter.dashboard")

PAGE_SIZE = 50
PANEL_SIZE = 5
STATUS_FILTERS = {"open": N_("Open"), "resolved": N_("Resolved"), "all": N_("All")}


def who(principal: Principal, name: str = "") -> str:
    """The name an acknowledgement or note is signed with: a person's own account, else the name
    typed (a shared token names nobody), else the token."""
    if principal.email is not None:
        return principal.email
    typed = " ".join(name.split())
    if typed:
        return typed[:200]
    return principal.name


def incident_suspect_path(record: IncidentRecord) -> str:
    """The incident's suspect page under ``/w/{ws}/suspects/`` (see ``service.suspect_path``)."""
    if record.link is None:
        return f"down/{record.system}"
    link = record.link
    return f"{link.flow}/{link.from_}/{link.to}/{record.mode}"


def suspect_query(record: IncidentRecord) -> str:
    """A resolved incident's suspect page is replayed as of its last failure."""
    if record.status == "open":
        return ""
    return "?" + urlencode({"as_of": iso(record.last_seen)})


@dataclass(frozen=True)
class IncidentList:
    status: str
    incidents: list[IncidentRecord]
    next_cursor: str | None
    problem: str | None = None


def incident_list(
    runtime: Runtime, workspace_id: str, status: str, cursor: str | None
) -> IncidentList:
    filters = service.IncidentFilter(status="all")
    if status == "open":
        filters = service.IncidentFilter(status="open")
    elif status == "resolved":
        filters = service.IncidentFilter(status="resolved")
    try:
        with runtime.engine.connect() as connection:
            found, following = service.list_incidents(
                connection, workspace_id, filters, limit=PAGE_SIZE, cursor=cursor
            )
    except ArbiterError as exc:  # a cursor this page never made: start from the newest
        problem = gettext("That page link is not valid (%(error)s).") % {"error": exc}
        return IncidentList(status, [], None, problem)
    except Exception as exc:
        log.exception("listing the incidents of %s failed", workspace_id)
        return IncidentList(
            status,
            [],
            None,
            gettext("The incidents could not be read (%(error)s).") % {"error": type(exc).__name__},
        )
    return IncidentList(status, found, following)


@dataclass(frozen=True)
class OpenIncidents:
    latest: list[IncidentRecord]
    count: int
    more: bool
    problem: str | None = None


def open_incidents(runtime: Runtime, workspace_id: str) -> OpenIncidents:
    """The overview's panel: how many incidents are open, and the newest few of them."""
    try:
        with runtime.engine.connect() as connection:
            found, following = service.list_incidents(
                connection,
                workspace_id,
                service.IncidentFilter(status="open"),
                limit=PAGE_SIZE,
                cursor=None,
            )
    except Exception as exc:  # the panel is optional; the overview renders without it
        log.exception("reading the open incidents of %s failed", workspace_id)
        problem = gettext("Incidents could not be read (%(error)s).")
        return OpenIncidents([], 0, False, problem % {"error": type(exc).__name__})
    return OpenIncidents(found[:PANEL_SIZE], len(found), following is not None)


@dataclass(frozen=True)
class IncidentDetail:
    record: IncidentRecord
    sentence: str
    timeline: list[Any]
    notes: list[Any]
    deliveries: list[Any]
    evidence: Evidence
    time_to_detect_seconds: float
    time_to_resolve_seconds: float | None
    impact: Impact | None = None

    @property
    def id(self) -> int:
        assert self.record.id is not None
        return self.record.id


def _evidence(raw: dict[str, Any]) -> Evidence:
    try:
        return Evidence.model_validate(raw)
    except ValidationError:  # evidence of an older release: show none rather than fail
        return Evidence(entities=[], calls=[])


def incident_detail(runtime: Runtime, workspace_id: str, incident_id: int) -> IncidentDetail | None:
    with runtime.engine.connect() as connection:
        try:
            record = service.require_incident(connection, workspace_id, incident_id)
        except NotFound:
            return None
        timeline = service.timeline(connection, incident_id)
        notes = service.notes(connection, incident_id)
        deliveries = service.deliveries(connection, workspace_id, incident_id)
        impact = live_impact(runtime, connection, workspace_id, record)
    moments = [record.last_seen]
    if record.status == "open":
        moments.insert(0, datetime.now(UTC))
    summary = said_again(
        runtime, workspace_id, record.summary, incident_suspect_path(record), moments
    )
    sentence = verdict_sentence(summary, record.responsible)
    if record.resolved_at is not None:
        lasted = duration(_seconds(record.opened_at, record.resolved_at))
        sentence += " " + gettext("Resolved after %(duration)s.") % {"duration": lasted}
    return IncidentDetail(
        record=record,
        sentence=sentence,
        timeline=timeline,
        notes=notes,
        deliveries=deliveries,
        evidence=_evidence(record.evidence),
        time_to_detect_seconds=max(_seconds(record.first_failure, record.opened_at), 0.0),
        time_to_resolve_seconds=(
            _seconds(record.opened_at, record.resolved_at) if record.resolved_at else None
        ),
        impact=impact,
    )


def _seconds(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds()


def acknowledge(
    runtime: Runtime, workspace_id: str, incident_id: int, by: str, at: datetime, actor: str
) -> bool:
    """Acknowledge through the incident service; False when no such incident is there."""
    try:
        with runtime.engine.begin() as connection:
            service.acknowledge(connection, workspace_id, incident_id, by=by, at=at, actor=actor)
    except NotFound:
        return False
    return True


def add_note(
    runtime: Runtime,
    workspace_id: str,
    incident_id: int,
    author: str,
    text: str,
    at: datetime,
    actor: str,
) -> bool:
    try:
        with runtime.engine.begin() as connection:
            service.add_note(
                connection, workspace_id, incident_id, author=author, text=text, at=at, actor=actor
            )
    except NotFound:
        return False
    return True


def duration(seconds: float | None) -> str:
    """A span of time in words a person reads at a glance.

    >>> [duration(s) for s in (None, 42, 600, 3900, 90000)]
    ['—', '42 s', '10 min', '1 h 05 min', '1 d 1 h']
    """
    if seconds is None:
        return "—"
    whole = max(round(seconds), 0)
    if whole < 60:
        return f"{whole} s"
    minutes, _ = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"
