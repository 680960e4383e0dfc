"""What an incident cost in money: the orders it held up, those still stuck, the running costs
spent meanwhile, and the orders that never came while the shop could not take them.

- *Affected orders* are the entities whose first failed hop (the one counted against a link,
  DESIGN.md) lies on one of the incident's order-flow links during the outage; each one's value
  is the ``data.total`` in ``data.currency`` its events carry (the ``from`` side's first). The
  candidates are the entities seen at the links' ``from`` systems during the outage (read from
  the store); each one's journey is judged by the diagnosis index, as its trace shows it.
- *Stuck* are those of them still not across the link at ``as_of``.
- *Running cost*: the workspace's hourly costs over the outage (first failure to the return of
  health), when the incident is on the order flow.
- *Missed orders*, only when the order flow's entry system (the shop) was down or failed to
  answer: the orders it took during the outage against the range usually taken in the same
  weekday and hours of the past weeks (:mod:`app.reports.expected`), valued at the usual order
  value per currency. A range, never one figure; nothing when no past week is held.

Amounts are summed per currency, never across currencies.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Connection, func, select

from app.contracts.models import Costs, cents
from app.contracts.penalties import Amount, totals
from app.contracts.service import find_costs
from app.db.tables import events
from app.exceptions import NOTHING_TO_JUDGE
from app.i18n import N_
from app.incidents.lifecycle import IncidentRecord
from app.reports.expected import LEVEL, expected_count
from graph.index import WorkspaceIndex
from graph.model import Topology
from graph.results import LinkRef, Trace

if TYPE_CHECKING:  # annotations only: the runtime holds the incidents that import this
    from app.runtime import Runtime

log = logging.getLogger("arbiter.reports")

ORDER_FLOW = "order"
MAX_CANDIDATES = 5000
"""Entities judged per incident at most: each is a trace under the index's lock."""
WEEKS = 4
LOOKBACK = timedelta(days=1)
"""An order seen in a stretch counts as new there unless seen in the day before it."""


class MissedOrders(BaseModel):
    entry_system: str
    since: datetime
    until: datetime
    weeks_compared: int = Field(description="Past weeks of the same weekday and hours held.")
    usual: float = Field(description="Mean orders those weeks took in the same hours.")
    level: float = Field(description="Share of outcomes the ranges cover.")
    expected_low: int
    expected_high: int
    arrived: int = Field(description="Orders the entry system took during the outage.")
    missed_low: int
    missed_high: int
    value_low: list[Amount] = Field(description="missed_low at the usual order value.")
    value_high: list[Amount] = Field(description="missed_high at the usual order value.")


class Impact(BaseModel):
    as_of: datetime
    outage_start: datetime = Field(description="The first failure.")
    outage_end: datetime | None = Field(description="Health returned; null while it lasts.")
    outage_seconds: float
    orders_affected: int
    value_affected: list[Amount] = Field(description="Sum of their totals, per currency.")
    orders_stuck: int = Field(description="Affected orders still not across at as_of.")
    value_stuck: list[Amount]
    orders_without_value: int = Field(description="Affected orders no event gave a total.")
    orders_unchecked: int = Field(
        description="Orders seen during the outage that could not be judged (no longer in the "
        "diagnosis window, or beyond the number judged per incident): not counted above."
    )
    running_cost: Amount | None = Field(
        description="Hourly running costs over the outage (order-flow incidents only)."
    )
    missed_orders: MissedOrders | None
    missed_orders_note: str | None = Field(description="Why there is no missed-orders range.")


def _amount(data: Any) -> Amount | None:
    if not isinstance(data, dict):
        return None
    total, currency = data.get("total"), data.get("currency")
    if not isinstance(total, str | int | float) or not isinstance(currency, str):
        return None
    try:
        value = Decimal(str(total))
    except InvalidOperation:
        return None
    if not value.is_finite() or len(currency) != 3:
        return None
    return Amount(currency=currency.upper(), amount=value)


