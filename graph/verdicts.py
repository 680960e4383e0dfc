"""Per-journey verdicts: walk each flow from where the entity entered it, hop by hop.

The walk starts at the systems where the entity appeared with no upstream system of the flow
having seen it. Each link out of a reached system is judged:

- ``ok``: the entity reached the far side within ``sla + tolerance`` with the same data;
- ``pending``: not there yet, but ``as_of`` is still inside the SLA;
- ``failed``: not there past the SLA (mode from the calls, see :func:`graph.hops.failure_mode`),
  there too late (``late``), or there with different data (``mismatch``);
- ``blocked``: the entity never reached the near side because an upstream hop failed.

Only the first failed hop of a journey is ``blamed``: a downstream link is never held
responsible for what never reached it. A retry that succeeds inside the SLA is simply ``ok``.

Hops whose near side reports stock quantities are judged by :mod:`graph.stock` instead.

>>> from graph.model import Topology
>>> from graph.plan import compile_plan
>>> from graph.calls import CallLogs
>>> from graph.journeys import Seen
>>> plan = compile_plan(Topology.model_validate({
...     "systems": [{"id": "shop", "kind": "woocommerce", "vendor": "Agency"},
...                 {"id": "oms", "kind": "baselinker", "vendor": "BaseLinker"}],
...     "links": [{"flow": "order", "from": "shop", "to": "oms", "initiator": "to",
...                "owner": "BaseLinker", "sla_seconds": 600}]}))
>>> facts = [Seen(0.0, "e1", "order", "shop", "processing", None, None)]
>>> verdict = judge_journey(facts, plan, Clock(5000.0), CallLogs())
>>> hop = verdict.flows[0].hops[0]
>>> hop.status, hop.mode, plan.responsible(hop.link, hop.mode)
('failed', 'missing', 'BaseLinker')
"""

from __future__ import annotations

from dataclasses import replace

from graph.hops import (
    Clock,
    FlowVerdict,
    Hop,
    JourneyVerdict,
    SharedCalls,
    failure_mode,
    sample_calls,
    spoken_duration,
)
from graph.journeys import Call, Fact, Seen, data_difference
from graph.plan import FlowPlan, Plan
from graph.stock import judge_stock_hop, readings

_REACHED, _PENDING, _BLOCKED = "reached", "pending", "blocked"


def judge_journey(
    facts: list[Fact], plan: Plan, clock: Clock, shared: SharedCalls
) -> JourneyVerdict:
    """Judge every flow the journey's facts touch, as of ``clock``.

    ``facts`` may be in any order; only those at or before ``clock.at`` count.
    """
    facts.sort(key=_fact_order)
    by_flow: dict[str, list[Fact]] = {}
    for fact in facts:
        if not clock.reached(fact.time):
            break  # sorted: the first fact past as_of already set the validity bound
        by_flow.setdefault(fact.flow, []).append(fact)
    flows: list[FlowVerdict] = []
    uses_shared = False
    for flow in sorted(by_flow):
        flow_plan = plan.flows.get(flow)
        if flow_plan is None:
            continue
        verdict, consulted = _judge_flow(flow_plan, by_flow[flow], plan, clock, shared)
        uses_shared = uses_shared or consulted
        if verdict.hops or verdict.readings:
            flows.append(verdict)
    return JourneyVerdict(tuple(flows), clock.lo, clock.hi, uses_shared)


def _fact_order(fact: Fact) -> tuple[float, str]:
    return fact.time, fact.event


def _judge_flow(
    flow: FlowPlan, facts: list[Fact], plan: Plan, clock: Clock, shared: SharedCalls
) -> tuple[FlowVerdict, bool]:
    seen: dict[str, list[Seen]] = {}
    calls: dict[int, list[Call]] = {}
    presence: dict[str, float] = {}
    counted: set[str] = set()  # systems that report quantities: their hops are stock hops
    for fact in facts:
        if isinstance(fact, Seen):
            seen.setdefault(fact.system, []).append(fact)
            if fact.quantity is not None:
                counted.add(fact.system)
            if fact.system not in presence:
                presence[fact.system] = fact.time
        else:
            link = plan.link_by_call.get((fact.flow, fact.caller, fact.target))
            if link is None:
                continue
            calls.setdefault(link, []).append(fact)
            # A call carrying the entity proves the link's near side held it.
            source = plan.links[link].from_
            if source not in presence or fact.time < presence[source]:
                presence[source] = fact.time
    on_path = [s for s in flow.order if s in presence]
    entries = {s for s in on_path if not (flow.ancestors[s] & presence.keys())}
    state: dict[str, str] = {s: _REACHED for s in entries}
    tainted: set[str] = set()
    hops: list[Hop] = []
    consulted = False
    for system in flow.order:
        here = state.get(system)
        if here is None:
            continue
        for link in flow.out_links.get(system, ()):
            spec = plan.links[link]
            if here == _BLOCKED:
                hop = Hop(flow.name, link, "blocked")
            elif here == _PENDING:
                hop = Hop(flow.name, link, "pending")
            elif system in counted:
                judged = judge_stock_hop(
                    flow.name,
                    link,
                    spec,
                    seen[system],
                    seen.get(spec.to, []),
                    calls.get(link, []),
                    clock,
                    shared,
                )
                if judged is None:
                    continue  # the far side does not carry this item, and nobody sent it there
                hop, used = judged
                consulted = consulted or used
            else:
                hop, used = _judge_order_hop(
                    flow.name, link, presence, seen, calls.get(link, []), clock, shared, plan
                )
                consulted = consulted or used
            if hop.status == "failed" and system not in tainted:
                hop = _blame(hop)
            if hop.status == "failed" or system in tainted:
                tainted.add(spec.to)
            hops.append(hop)
            state[spec.to] = _combine(state.get(spec.to), hop)
    return FlowVerdict(flow.name, tuple(hops), readings(flow, seen)), consulted


