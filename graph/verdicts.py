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

from dataclasses import dataclass, replace

from graph.hops import (
    Clock,
    FlowVerdict,
    Hop,
    JourneyVerdict,
    SharedCalls,
    failure_mode,
    late_cause,
    sample_calls,
    spoken_duration,
)
from graph.journeys import Call, Fact, Seen, data_difference
from graph.plan import FlowPlan, Plan
from graph.states import StateRules
from graph.stock import judge_stock_hop, readings
from graph.text import Moment, Text, phrase

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
    lives = {
        s: life_in(seen.get(s, []), presence[s], plan.rules(s))
        for s in flow.order
        if s in presence and s not in counted
    }
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
                judged = _judge_order_hop(
                    flow, link, presence, seen, lives, calls.get(link, []), clock, shared, plan
                )
                if judged is None:
                    continue  # the entity was closed before it was due on this link
                hop, used = judged
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


@dataclass(frozen=True, slots=True)
class Life:
    """The entity's life in one system, as far as the hops out of it care.

    ``released``: when the next hop's SLA clock starts (None while it is still waiting);
    ``waiting``: the waiting state it was first seen in, and when; ``closed``: the closed
    state its life there ended in, and when (None when its latest state is not closed).
    """

    released: float | None
    waiting: tuple[str, float] | None = None
    closed: tuple[str, float] | None = None


def life_in(seen: list[Seen], present: float, rules: StateRules) -> Life:
    """Read one system's observations of the entity (time order) with its state rules.

    An unpaid order waits, then is paid: the clock starts at payment.

    >>> from graph.states import state_rules
    >>> woo = state_rules("woocommerce", None)
    >>> def at(t, state): return Seen(t, f"e{t}", "order", "shop", state, None, None)
    >>> life_in([at(0.0, "on-hold"), at(7200.0, "processing")], 0.0, woo)
    Life(released=7200.0, waiting=('on-hold', 0.0), closed=None)

    Cancelled before it was paid: closed, never released.

    >>> life_in([at(0.0, "pending"), at(600.0, "cancelled")], 0.0, woo)
    Life(released=None, waiting=('pending', 0.0), closed=('cancelled', 600.0))

    A failed payment retried and paid is not closed. Without rules, the clock starts at once.

    >>> life_in([at(0.0, "failed"), at(60.0, "processing")], 0.0, woo).closed is None
    True
    >>> life_in([at(0.0, "on-hold")], 0.0, state_rules("generic", None))
    Life(released=0.0, waiting=None, closed=None)
    """
    if not rules.known:
        return Life(present)
    released: float | None = None
    waiting: tuple[str, float] | None = None
    closed: tuple[str, float] | None = None
    stated = False
    for fact in seen:
        if fact.state is None:
            continue
        stated = True
        meaning = rules.meaning(fact.state)
        if meaning == "closed":
            if closed is None:
                closed = (fact.state, fact.time)
            continue
        closed = None
        if meaning == "waiting":
            if released is None and waiting is None:
                waiting = (fact.state, fact.time)
        elif released is None:
            released = fact.time
    if not stated:
        return Life(present)
    return Life(released, waiting, closed)


def _ended_before(
    flow: FlowPlan, system: str, lives: dict[str, Life]
) -> tuple[str, str, float] | None:
    """The earliest close of the entity at ``system`` or upstream of it: (system, state, when)."""
    ended: tuple[str, str, float] | None = None
    for where in (system, *sorted(flow.ancestors.get(system, ()))):
        life = lives.get(where)
        if life is None or life.closed is None:
            continue
        state, when = life.closed
        if ended is None or when < ended[2]:
            ended = (where, state, when)
    return ended