def order_value(trace_events: Iterable[dict[str, Any]], prefer: str) -> Amount | None:
    """The order's total: the latest the ``prefer`` system reported, else the latest of any."""
    found: Amount | None = None
    for event in sorted(trace_events, key=lambda e: (e.get("system") == prefer, e["time"])):
        found = _amount(event.get("data")) or found
    return found


def _key(link: LinkRef) -> tuple[str, str, str]:
    return (link.flow, link.from_, link.to)


def incident_links(record: IncidentRecord) -> list[LinkRef]:
    return record.links or ([record.link] if record.link is not None else [])


def restored_at(record: IncidentRecord) -> datetime | None:
    """When health returned to the incident's links, None while they fail: ``healthy_since``
    is set while an incident is monitored, kept once it is resolved, cleared if it fails again
    (the quiet time before resolving is not part of the outage)."""
    if record.healthy_since is not None:
        return record.healthy_since
    return record.resolved_at if record.status == "resolved" else None


@dataclass
class _Tally:
    affected: int = 0
    stuck: int = 0
    without_value: int = 0
    unchecked: int = 0

    def __post_init__(self) -> None:
        self.values: list[Amount] = []
        self.stuck_values: list[Amount] = []


def _orders_seen(workspace_id: str) -> tuple[ColumnElement[bool], ...]:
    """Which stored events are the workspace's orders seen at a system."""
    return (
        events.c.workspace_id == workspace_id,
        events.c.flow == ORDER_FLOW,
        events.c.kind == "seen",
    )


def _candidates(
    connection: Connection,
    workspace_id: str,
    systems: Sequence[str],
    since: datetime,
    until: datetime,
) -> list[tuple[str, str]]:
    """One identifier of every order the ``systems`` reported between the two moments."""
    rows = connection.execute(
        select(events.c.system, events.c.body)
        .where(
            *_orders_seen(workspace_id),
            events.c.system.in_(systems),
            events.c.time >= since,
            events.c.time <= until,
        )
        .order_by(events.c.time, events.c.seq)
    )
    found: dict[tuple[str, str], None] = {}
    for row in rows:
        refs = _refs(_parsed(row.body))
        if refs:
            ref = (row.system, refs[row.system]) if row.system in refs else min(refs.items())
            found[ref] = None
    return list(found)


def _parsed(body: str) -> dict[str, Any]:
    """The stored event's JSON (an unreadable row is skipped here, as every read skips it)."""
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _refs(event: dict[str, Any]) -> dict[str, str]:
    refs = event.get("refs")
    return {k: v for k, v in refs.items() if isinstance(v, str)} if isinstance(refs, dict) else {}


def _judge(
    index: WorkspaceIndex,
    topology: Topology,
    candidates: Sequence[tuple[str, str]],
    links: Sequence[LinkRef],
    start: datetime,
    end: datetime,
    as_of: datetime,
) -> _Tally:
    tally = _Tally(unchecked=max(len(candidates) - MAX_CANDIDATES, 0))
    wanted = {_key(link) for link in links}
    done: set[tuple[str, str]] = set()
    for namespace, value in candidates[:MAX_CANDIDATES]:
        if (namespace, value) in done:
            continue
        trace: Trace | None = index.trace(topology, namespace, value, as_of=as_of)
        if trace is None:
            tally.unchecked += 1
            continue
        done.update((ns, v) for ns, values in trace.refs.items() for v in values)
        hop = next(
            (
                h
                for h in trace.hops
                if h.blamed
                and _key(h.link) in wanted
                and (h.entered is None or h.entered <= end)
                and (h.arrived is None or h.arrived >= start)
            ),
            None,
        )
        if hop is None:
            continue
        tally.affected += 1
        stuck = hop.arrived is None and hop.status == "failed"
        tally.stuck += stuck
        amount = order_value(trace.events, hop.link.from_)
        if amount is None:
            tally.without_value += 1
            continue
        tally.values.append(amount)
        if stuck:
            tally.stuck_values.append(amount)
    return tally


