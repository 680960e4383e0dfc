"""Learn, from history, which states of a system the next system does not take.

BaseLinker's order statuses are defined per account and a ``generic`` system's states are
anything, so Arbiter cannot know that status "Awaiting payment" means an Allegro order is not
pushed to the ERP until it is paid. It can see it: across the journeys held, orders leave that
system for the next one from other states, and never from this one, while some have sat in it
for longer than the link's SLA. Such a state is learned as waiting.

Learning must never hide a failure: a state is learned only when orders demonstrably travel on
from *other* states (so a link that is broken outright, where nothing travels, teaches
nothing), and never when any order was passed on while in it (so a link that broke an hour ago
keeps being judged on the states it used to carry). Evidence that rests on a learned rule says
so (graph.verdicts).

>>> from graph.journeys import Seen
>>> from graph.model import Topology
>>> from graph.plan import compile_plan
>>> plan = compile_plan(Topology.model_validate({"systems": [
...     {"id": "oms", "kind": "baselinker", "vendor": "BaseLinker"},
...     {"id": "erp", "kind": "odoo", "vendor": "ERP partner"}], "links": [
...     {"flow": "order", "from": "oms", "to": "erp", "initiator": "from",
...      "owner": "ERP partner", "sla_seconds": 900}]}))
>>> def oms(n, state): return Seen(0.0, f"o{n}", "order", "oms", state, None, None)
>>> def erp(n): return Seen(60.0, f"e{n}", "order", "erp", "sale", None, None)
>>> travelled = [[oms(n, "new"), erp(n)] for n in range(5)]
>>> unpaid = [[oms(10 + n, "awaiting payment")] for n in range(5)]
>>> learn_waiting(travelled + unpaid, plan, as_of=86400.0)
(('oms', ('awaiting payment',)),)
>>> learn_waiting(unpaid, plan, as_of=86400.0)
()
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from graph.journeys import Fact, Seen
from graph.plan import Learned, Plan
from graph.states import normal_state

MIN_SAMPLES = 5
"""Orders needed on each side (carried on from other states, held in this one) to learn."""


def learn_waiting(journeys: Iterable[list[Fact]], plan: Plan, *, as_of: float) -> Learned:
    """Waiting states of the systems without rules, learned from ``journeys`` up to ``as_of``."""
    learners = {
        spec.from_: i
        for i, spec in enumerate(plan.links)
        if not plan.rules(spec.from_).known and spec.from_ in plan.vendor
    }
    if not learners:
        return ()
    carried: dict[str, Counter[str]] = {}
    held: dict[str, Counter[str]] = {}
    for facts in journeys:
        by_system: dict[tuple[str, str], list[Seen]] = {}
        attempts: dict[int, float] = {}
        for fact in facts:
            if fact.time > as_of:
                continue
            if isinstance(fact, Seen):
                if fact.quantity is None:
                    by_system.setdefault((fact.flow, fact.system), []).append(fact)
                continue
            link = plan.link_by_call.get((fact.flow, fact.caller, fact.target))
            if link is not None and not fact.bare:
                attempts[link] = min(fact.time, attempts.get(link, fact.time))
        for (flow, system), mine in by_system.items():
            if system not in learners or flow not in plan.flows:
                continue
            for link in plan.flows[flow].out_links.get(system, ()):
                spec = plan.links[link]
                theirs = by_system.get((flow, spec.to))
                moved = [f.time for f in theirs or ()]
                if link in attempts:
                    moved.append(attempts[link])  # it was tried: its state is one carried on
                _observe(
                    mine,
                    min(moved, default=None),
                    spec.sla_seconds,
                    as_of,
                    carried.setdefault(system, Counter()),
                    held.setdefault(system, Counter()),
                )
    found: list[tuple[str, tuple[str, ...]]] = []
    for system in sorted(learners):
        out, stay = carried.get(system, Counter()), held.get(system, Counter())
        if sum(out.values()) < MIN_SAMPLES:
            continue
        waiting = sorted(s for s, n in stay.items() if n >= MIN_SAMPLES and not out[s])
        if waiting:
            found.append((system, tuple(waiting)))
    return tuple(found)


def _observe(
    mine: list[Seen],
    moved: float | None,
    sla: float,
    as_of: float,
    carried: Counter[str],
    held: Counter[str],
) -> None:
    """Count the state an entity was passed on (or first tried) from, or the state it has sat
    in past the SLA with nobody trying to pass it on."""
    mine.sort(key=lambda f: (f.time, f.event))
    stated = [(normal_state(f.state), f.time) for f in mine if f.state is not None]
    if not stated:
        return
    if moved is not None:
        before = [state for state, time in stated if time <= moved]
        carried[before[-1] if before else stated[0][0]] += 1
        return
    latest, since = stated[-1]
    for state, time in reversed(stated):
        if state != latest:
            break
        since = time
    if since + sla <= as_of:
        held[latest] += 1