def _blame(hop: Hop) -> Hop:
    return replace(hop, blamed=True)


def _combine(current: str | None, hop: Hop) -> str:
    """The far side's state: reached if any way in arrived, else pending, else blocked.

    A stock item is always "there" downstream, showing some quantity, so the next hop is
    judged on what it shows.
    """
    if hop.status == "ok" or hop.arrived is not None or hop.quantities is not None:
        mine = _REACHED
    elif hop.status == "pending":
        mine = _PENDING
    else:
        mine = _BLOCKED
    ranks = {_REACHED: 0, _PENDING: 1, _BLOCKED: 2}
    if current is None or ranks[mine] < ranks[current]:
        return mine
    return current


def _judge_order_hop(
    flow: str,
    link: int,
    presence: dict[str, float],
    seen: dict[str, list[Seen]],
    calls: list[Call],
    clock: Clock,
    shared: SharedCalls,
    plan: Plan,
) -> tuple[Hop, bool]:
    spec = plan.links[link]
    entered = presence[spec.from_]
    deadline = entered + spec.sla_seconds
    arrived = presence.get(spec.to)
    evidence = sample_calls(calls)
    if arrived is not None:
        if arrived > deadline + clock.skew:
            return Hop(
                flow,
                link,
                "failed",
                "late",
                entered,
                arrived,
                deadline,
                entered,
                arrived,
                calls=evidence,
                detail=f"took {spoken_duration(arrived - entered)} "
                f"against {spoken_duration(spec.sla_seconds)}",
            ), False
        return _compare_data(
            flow,
            link,
            spec.from_,
            spec.to,
            seen,
            entered,
            arrived,
            deadline,
            evidence,
            spec.sla_seconds,
            clock,
        ), False
    if not clock.reached(deadline + clock.skew):
        return Hop(flow, link, "pending", None, entered, None, deadline, calls=evidence), False
    mode, shown, used = failure_mode(spec, calls, entered, deadline, clock, shared)
    last = max([entered, *(c.time for c in shown)])
    return Hop(
        flow, link, "failed", mode, entered, None, deadline, entered, last, True, calls=shown
    ), used


def _compare_data(
    flow: str,
    link: int,
    upstream: str,
    downstream: str,
    seen: dict[str, list[Seen]],
    entered: float,
    arrived: float,
    deadline: float,
    evidence: tuple[Call, ...],
    sla: float,
    clock: Clock,
) -> Hop:
    """``ok``, or ``mismatch`` when both sides state a fact differently past the SLA."""
    mine = _latest_data(seen.get(upstream))
    theirs = _latest_data(seen.get(downstream))
    difference = data_difference(mine[1], theirs[1]) if mine and theirs else None
    if difference is None or mine is None or theirs is None:
        return Hop(flow, link, "ok", None, entered, arrived, deadline, calls=evidence)
    # The far side gets one SLA to catch up with an edit made on the near side.
    since = max(arrived, mine[0], theirs[0])
    key, a, b = difference
    detail = f"{key} {a} in {upstream} but {b} in {downstream}"
    if not clock.reached(since + sla + clock.skew):
        return Hop(
            flow, link, "pending", None, entered, arrived, deadline, calls=evidence, detail=detail
        )
    return Hop(
        flow,
        link,
        "failed",
        "mismatch",
        entered,
        arrived,
        deadline,
        since,
        max(theirs[0], mine[0]),
        True,
        calls=evidence,
        detail=detail,
    )


def _latest_data(seen: list[Seen] | None) -> tuple[float, tuple[tuple[str, str], ...]] | None:
    latest: tuple[float, tuple[tuple[str, str], ...]] | None = None
    for fact in seen or ():
        if fact.data is not None:
            latest = (fact.time, fact.data)
    return latest
