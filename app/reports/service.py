"""SLA reports per link and per vendor for a period: what an agency attaches to a penalty claim.

- *availability* of a link: the share of the period without an open incident on it (an
  incident is open from ``opened_at`` to ``resolved_at``; a ``down`` incident of a system counts
  against each link it covers);
- *incidents*: with time to detect (first failure → opened) and time to resolve (opened →
  resolved), and the entities they affected (their peak count);
- *SLA breaches*: entities whose hop over the link did not complete within its SLA in the
  period, next to those that did (from the diagnosis of the whole period);
- *money* (:mod:`app.reports.claims`): each incident's impact, each vendor's penalty under its
  contract with the formula applied, and the running costs spent while the order flow was down.

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

from app.contracts.penalties import Amount, VendorPenalty, union_seconds
from app.incidents.models import incident_url
from app.incidents.service import record_of
from app.incidents.tables import incidents
from app.maintenance.service import outside_maintenance, windows_between
from app.reports.claims import Day, RunningCosts, money
from app.reports.impact import Impact
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
    impact: Impact | None = Field(default=None, description="What the incident cost in money.")


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
    penalties: list[VendorPenalty] = Field(
        default_factory=list,
        description="Per vendor with a contract and per calendar month: breaches, the formula "
        "applied to each, the cap, and what is owed.",
    )
    penalties_owed: list[Amount] = Field(
        default_factory=list, description="What the vendors owe in all, per currency."
    )
    vendors_without_contract: list[str] = Field(default_factory=list)
    value_affected: list[Amount] = Field(
        default_factory=list, description="Value of the orders the incidents held up, per currency."
    )
    running_costs: RunningCosts | None = Field(
        default=None, description="Hourly costs spent while the order flow was down."
    )
    days: list[Day] = Field(
        default_factory=list, description="Availability per vendor and money at stake, per day."
    )


_FROM_RECORD = ("id", "system", "mode", "responsible", "first_failure", "opened_at", "resolved_at")
"""What an incident's line in the report takes as it is from the incident."""


def _key(link: LinkRef) -> str:
    return f"{link.flow}:{link.from_}:{link.to}"


def _mean(values: Iterable[float]) -> float | None:
    found = list(values)
    return round(sum(found) / len(found), 1) if found else None


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
        vendors = sorted(
            {s.vendor for s in topology.systems}
            | {link.owner for link in topology.links}
            | {r.responsible for r in records}
        )
        # A period older than the live index is judged from the store (the index built for it
        # serves the orders' impact and the links' health alike).
        index, lock = runtime.indexes.index(workspace_id, since=since)
        claims = money(
            connection,
            runtime,
            topology,
            workspace_id,
            records,
            vendors,
            since,
            until,
            index_lock=(index, lock),
        )
        planned = windows_between(connection, workspace_id, since, until)
    with lock:
        health = index.link_health(topology, as_of=until, window_seconds=max(period, 1.0))

    found: list[IncidentSla] = []
    spans: dict[str, list[tuple[datetime, datetime]]] = {}
    for record in records:
        assert record.id is not None
        start = max(record.opened_at, since)
        stop = min(record.resolved_at or until, until)
        for link in record.links or ([record.link] if record.link else []):
            # Planned maintenance of the link's systems is not downtime.
            spans.setdefault(_key(link), []).extend(
                outside_maintenance(start, stop, (link.from_, link.to), planned)
            )
        found.append(
            IncidentSla(
                **{name: getattr(record, name) for name in _FROM_RECORD},
                url=incident_url(runtime.settings, workspace_id, record.id),
                link=_key(record.link) if record.link is not None else None,
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
                impact=claims.impacts.get(record.id),
            )
        )

    links: list[LinkSla] = []
    for spec, figures in zip(topology.links, health, strict=True):
        key = _key(figures.link)
        down = union_seconds(spans.get(key, []))
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
        # The money half as the claims have it (each incident's impact is on its line above).
        **{name: value for name, value in claims if name != "impacts"},
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
    # Money (added after the columns above, so scripts reading by position keep working).
    "period_start",
    "period_end",
    "breach",
    "promised_seconds",
    "measured_seconds",
    "hours_beyond",
    "currency",
    "amount",
    "formula",
    "incident_ids",
)


def report_csv(report: SlaReport) -> str:
    """One header row, then a row per link, per vendor and per incident, then the money: a row
    per penalty breach and per vendor-month owed, per incident and currency the value affected
    and still stuck and the running cost, and the running costs in all (``scope`` says which)."""
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
    _money_rows(writer, report)
    return out.getvalue()


def _money_rows(writer: csv.DictWriter[str], report: SlaReport) -> None:
    for month in report.penalties:
        period = {
            "name": month.vendor,
            "vendor": month.vendor,
            "period_start": month.period_start.isoformat(),
            "period_end": month.period_end.isoformat(),
            "currency": month.currency,
        }
        for breach in month.breaches:
            writer.writerow(
                period
                | {
                    "scope": "penalty",
                    "breach": breach.kind,
                    "promised_seconds": breach.promised_seconds,
                    "measured_seconds": breach.measured_seconds,
                    "hours_beyond": breach.hours_beyond,
                    "amount": breach.amount,
                    "formula": breach.formula,
                    "incident_ids": " ".join(str(i.incident_id) for i in breach.incidents),
                    "url": breach.incidents[0].url if breach.incidents else "",
                }
            )
        cap = f", cap {month.cap:.2f}" if month.cap is not None else ""
        writer.writerow(
            period
            | {
                "scope": "penalty_owed",
                "availability": month.availability,
                "incidents": month.incidents,
                "downtime_seconds": month.downtime_seconds,
                "amount": month.owed,
                "formula": f"sum of {len(month.breaches)} breaches {month.total:.2f}{cap}",
            }
        )
    for incident in report.incidents:
        impact = incident.impact
        if impact is None:
            continue
        name = incident.link or f"system:{incident.system}"
        lines = [("incident_value_affected", a) for a in impact.value_affected]
        lines += [("incident_value_stuck", a) for a in impact.value_stuck]
        if impact.running_cost is not None:
            lines.append(("incident_running_cost", impact.running_cost))
        for scope, amount in lines:
            writer.writerow(
                {
                    "scope": scope,
                    "name": name,
                    "vendor": incident.responsible,
                    "entities_affected": impact.orders_affected,
                    "currency": amount.currency,
                    "amount": amount.amount,
                    "incident_ids": incident.id,
                    "url": incident.url,
                }
            )
    costs = report.running_costs
    if costs is not None:
        writer.writerow(
            {
                "scope": "running_cost",
                "name": "order flow down",
                "downtime_seconds": costs.order_flow_down_seconds,
                "currency": costs.spent.currency,
                "amount": costs.spent.amount,
                "formula": f"{costs.per_hour:.2f}/h x {costs.order_flow_down_seconds / 3600:.2f} h",
                "period_start": report.since.isoformat(),
                "period_end": report.until.isoformat(),
            }
        )


def _blank(value: float | None) -> float | str:
    return "" if value is None else value