def _judge_order_hop(
    flow: FlowPlan,
    link: int,
    presence: dict[str, float],
    seen: dict[str, list[Seen]],
    lives: dict[str, Life],
    calls: list[Call],
    clock: Clock,
    shared: SharedCalls,
    plan: Plan,
) -> tuple[Hop, bool] | None:
    """Judge one order hop; ``None`` when the entity's journey ended before it (closed)."""
    spec = plan.links[link]
    life = lives[spec.from_]
    start = life.released
    if calls and (start is None or calls[0].time < start):
        start = calls[0].time  # an attempt to pass it on proves it was no longer waiting
    arrived = presence.get(spec.to)
    ended = _ended_before(flow, spec.from_, lives)
    evidence = sample_calls(calls)
    note = _clock_note(life, start, clock)
    if arrived is not None:
        entered = arrived if start is None else min(start, arrived)
        deadline = entered + spec.sla_seconds
        if arrived > deadline + clock.skew:
            took = phrase(
                "took %(took)s against %(sla)s",
                took=spoken_duration(arrived - entered),
                sla=spoken_duration(spec.sla_seconds),
            )
            cause, shown, used = late_cause(spec, calls, entered, arrived, clock, shared)
            return Hop(
                flow.name,
                link,
                "failed",
                cause,
                entered,
                arrived,
                deadline,
                entered,
                arrived,
                calls=shown if cause != "late" else evidence,
                detail=str(_joined(took, note)),
                said=_joined(took, note),
            ), used
        return _compare_data(
            flow.name,
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
            note,
        ), False
    if ended is not None and (start is None or ended[2] <= start + spec.sla_seconds + clock.skew):
        return None  # closed before it was due downstream: its journey ends there, no blame
    if start is None:
        state, since = life.waiting or ("waiting", presence[spec.from_])
        waiting = phrase(
            "waiting in %(from)s (%(state)s) since %(since)s: not expected in %(to)s until it "
            "leaves that state",
            state=state,
            since=Moment(since, clock.at),
            **{"from": spec.from_, "to": spec.to},
        )
        if plan.rules(spec.from_).source == "learned":
            waiting = phrase(
                "%(text)s (a rule learned from history: entities leave %(from)s from other "
                "states, never from this one)",
                text=waiting,
                **{"from": spec.from_},
            )
        return Hop(
            flow.name, link, "pending", calls=evidence, detail=str(waiting), said=waiting
        ), False
    deadline = start + spec.sla_seconds
    if not clock.reached(deadline + clock.skew):
        return _pending(flow.name, link, start, deadline, evidence, note), False
    mode, shown, used = failure_mode(spec, calls, start, deadline, clock, shared)
    if mode is None:
        return _pending(flow.name, link, start, deadline, shown, note), used
    last = max([start, *(c.time for c in shown)])
    ongoing = True
    if ended is not None:
        # It failed while due and was closed later: the failure stands, but it is over.
        last, ongoing = min(last, ended[2]), False
        closed = phrase(
            "closed in %(system)s (%(state)s) at %(at)s",
            system=ended[0],
            state=ended[1],
            at=Moment(ended[2], clock.at),
        )
        note = _joined(note, closed)
    return Hop(
        flow.name,
        link,
        "failed",
        mode,
        start,
        None,
        deadline,
        start,
        last,
        ongoing,
        calls=shown,
        detail=_english(note),
        said=note,
    ), used


def _pending(
    flow: str, link: int, start: float, deadline: float, calls: tuple[Call, ...], note: Text | None
) -> Hop:
    """Not due yet, or due with no failure proved yet."""
    return Hop(
        flow,
        link,
        "pending",
        None,
        start,
        None,
        deadline,
        calls=calls,
        detail=_english(note),
        said=note,
    )


def _clock_note(life: Life, start: float | None, clock: Clock) -> Text | None:
    """Say when the hop's clock started, when that was not when the entity first appeared."""
    if life.waiting is None or start is None:
        return None
    state, _ = life.waiting
    return phrase(
        "clock started when it left %(state)s, %(at)s", state=state, at=Moment(start, clock.at)
    )


def _joined(*parts: Text | None) -> Text | None:
    """The parts in one text, separated by semicolons."""
    joined: Text | None = None
    for part in parts:
        if part is not None:
            joined = part if joined is None else phrase("%(a)s; %(b)s", a=joined, b=part)
    return joined


def _english(text: Text | None) -> str | None:
    return None if text is None else str(text)


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
    note: Text | None = None,
) -> Hop:
    """``ok``, or ``mismatch`` when both sides state a fact differently past the SLA."""
    mine = _latest_data(seen.get(upstream))
    theirs = _latest_data(seen.get(downstream))
    difference = data_difference(mine[1], theirs[1]) if mine and theirs else None
    if difference is None or mine is None or theirs is None:
        return Hop(
            flow,
            link,
            "ok",
            None,
            entered,
            arrived,
            deadline,
            calls=evidence,
            detail=_english(note),
            said=note,
        )
    # The far side gets one SLA to catch up with an edit made on the near side.
    since = max(arrived, mine[0], theirs[0])
    key, a, b = difference
    said = phrase(
        "%(key)s %(a)s in %(up)s but %(b)s in %(down)s",
        key=key,
        a=str(a),
        b=str(b),
        up=upstream,
        down=downstream,
    )
    detail = str(said)
    if not clock.reached(since + sla + clock.skew):
        return Hop(
            flow,
            link,
            "pending",
            None,
            entered,
            arrived,
            deadline,
            calls=evidence,
            detail=detail,
            said=said,
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
        said=said,
    )


def _latest_data(seen: list[Seen] | None) -> tuple[float, tuple[tuple[str, str], ...]] | None:
    latest: tuple[float, tuple[tuple[str, str], ...]] | None = None
    for fact in seen or ():
        if fact.data is not None:
            latest = (fact.time, fact.data)
    return latest
