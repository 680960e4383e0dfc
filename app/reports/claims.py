"""The money half of the SLA report: each incident's impact, each vendor's penalty under its
contract, the running costs spent while the order flow was down, and all of it per day."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Connection

from app.contracts.models import Costs, cents
from app.contracts.penalties import (
    Amount,
    Outage,
    VendorPenalty,
    totals,
    union_seconds,
    vendor_penalties,
)
from app.contracts.service import find_costs, list_contracts
from app.incidents.lifecycle import IncidentRecord
from app.incidents.models import incident_url
from app.reports.impact import (
    ORDER_FLOW,
    Impact,
    incident_links,
    restored_at,
    running_cost,
    safe_impact,
)
from app.runtime import Runtime
from graph.index import WorkspaceIndex
from graph.model import Topology


class RunningCosts(BaseModel):
    currency: str
    per_hour: Decimal
    order_flow_down_seconds: float = Field(
        description="Time in the period with an outage open on the order flow (overlaps once)."
    )
    spent: Amount = Field(description="per_hour over that time.")


class Day(BaseModel):
    day: date
    availability: dict[str, float] = Field(
        description="Per vendor: share of the day without its outage."
    )
    value_affected: list[Amount] = Field(
        description="Orders affected by the incidents that began that day, per currency."
    )
    running_cost: Amount | None = Field(description="Spent that day while the order flow was down.")


class Money(BaseModel):
    impacts: dict[int, Impact]
    penalties: list[VendorPenalty]
    penalties_owed: list[Amount]
    vendors_without_contract: list[str]
    running_costs: RunningCosts | None
    value_affected: list[Amount]
    days: list[Day]


_FROM_RECORD = ("mode", "responsible", "summary", "first_failure", "opened_at", "acknowledged_at")
"""What an outage takes as it is from its incident."""


def outage_of(record: IncidentRecord, url: str) -> Outage:
    assert record.id is not None
    entities = record.evidence.get("entities", []) if isinstance(record.evidence, dict) else []
    link = record.link
    return Outage(
        incident_id=record.id,
        url=url,
        where=f"{link.flow}:{link.from_}:{link.to}" if link else f"system {record.system}",
        **{name: getattr(record, name) for name in _FROM_RECORD},
        restored_at=restored_at(record),
        entities=tuple(
            f"{e['namespace']}:{e['value']}"
            for e in entities
            if isinstance(e, dict) and "namespace" in e and "value" in e
        ),
    )


def _span(outage: Outage, start: datetime, end: datetime) -> tuple[datetime, datetime]:
    return max(outage.first_failure, start), min(outage.end(end), end)


def _days(since: datetime, until: datetime) -> list[tuple[date, datetime, datetime]]:
    found = []
    day = since.date()
    while datetime.combine(day, time(), UTC) < until:
        start = max(datetime.combine(day, time(), UTC), since)
        end = min(datetime.combine(day + timedelta(days=1), time(), UTC), until)
        found.append((day, start, end))
        day += timedelta(days=1)
    return found


def _order_outages(records: Sequence[IncidentRecord], outages: Sequence[Outage]) -> list[Outage]:
    return [
        o
        for r, o in zip(records, outages, strict=True)
        if any(link.flow == ORDER_FLOW for link in incident_links(r))
    ]


def _per_day(
    vendors: Sequence[str],
    outages: Sequence[Outage],
    order_outages: Sequence[Outage],
    impacts: dict[int, Impact],
    costs: Costs | None,
    since: datetime,
    until: datetime,
) -> list[Day]:
    found: list[Day] = []
    for day, start, end in _days(since, until):
        length = (end - start).total_seconds()
        availability = {}
        for vendor in vendors:
            theirs = [
                _span(o, start, end)
                for o in outages
                if o.responsible == vendor and o.first_failure < end and o.end(end) > start
            ]
            availability[vendor] = round(1 - union_seconds(theirs) / length, 6) if length else 1.0
        began = [
            amount
            for o in outages
            if start <= o.first_failure < end and o.incident_id in impacts
            for amount in impacts[o.incident_id].value_affected
        ]
        down = union_seconds(
            _span(o, start, end)
            for o in order_outages
            if o.first_failure < end and o.end(end) > start
        )
        found.append(
            Day(
                day=day,
                availability=availability,
                value_affected=totals(began),
                running_cost=running_cost(costs, down),
            )
        )
    return found


def money(
    connection: Connection,
    runtime: Runtime,
    topology: Topology,
    workspace_id: str,
    records: Sequence[IncidentRecord],
    vendors: Sequence[str],
    since: datetime,
    until: datetime,
    index_lock: tuple[WorkspaceIndex, Any] | None = None,
) -> Money:
    """``index_lock``: the index that holds the period's journeys (default: the live one)."""
    as_of = min(until, datetime.now(UTC))
    outages = [
        outage_of(r, incident_url(runtime.settings, workspace_id, r.id or 0)) for r in records
    ]
    costs = find_costs(connection, workspace_id)
    found = {
        r.id: safe_impact(
            connection,
            runtime,
            workspace_id,
            r,
            as_of=as_of,
            topology=topology,
            costs=costs,
            index_lock=index_lock,
        )
        for r in records
        if r.id is not None
    }
    impacts = {key: impact for key, impact in found.items() if impact is not None}
    contracts = list_contracts(connection, workspace_id)
    penalties = (
        [
            month
            for contract in contracts
            for month in vendor_penalties(
                contract.vendor, contract, outages, since=since, until=as_of
            )
        ]
        if as_of > since
        else []
    )
    covered = {c.vendor.casefold() for c in contracts}
    order_outages = _order_outages(records, outages)
    running = None
    if costs is not None:
        down = union_seconds(_span(o, since, as_of) for o in order_outages)
        spent = running_cost(costs, down)
        assert spent is not None
        running = RunningCosts(
            currency=costs.currency,
            per_hour=cents(costs.per_hour),
            order_flow_down_seconds=down,
            spent=spent,
        )
    return Money(
        impacts=impacts,
        penalties=penalties,
        penalties_owed=totals(Amount(currency=p.currency, amount=p.owed) for p in penalties),
        vendors_without_contract=[v for v in vendors if v.casefold() not in covered],
        running_costs=running,
        value_affected=totals(a for i in impacts.values() for a in i.value_affected),
        days=_per_day(vendors, outages, order_outages, impacts, costs, since, as_of),
    )
