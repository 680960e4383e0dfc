"""SLA reports per link and per vendor for a period: what an agency attaches to a penalty claim.

- *availability* of a link: the share of the period without an open incident on it (an
  incident is open from ``opened_at`` to ``resolved_at``; a ``down`` incident of a system counts
  against each link it covers);
- *incidents*: with time to detect (first failure → opened) and time to resolve (opened →
  resolved), and the entities they affected (their peak count);
- *SLA breaches*: entities whose hop over the link did not complete within its SLA in the
  period, next to those that did (from the diagnosis of the whole period).

Per vendor: the incidents it was responsible for (downtime, mean times to detect and resolve,
entities affected) and the breaches on the links it owns.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import or_, select

from app.incidents.models import incident_url
from app.incidents.service import record_of
from app.incidents.tables import incidents
from app.runtime import Runtime
from graph.results import LinkRef


class IncidentSla(BaseModel):
    id: int
    url: str
    link: str | None = Field(description="flow:from:to, or null for a system that was down")
    system: str | None
    mode: str
    responsible: str
    first_failure: datetime
    opened_at: datetime
    resolved_at: datetime | None
    time_to_detect_seconds: float
    time_to_resolve_seconds: float | None
    downtime_seconds: float = Field(description="Open time inside the period.")
    entities_affected: int


class LinkSla(BaseModel):
    link: LinkRef
    owner: str
    sla_seconds: float
    availability: float = Field(description="Share of the period without an open incident.")
    downtime_seconds: float
    incidents: int
    entities_affected: int
    sla_breaches: int = Field(description="Entities that did not cross within the SLA.")
    entities_on_time: int
    compliance: float | None = Field(description="on time / (on time + breaches)")


class VendorSla(BaseModel):
    vendor: str
    incidents: int
    downtime_seconds: float
    mean_time_to_detect_seconds: float | None
    mean_time_to_resolve_seconds: float | None
    entities_affected: int
    links_owned: int
    sla_breaches: int = Field(description="Breaches on the links this vendor owns.")


class SlaReport(BaseModel):
    workspace: str
    since: datetime
    until: datetime
    links: list[LinkSla]
    vendors: list[VendorSla]
    incidents: list[IncidentSla]


def _key(link: LinkRef) -> str:
    return f"{link.flow}:{link.from_}:{link.to}"


def _mean(values: Iterable[float]) -> float | None:
    found = list(values)
    return round(sum(found) / len(found), 1) if found else None


def _union_seconds(spans: list[tuple[datetime, datetime]]) -> float:
    total, end = 0.0, None
    for start, stop in sorted(spans):
        if end is not None and start < end:
            start = end
        if stop > start:
            total += (stop - start).total_seconds()
            end = stop if end is None else max(end, stop)
    return total


def sla_report(runtime: Runtime, workspace_id: str, since: datetime, until: datetime) -> SlaReport:
    topology = runtime.indexes.topology(workspace_id)  # 404 / 409 as the rest of the API
    period = (until - since).total_seconds()
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            select(incidents)
            .where(
                incidents.c.workspace_id == workspace_id,
                incidents.c.opened_at < until,
                or_(incidents.c.resolved_at.is_(None), incidents.c.resolved_at > since),
            )
            .order_by(incidents.c.opened_at, incidents.c.id)
        ).all()
    records = [record_of(row) for row in rows]
    index, lock = runtime.indexes.index(workspace_id)
    with lock:
        health = index.link_health(topology, as_of=until, window_seconds=max(period, 1.0))

    found: list[IncidentSla] = []
    spans: dict[str, list[tuple[datetime, datetime]]] = {}
    for record in records:
        assert record.id is not None
        start = max(record.opened_at, since)
        stop = min(record.resolved_at or until, until)
        for link in record.links or ([record.link] if record.link else []):
            spans.setdefault(_key(link), []).append((start, stop))
        found.append(
            IncidentSla(
                id=record.id,
                url=incident_url(runtime.settings, workspace_id, record.id),
                link=_key(record.link) if record.link is not None else None,
                system=record.system,
                mode=record.mode,
                responsible=record.responsible,
                first_failure=record.first_failure,
                opened_at=record.opened_at,
                resolved_at=record.resolved_at,
                time_to_detect_seconds=max(
                    (record.opened_at - record.first_failure).total_seconds(), 0.0
                ),
                time_to_resolve_seconds=(
                    (record.resolved_at - record.opened_at).total_seconds()
                    if record.resolved_at is not None
                    else None
                ),
                downtime_seconds=max((stop - start).total_seconds(), 0.0),
                entities_affected=record.peak_affected,
            )
        )

    links: list[LinkSla] = []
    for spec, figures in zip(topology.links, health, strict=True):
        key = _key(figures.link)
        down = _union_seconds(spans.get(key, []))
        mine = [i for i, r in zip(found, records, strict=True) if key in {_key(x) for x in r.links}]
        on_time, breaches = figures.entities.ok, figures.entities.failed
        links.append(
            LinkSla(
                link=figures.link,
                owner=spec.owner,
                sla_seconds=spec.sla_seconds,
                availability=round(1 - down / period, 6) if period > 0 else 1.0,
                downtime_seconds=down,
                incidents=len(mine),
                entities_affected=sum(i.entities_affected for i in mine),
                sla_breaches=breaches,
                entities_on_time=on_time,
                compliance=round(on_time / (on_time + breaches), 6) if on_time + breaches else None,
            )
        )

    vendors = sorted(
        {s.vendor for s in topology.systems}
        | {link.owner for link in topology.links}
        | {i.responsible for i in found}
    )
    by_vendor: list[VendorSla] = []
    for vendor in vendors:
        theirs = [i for i in found if i.responsible == vendor]
        owned = [link for link in links if link.owner == vendor]
        by_vendor.append(
            VendorSla(
                vendor=vendor,
                incidents=len(theirs),
                downtime_seconds=sum(i.downtime_seconds for i in theirs),
                mean_time_to_detect_seconds=_mean(i.time_to_detect_seconds for i in theirs),
                mean_time_to_resolve_seconds=_mean(
                    i.time_to_resolve_seconds
                    for i in theirs
                    if i.time_to_resolve_seconds is not None
                ),
                entities_affected=sum(i.entities_affected for i in theirs),
                links_owned=len(owned),
                sla_breaches=sum(link.sla_breaches for link in owned),
            )
        )
    return SlaReport(
        workspace=workspace_id,
        since=since,
        until=until,
        links=links,
        vendors=by_vendor,
        incidents=found,
    )


CSV_COLUMNS = (
    "scope",
    "name",
    "vendor",
    "availability",
    "incidents",
    "downtime_seconds",
    "mean_time_to_detect_seconds",
    "mean_time_to_resolve_seconds",
    "entities_affected",
    "sla_breaches",
    "entities_on_time",
    "mode",
    "opened_at",
    "resolved_at",
    "url",
)


def report_csv(report: SlaReport) -> str:
    """One header row, then a row per link, per vendor and per incident (``scope`` says which)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for link in report.links:
        writer.writerow(
            {
                "scope": "link",
                "name": _key(link.link),
                "vendor": link.owner,
                "availability": link.availability,
                "incidents": link.incidents,
                "downtime_seconds": link.downtime_seconds,
                "entities_affected": link.entities_affected,
                "sla_breaches": link.sla_breaches,
                "entities_on_time": link.entities_on_time,
            }
        )
    for vendor in report.vendors:
        writer.writerow(
            {
                "scope": "vendor",
                "name": vendor.vendor,
                "vendor": vendor.vendor,
                "incidents": vendor.incidents,
                "downtime_seconds": vendor.downtime_seconds,
                "mean_time_to_detect_seconds": _blank(vendor.mean_time_to_detect_seconds),
                "mean_time_to_resolve_seconds": _blank(vendor.mean_time_to_resolve_seconds),
                "entities_affected": vendor.entities_affected,
                "sla_breaches": vendor.sla_breaches,
            }
        )
    for incident in report.incidents:
        writer.writerow(
            {
                "scope": "incident",
                "name": incident.link or f"system:{incident.system}",
                "vendor": incident.responsible,
                "incidents": 1,
                "downtime_seconds": incident.downtime_seconds,
                "mean_time_to_detect_seconds": incident.time_to_detect_seconds,
                "mean_time_to_resolve_seconds": _blank(incident.time_to_resolve_seconds),
                "entities_affected": incident.entities_affected,
                "mode": incident.mode,
                "opened_at": incident.opened_at.isoformat(),
                "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else "",
                "url": incident.url,
            }
        )
    return out.getvalue()


def _blank(value: float | None) -> float | str:
    return "" if value is None else value