def entry_systems(topology: Topology) -> list[str]:
    """Systems where orders enter the order flow: no order link leads into them."""
    order_links = [link for link in topology.links if link.flow == ORDER_FLOW]
    targets = {link.to for link in order_links}
    return sorted({link.from_ for link in order_links} - targets)


def _shop_was_down(record: IncidentRecord, entries: Sequence[str]) -> str | None:
    """The entry system that could not take orders during the incident, if the incident says
    one could not: it was down, or it failed to answer the calls on its outgoing link."""
    if record.mode == "down" and record.system in entries:
        return record.system
    link = record.link
    if (
        link is not None
        and link.flow == ORDER_FLOW
        and link.from_ in entries
        and record.mode == "unavailable"
    ):
        return link.from_
    return None


def _new_orders(
    connection: Connection, workspace_id: str, system: str, since: datetime, until: datetime
) -> tuple[int, list[Amount]]:
    """Orders first seen at ``system`` in ``[since, until)``, with their values."""
    rows = connection.execute(
        select(events.c.time, events.c.body)
        .where(
            *_orders_seen(workspace_id),
            events.c.system == system,
            events.c.time >= since - LOOKBACK,
            events.c.time < until,
        )
        .order_by(events.c.time)
    )
    first: dict[str, tuple[datetime, Amount | None]] = {}
    for row in rows:
        event = _parsed(row.body)
        refs = _refs(event)
        ref = refs.get(system) or (min(refs.items())[1] if refs else None)
        if ref is None:
            continue
        amount = _amount(event.get("data"))
        known = first.get(ref)
        if known is None:
            first[ref] = (row.time, amount)
        elif known[1] is None and amount is not None:
            first[ref] = (known[0], amount)
    new = [amount for time, amount in first.values() if time >= since]
    return len(new), [a for a in new if a is not None]


def _usual_values(values: Sequence[Amount]) -> list[tuple[str, Decimal]]:
    """Per currency: its share of the orders times their mean value (what one order is worth)."""
    if not values:
        return []
    return [(t.currency, t.amount / len(values)) for t in totals(values)]


def missed_orders(
    connection: Connection,
    workspace_id: str,
    system: str,
    since: datetime,
    until: datetime,
) -> tuple[MissedOrders | None, str | None]:
    if until <= since:
        return None, N_("The outage has no length yet.")
    held_since = connection.execute(
        select(func.min(events.c.time)).where(events.c.workspace_id == workspace_id)
    ).scalar()
    weekly: list[int] = []
    values: list[Amount] = []
    for week in range(1, WEEKS + 1):
        shift = timedelta(weeks=week)
        if held_since is None or since - shift - LOOKBACK < held_since:
            break
        count, amounts = _new_orders(connection, workspace_id, system, since - shift, until - shift)
        weekly.append(count)
        values.extend(amounts)
    expected = expected_count(weekly)
    if expected is None:
        return None, N_("No past week of the same weekday and hours is held to compare with.")
    arrived, _ = _new_orders(connection, workspace_id, system, since, until)
    low, high = max(expected.low - arrived, 0), max(expected.high - arrived, 0)
    each = _usual_values(values)
    return (
        MissedOrders(
            entry_system=system,
            since=since,
            until=until,
            weeks_compared=expected.weeks,
            usual=expected.usual,
            level=LEVEL,
            expected_low=expected.low,
            expected_high=expected.high,
            arrived=arrived,
            missed_low=low,
            missed_high=high,
            value_low=[Amount(currency=c, amount=cents(v * low)) for c, v in each],
            value_high=[Amount(currency=c, amount=cents(v * high)) for c, v in each],
        ),
        None,
    )


def running_cost(costs: Costs | None, seconds: float) -> Amount | None:
    if costs is None:
        return None
    hours = Decimal(repr(max(seconds, 0.0))) / 3600
    return Amount(currency=costs.currency, amount=cents(costs.per_hour * hours))


