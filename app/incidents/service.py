"""Incidents in the store: the evaluator's saves, and the API's reads, filters and notes."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, Row, Table, and_, func, insert, or_, select, update

from app.audit import service as audit
from app.exceptions import Invalid, NotFound
from app.i18n.texts import text_json, text_of
from app.incidents.lifecycle import IncidentRecord, TimelineEntry
from app.incidents.tables import incident_notes, incident_updates, incidents
from app.notifications.tables import notification_deliveries
from graph.results import LinkRef
from graph.text import phrase

StatusFilter = Literal["open", "resolved", "all"]


def _links_json(links: Iterable[LinkRef]) -> str:
    return json.dumps([link.model_dump(mode="json", by_alias=True) for link in links])


_COLUMNS_OF_LINK = ("flow", "from_system", "to_system")
_SHAPED = frozenset({"id", "link", "evidence", "links", "summary_text"})
"""Fields of :class:`IncidentRecord` that are not stored as they are (the rest: one column each,
of the same name)."""
_PLAIN = tuple(f.name for f in fields(IncidentRecord) if f.name not in _SHAPED)


def _values(record: IncidentRecord) -> dict[str, Any]:
    link = record.link
    ends = (link.flow, link.from_, link.to) if link is not None else (None, None, None)
    return {
        **{name: getattr(record, name) for name in _PLAIN},
        **dict(zip(_COLUMNS_OF_LINK, ends, strict=True)),
        "evidence": json.dumps(record.evidence),
        "links": _links_json(record.links),
        "summary_text": text_json(record.summary_text),
    }


def record_of(row: Row[Any]) -> IncidentRecord:
    link = (
        LinkRef(flow=row.flow, from_=row.from_system, to=row.to_system)
        if row.flow is not None
        else None
    )
    return IncidentRecord(
        **{name: row._mapping[name] for name in _PLAIN},
        id=row.id,
        link=link,
        evidence=json.loads(row.evidence),
        links=[LinkRef.model_validate(item) for item in json.loads(row.links)],
        summary_text=text_of(row.summary_text),
    )


def latest_by_key(connection: Connection, workspace_id: str) -> dict[str, IncidentRecord]:
    """The most recent incident of every root cause the workspace ever had."""
    latest = (
        select(func.max(incidents.c.id))
        .where(incidents.c.workspace_id == workspace_id)
        .group_by(incidents.c.key)
        .scalar_subquery()
    )
    rows = connection.execute(select(incidents).where(incidents.c.id.in_(latest)))
    return {row.key: record_of(row) for row in rows}


def save(
    connection: Connection,
    workspace_id: str,
    record: IncidentRecord,
    timeline: Sequence[TimelineEntry] = (),
) -> int:
    """Insert or update the incident and append its timeline entries; returns its id."""
    values = _values(record)
    if record.id is None:
        result = connection.execute(
            insert(incidents).values(workspace_id=workspace_id, **values).returning(incidents.c.id)
        )
        record.id = int(result.scalar_one())
    else:
        connection.execute(update(incidents).where(incidents.c.id == record.id).values(**values))
    if timeline:
        connection.execute(
            insert(incident_updates),
            [
                {
                    "incident_id": record.id,
                    "time": entry.time,
                    "kind": entry.kind,
                    "phase": entry.phase,
                    "message": entry.message,
                    "text": text_json(entry.text),
                }
                for entry in timeline
            ],
        )
    return record.id


# -- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentFilter:
    status: StatusFilter = "all"
    link: str | None = None
    party: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def parse_link(text: str) -> tuple[str, str, str]:
    """``flow:from:to`` as a tuple, or 422.

    >>> parse_link("order:oms:erp")
    ('order', 'oms', 'erp')
    """
    parts = text.split(":")
    if len(parts) != 3 or not all(parts):
        raise Invalid.one(["query", "link"], "link must be flow:from:to, e.g. order:oms:erp")
    return parts[0], parts[1], parts[2]


def _encode_cursor(incident_id: int) -> str:
    return base64.urlsafe_b64encode(f"i{incident_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        number = int(raw[1:]) if raw.startswith("i") else -1
        if not 1 <= number <= 2**63 - 1:  # a forged cursor must not overflow the id column
            raise ValueError(raw)
        return number
    except ValueError as exc:
        raise Invalid.one(["query", "cursor"], "not a cursor this API returned") from exc


def list_incidents(
    connection: Connection,
    workspace_id: str,
    filters: IncidentFilter,
    *,
    limit: int,
    cursor: str | None,
) -> tuple[list[IncidentRecord], str | None]:
    """Newest first; the cursor of the next page, or None at the end.

    ``since``/``until`` select incidents that were open at some point of that period.
    """
    query = select(incidents).where(incidents.c.workspace_id == workspace_id)
    if filters.status != "all":
        query = query.where(incidents.c.status == filters.status)
    if filters.link is not None:
        flow, from_, to = parse_link(filters.link)
        # A "down" incident names its system; it covers a link when that link touches it.
        query = query.where(
            or_(
                and_(
                    incidents.c.flow == flow,
                    incidents.c.from_system == from_,
                    incidents.c.to_system == to,
                ),
                and_(incidents.c.flow.is_(None), incidents.c.system.in_([from_, to])),
            )
        )
    if filters.party is not None:
        query = query.where(func.lower(incidents.c.responsible) == filters.party.lower())
    if filters.until is not None:
        query = query.where(incidents.c.opened_at <= filters.until)
    if filters.since is not None:
        query = query.where(
            or_(incidents.c.resolved_at.is_(None), incidents.c.resolved_at >= filters.since)
        )
    if cursor is not None:
        query = query.where(incidents.c.id < _decode_cursor(cursor))
    rows = connection.execute(query.order_by(incidents.c.id.desc()).limit(limit + 1)).all()
    found = [record_of(row) for row in rows[:limit]]
    following = _encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return found, following


def require_incident(connection: Connection, workspace_id: str, incident_id: int) -> IncidentRecord:
    row = connection.execute(
        select(incidents).where(
            incidents.c.workspace_id == workspace_id, incidents.c.id == incident_id
        )
    ).first()
    if row is None:
        raise NotFound(f"incident {incident_id} does not exist in workspace '{workspace_id}'")
    return record_of(row)


def _of_incident(connection: Connection, table: Table, incident_id: int) -> list[Row[Any]]:
    """The rows of ``table`` (an incident's updates or notes) of one incident, oldest first."""
    query = select(table).where(table.c.incident_id == incident_id).order_by(table.c.id)
    return list(connection.execute(query))


def timeline(connection: Connection, incident_id: int) -> list[Row[Any]]:
    return _of_incident(connection, incident_updates, incident_id)


def notes(connection: Connection, incident_id: int) -> list[Row[Any]]:
    return _of_incident(connection, incident_notes, incident_id)


def deliveries(connection: Connection, workspace_id: str, incident_id: int) -> list[Row[Any]]:
    return list(
        connection.execute(
            select(notification_deliveries)
            .where(
                notification_deliveries.c.workspace_id == workspace_id,
                notification_deliveries.c.incident_id == incident_id,
            )
            .order_by(notification_deliveries.c.id)
        )
    )


# -- what people do ----------------------------------------------------------------------------


def acknowledge(
    connection: Connection,
    workspace_id: str,
    incident_id: int,
    *,
    by: str,
    at: datetime,
    actor: str | None = None,
) -> IncidentRecord:
    """Mark the incident acknowledged (the first acknowledgement stands; repeats are no-ops).
    ``actor`` is who signed in (the audit trail's "who"), ``by`` the name shown."""
    record = require_incident(connection, workspace_id, incident_id)
    if record.acknowledged_at is not None:
        return record
    record.acknowledged_at, record.acknowledged_by = at, by
    acknowledged = phrase("Acknowledged by %(by)s.", by=by)
    connection.execute(
        update(incidents)
        .where(incidents.c.id == incident_id)
        .values(acknowledged_at=at, acknowledged_by=by)
    )
    connection.execute(
        insert(incident_updates).values(
            incident_id=incident_id,
            time=at,
            kind="acknowledged",
            phase=record.phase,
            message=str(acknowledged),
            text=text_json(acknowledged),
        )
    )
    # A shared token's user may type a name: the trail keeps both the sign-in and that name.
    named = {"signed_as": by} if actor and actor != by else {}
    audit.record(
        connection,
        workspace_id,
        actor or by,
        "incident_acknowledged",
        f"incident {incident_id}",
        at,
        **named,
    )
    return record


def add_note(
    connection: Connection,
    workspace_id: str,
    incident_id: int,
    *,
    author: str,
    text: str,
    at: datetime,
    actor: str | None = None,
) -> Row[Any]:
    require_incident(connection, workspace_id, incident_id)
    audit.record(
        connection,
        workspace_id,
        actor or author,
        "incident_note_added",
        f"incident {incident_id}",
        at,
        characters=len(text),
    )
    note_id = connection.execute(
        insert(incident_notes)
        .values(incident_id=incident_id, time=at, author=author, text=text)
        .returning(incident_notes.c.id)
    ).scalar_one()
    return connection.execute(select(incident_notes).where(incident_notes.c.id == note_id)).one()
