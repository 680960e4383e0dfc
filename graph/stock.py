"""Stock: compare quantities along the stock flow, link by link from the source of truth.

For a hop ``A → B`` of an item whose ``A`` side reports quantities:

- equal latest quantities: ``ok``;
- ``B`` shows a value ``A`` held *before* its latest change: the update did not propagate.
  Once ``A``'s change is older than ``sla + tolerance`` the hop fails with the mode its calls
  show (``missing``, ``rejected``, ``unavailable``, ``lost``...), exactly as for orders;
- ``B`` shows a value ``A`` never held: the link transformed it wrongly, ``mismatch`` — after
  one SLA of grace, because a sale in the shop moves its quantity before the ERP hears of it;
- ``B`` never reported the item: not every ERP item is sold in every shop, so the hop is not
  judged at all, unless calls on the link carried the item (then it should be there).

The first disagreeing hop on the path is blamed; the drift report lists every item whose
systems disagree, oversell risk first (the shop shows more than the source of truth has).

>>> from graph.hops import Clock
>>> from graph.calls import CallLogs
>>> from graph.model import Link
>>> link = Link.model_validate({"flow": "stock", "from": "erp", "to": "oms",
...     "initiator": "to", "owner": "BaseLinker", "sla_seconds": 1800})
>>> erp = [Seen(0.0, "e1", "stock", "erp", None, 12, None),
...        Seen(600.0, "e2", "stock", "erp", None, 8, None)]
>>> oms = [Seen(700.0, "o1", "stock", "oms", None, 12, None)]
>>> hop, _ = judge_stock_hop("stock", 2, link, erp, oms, [], Clock(9000.0), CallLogs())
>>> hop.status, hop.mode, hop.quantities
('failed', 'missing', (8, 12))
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from graph.hops import (
    Clock,
    Hop,
    JourneyVerdict,
    Mode,
    Reading,
    SharedCalls,
    failure_mode,
    spoken_duration,
)
from graph.journeys import Call, Seen
from graph.model import Link
from graph.plan import FlowPlan, Plan
from graph.results import LinkRef, StockDrift, SystemQuantity, maybe_utc, utc
from graph.suspects import Identify
from graph.text import Moment, Param, Text, phrase

Quantity = float | int
_EPSILON = 1e-9


def _probes_since(system: str, since: float, clock: Clock, shared: SharedCalls) -> list[Call]:
    """Arbiter's calls to ``system`` from ``since`` up to as_of.

    Stock readings are reported when they change, so a probe answered with no change reported
    says the system still shows its latest reported quantity; all unanswered, that Arbiter has
    not been able to look.
    """
    return [c for c in shared.probes(system, since, clock.at) if clock.reached(c.time)]


def judge_stock_hop(
    flow: str,
    link: int,
    spec: Link,
    near: list[Seen],
    far: list[Seen],
    calls: list[Call],
    clock: Clock,
    shared: SharedCalls,
) -> tuple[Hop, bool] | None:
    """Judge one stock hop; ``None`` when the far side neither shows nor was sent the item.

    ``near``/``far`` are the two systems' observations at or before as_of, in time order.
    Returns the hop and whether evidence shared with other journeys was consulted.
    """
    upstream = _history(near)
    downstream = _history(far)
    since_a = _run_start(upstream)
    deadline = since_a + spec.sla_seconds
    base = Hop(flow, link, "pending", entered=since_a, deadline=deadline)
    if not downstream:
        if not calls:
            return None
        if not clock.reached(deadline + clock.skew):
            return replace(base, status="pending", calls=tuple(calls)), False
        mode, shown, used = failure_mode(spec, calls, since_a, deadline, clock, shared)
        if mode is None:
            return replace(base, status="pending", calls=shown), used
        last = max([since_a, *(c.time for c in shown)])
        failed = replace(
            base, status="failed", mode=mode, first=since_a, last=last, ongoing=True, calls=shown
        )
        return failed, used
    qa, qb = upstream[-1][1], downstream[-1][1]
    since_b = _run_start(downstream)
    pair = (qa, qb)
    last_seen = max(upstream[-1][0], downstream[-1][0])
    if _same(qa, qb):
        return replace(base, status="ok", arrived=since_b, last=last_seen, quantities=pair), False
    if any(_same(qb, q) for _, q in upstream):
        if not clock.reached(deadline + clock.skew):
            return replace(base, status="pending", quantities=pair), False
        if (
            since_b > upstream[-1][0]
            and not clock.reached(since_b + spec.sla_seconds + clock.skew)
            and not any(
                c.succeeded for c in _probes_since(spec.from_, since_b + clock.skew, clock, shared)
            )
        ):
            # The far side moved after Arbiter last saw the near side change: it may follow a
            # change of the near side back to that older value, not read yet (A → B → A).
            # Settled once the near side was read since, or a whole SLA passed with no news.
            return replace(base, status="pending", quantities=pair), True
        recent = [c for c in calls if c.time >= since_a - clock.skew]
        mode, shown, used = failure_mode(spec, recent, since_a, deadline, clock, shared)
        if mode is None:
            # Accepted a moment ago: a read of the far side may predate the write.
            return replace(base, status="pending", quantities=pair, calls=shown), used
        said = phrase(
            "%(to)s still shows %(shown)s, an older %(from)s quantity, instead of %(held)s",
            shown=_number(qb),
            held=_number(qa),
            **{"from": spec.from_, "to": spec.to},
        )
        detail = str(said)
        last = max([last_seen, *(c.time for c in shown)])
        stale = replace(
            base,
            status="failed",
            mode=mode,
            first=since_a,
            last=last,
            ongoing=True,
            calls=shown,
            detail=detail,
            said=said,
            quantities=pair,
        )
        return stale, used
    since = max(since_a, since_b)
    said = phrase(
        "%(to)s shows %(shown)s, a quantity %(from)s never had (%(held)s)",
        shown=_number(qb),
        held=_number(qa),
        **{"from": spec.from_, "to": spec.to},
    )
    detail = str(said)
    probes = _probes_since(spec.from_, since_b, clock, shared)
    if probes and all(c.unanswered for c in probes):
        # Arbiter has not been able to read the upstream since: it may hold that value now.
        return replace(
            base, status="pending", arrived=since_b, detail=detail, said=said, quantities=pair
        ), True
    if not clock.reached(since + spec.sla_seconds + clock.skew):
        return replace(
            base, status="pending", arrived=since_b, detail=detail, said=said, quantities=pair
        ), False
    wrong = replace(
        base,
        status="failed",
        mode="mismatch",
        arrived=since_b,
        first=since,
        last=last_seen,
        ongoing=True,
        calls=tuple(calls[-5:]),
        detail=detail,
        said=said,
        quantities=pair,
    )
    return wrong, False


def readings(flow: FlowPlan, seen: dict[str, list[Seen]]) -> tuple[Reading, ...]:
    """What each system of the flow shows for the item, in flow order; () if no quantities."""
    found: list[Reading] = []
    for system in flow.order:
        history = _history(seen.get(system, []))
        if history:
            found.append(Reading(system, history[-1][1], _run_start(history), history[-1][0]))
    return tuple(found)


def oversell_risk(flow: FlowPlan, shown: dict[str, Quantity]) -> bool:
    """Whether a system at the end of the flow shows more than its source has.

    >>> from graph.plan import FlowPlan
    >>> plan = FlowPlan("stock", ("erp", "oms", "shop"), {}, {}, ("erp",), ("shop",))
    >>> oversell_risk(plan, {"erp": 3, "oms": 5, "shop": 5})
    True
    >>> oversell_risk(plan, {"erp": 5, "shop": 3})
    False
    """
    truth = [shown[s] for s in flow.sources if s in shown]
    if not truth:
        return False
    return any(shown[s] > min(truth) + _EPSILON for s in flow.sinks if s in shown)


def _history(seen: list[Seen]) -> list[tuple[float, Quantity]]:
    return [(s.time, s.quantity) for s in seen if s.quantity is not None]


def _run_start(history: list[tuple[float, Quantity]]) -> float:
    """Since when the latest quantity has been shown without a break."""
    latest = history[-1][1]
    start = history[-1][0]
    for time, quantity in reversed(history):
        if not _same(quantity, latest):
            break
        start = time
    return start


def _same(a: Quantity, b: Quantity) -> bool:
    return abs(a - b) <= _EPSILON


def _number(value: Quantity | None) -> str:
    """A quantity as people write it: 12, not 12.0."""
    if value is None:
        return "nothing"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:g}"


def stock_drift(
    verdicts: Iterable[tuple[int, JourneyVerdict]],
    plan: Plan,
    identify: Identify,
    *,
    as_of: float,
) -> list[StockDrift]:
    """Every item whose systems disagree, oversell risk first, then the longest-standing."""
    found: list[tuple[bool, float, str, StockDrift]] = []
    for root, verdict in verdicts:
        for flow in verdict.flows:
            if not flow.readings:
                continue
            disagreeing = [
                h
                for h in flow.hops
                if h.quantities is not None
                and h.status in ("pending", "failed")
                and not _same(*_pair(h.quantities))
            ]
            if not disagreeing:
                continue
            blamed = [h for h in disagreeing if h.blamed]
            hop = blamed[0] if blamed else disagreeing[0]
            spec = plan.links[hop.link]
            entity = identify(root, ("sku", spec.from_, spec.to))
            shown = {r.system: r.quantity for r in flow.readings}
            risk = oversell_risk(plan.flows[flow.flow], shown)
            since = hop.first if hop.first is not None else hop.entered
            mode = hop.mode if hop.blamed else None
            text = _drift_summary(entity.value, hop, spec, mode, risk, since, as_of)
            drift = StockDrift(
                sku=entity.value,
                entity=entity,
                flow=flow.flow,
                quantities=[
                    SystemQuantity(
                        system=r.system,
                        quantity=r.quantity,
                        since=utc(r.since),
                        observed=utc(r.observed),
                    )
                    for r in flow.readings
                ],
                status="failed" if hop.blamed else "pending",
                link=LinkRef(flow=spec.flow, from_=spec.from_, to=spec.to),
                mode=mode,
                responsible=plan.responsible(hop.link, mode) if mode is not None else None,
                oversell_risk=risk,
                since=maybe_utc(since),
                summary=str(text),
            )
            drift = drift.with_text(text)
            found.append((not risk, since if since is not None else as_of, entity.value, drift))
    found.sort(key=lambda item: item[:3])
    return [drift for *_, drift in found]


def _pair(quantities: tuple[Quantity | None, Quantity | None]) -> tuple[Quantity, Quantity]:
    a, b = quantities
    return (a if a is not None else 0), (b if b is not None else 0)


def _drift_summary(
    sku: str,
    hop: Hop,
    spec: Link,
    mode: Mode | None,
    risk: bool,
    since: float | None,
    as_of: float,
) -> Text:
    upstream, downstream = hop.quantities or (None, None)
    sides = {
        "sku": sku,
        "from": spec.from_,
        "to": spec.to,
        "down": _number(downstream),
        "up": _number(upstream),
    }
    text = phrase("%(sku)s: %(to)s shows %(down)s while %(from)s has %(up)s", **sides)
    when: Param = "" if since is None else phrase(" since %(since)s", since=Moment(since, as_of))
    if mode is None:
        sla = spoken_duration(spec.sla_seconds)
        text = phrase("%(text)s; still within the %(sla)s allowed to catch up", text=text, sla=sla)
    elif mode == "mismatch":
        text = phrase(
            "%(text)s, a quantity %(from)s never had%(when)s", text=text, when=when, **sides
        )
    else:
        text = phrase(
            "%(text)s; the update was not passed on (%(mode)s)%(when)s",
            text=text,
            mode=Text(mode.replace("_", " ")),  # the word is in the app's vocabulary
            when=when,
        )
    if risk:
        text = phrase("%(text)s; the shop may sell stock that is not there", text=text)
    return text