def orders_since(record: IncidentRecord, topology: Topology) -> datetime:
    """From when the incident's orders are looked for: a failed hop entered its link at most
    the longest SLA (and an hour of slack) before its deadline passed."""
    slack = max((s.sla_seconds for s in topology.links), default=0.0) + 3600
    return record.first_failure - timedelta(seconds=slack)


def incident_impact(
    connection: Connection,
    index_lock: tuple[WorkspaceIndex, Any],
    topology: Topology,
    workspace_id: str,
    record: IncidentRecord,
    *,
    as_of: datetime,
    costs: Costs | None,
) -> Impact:
    """The incident's impact in money as of ``as_of`` (see the module's description)."""
    start = record.first_failure
    restored = restored_at(record)
    end = min(restored, as_of) if restored is not None else as_of
    links = [link for link in incident_links(record) if link.flow == ORDER_FLOW]
    tally = _Tally()
    if links:
        candidates = _candidates(
            connection,
            workspace_id,
            sorted({link.from_ for link in links}),
            orders_since(record, topology),
            end,
        )
        index, lock = index_lock
        with lock:
            tally = _judge(index, topology, candidates, links, start, end, as_of)
    seconds = max((end - start).total_seconds(), 0.0)
    shop = _shop_was_down(record, entry_systems(topology))
    missed: MissedOrders | None = None
    # English in the API; marked so that a page says it in the reader's language (_()).
    note: str | None = N_("Only counted while the shop (the order flow's entry) was down.")
    if shop is not None:
        missed, note = missed_orders(connection, workspace_id, shop, start, end)
    return Impact(
        as_of=as_of,
        outage_start=start,
        outage_end=restored if restored is not None and restored <= as_of else None,
        outage_seconds=seconds,
        orders_affected=tally.affected,
        value_affected=totals(tally.values),
        orders_stuck=tally.stuck,
        value_stuck=totals(tally.stuck_values),
        orders_without_value=tally.without_value,
        orders_unchecked=tally.unchecked,
        running_cost=running_cost(costs, seconds) if links else None,
        missed_orders=missed,
        missed_orders_note=note,
    )


def safe_impact(
    connection: Connection,
    runtime: Runtime,
    workspace_id: str,
    record: IncidentRecord,
    *,
    as_of: datetime,
    topology: Topology | None = None,
    costs: Costs | None = None,
    index_lock: tuple[WorkspaceIndex, Any] | None = None,
) -> Impact | None:
    """The incident's impact, or None (logged) when it cannot be computed: the incident and
    the report are answered without it rather than not at all. ``index_lock``: the index to
    judge the orders with (default: the live one)."""
    try:
        return incident_impact(
            connection,
            index_lock or runtime.indexes.index(workspace_id),
            topology or runtime.indexes.topology(workspace_id),
            workspace_id,
            record,
            as_of=as_of,
            costs=costs,
        )
    except NOTHING_TO_JUDGE:  # no topology yet: nothing to judge the orders against
        return None
    except Exception:
        log.exception("impact of incident %s in %s failed", record.id, workspace_id)
        return None


def live_impact(
    runtime: Runtime, connection: Connection, workspace_id: str, record: IncidentRecord
) -> Impact | None:
    """The incident's impact now, for its page and payload. An incident that began before
    the live index's period is judged on an index of the store from its start on."""
    try:
        topology = runtime.indexes.topology(workspace_id)
        since = orders_since(record, topology)
        index_lock = runtime.indexes.index(workspace_id, since=since)
    except NOTHING_TO_JUDGE:  # no topology yet: nothing to judge the orders against
        return None
    return safe_impact(
        connection,
        runtime,
        workspace_id,
        record,
        as_of=datetime.now(UTC),
        topology=topology,
        costs=find_costs(connection, workspace_id),
        index_lock=index_lock,
    )
